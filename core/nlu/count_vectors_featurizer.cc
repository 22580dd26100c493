#include "core/nlu/count_vectors_featurizer.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include "core/graph/component.h"
#include "core/nlu/message.h"
#include "core/nlu/nlu_component.h"
#include "core/util/errors.h"
#include "core/util/option_reader.h"
#include "core/util/strings.h"

namespace trainyard::nlu {
namespace {

using Json = nlohmann::ordered_json;

void CharNgrams(const std::u32string& text, int min_n, int max_n, std::vector<std::string>& out) {
  const int len = static_cast<int>(text.size());
  for (int n = min_n; n <= max_n; ++n)
    for (int i = 0; i + n <= len; ++i) out.push_back(util::EncodeUtf8(std::u32string_view(text).substr(i, n)));
}

// Python's \w, near enough: ASCII letters, digits and '_', and non-ASCII
// characters other than punctuation, symbols and emoji.
bool IsWordChar(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  if (c < 0xC0) return c == 0xAA || c == 0xB5 || c == 0xBA;  // Latin-1 punctuation and signs
  if (c == 0xD7 || c == 0xF7) return false;                  // × ÷
  if (c >= 0x2000 && c < 0x3000) return false;
  if (c >= 0x3000 && c < 0x3040) return false;                 // CJK punctuation
  if (c >= 0x1F000 || c == 0xFFFD) return false;
  return true;
}

// The words scikit-learn's word analyzer finds with Rasa's token pattern
// \b\w+\b: the runs of word characters ("what's" -> what, s).
void WordRuns(const std::string& text, std::vector<std::string>& out) {
  const std::u32string cps = util::DecodeUtf8(text);
  for (size_t i = 0; i < cps.size();) {
    if (!IsWordChar(cps[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && IsWordChar(cps[j])) ++j;
    out.push_back(util::EncodeUtf8(std::u32string_view(cps).substr(i, j - i)));
    i = j;
  }
}

// scikit-learn's char_wb: n-grams inside each word padded with one space.
void CharWbNgrams(const std::vector<std::string>& words, int min_n, int max_n, std::vector<std::string>& out) {
  for (const std::string& word : words) {
    const std::u32string w = U" " + util::DecodeUtf8(word) + U" ";
    const int len = static_cast<int>(w.size());
    for (int n = min_n; n <= max_n; ++n) {
      int offset = 0;
      out.push_back(util::EncodeUtf8(std::u32string_view(w).substr(offset, n)));
      while (offset + n < len) {
        ++offset;
        out.push_back(util::EncodeUtf8(std::u32string_view(w).substr(offset, n)));
      }
      if (offset == 0) break;  // a word shorter than n is counted once
    }
  }
}

}  // namespace

// Rasa's number token: a run of ASCII digits standing alone as a word
// ("5", the two in "10:30", not "5pm") becomes __NUMBER__, so that numbers
// share their features.
std::string NumbersReplaced(const std::string& token) {
  const std::u32string cps = util::DecodeUtf8(token);
  std::u32string out;
  auto digit = [](char32_t c) { return c >= '0' && c <= '9'; };
  for (size_t i = 0; i < cps.size();) {
    if (!digit(cps[i])) {
      out.push_back(cps[i++]);
      continue;
    }
    size_t j = i;
    while (j < cps.size() && digit(cps[j])) ++j;
    const bool alone = (i == 0 || !IsWordChar(cps[i - 1])) && (j == cps.size() || !IsWordChar(cps[j]));
    out += alone ? std::u32string(U"__NUMBER__") : cps.substr(i, j - i);
    i = j;
  }
  return util::EncodeUtf8(out);
}

std::vector<std::string> NgramVocabulary::Ngrams(const std::vector<std::string>& tokens) const {
  std::vector<std::string> out;
  const int lo = std::max(1, options_.min_ngram), hi = std::max(lo, options_.max_ngram);
  if (options_.analyzer == "char") {
    CharNgrams(util::DecodeUtf8(util::Join(tokens, " ")), lo, hi, out);
  } else if (options_.analyzer == "char_wb") {
    CharWbNgrams(tokens, lo, hi, out);
  } else {
    std::vector<std::string> words;
    for (const std::string& t : tokens) WordRuns(t, words);
    const int n_words = static_cast<int>(words.size());
    for (int n = lo; n <= hi; ++n)
      for (int i = 0; i + n <= n_words; ++i)
        out.push_back(util::Join({words.begin() + i, words.begin() + i + n}, " "));
  }
  return out;
}

void NgramVocabulary::Fit(const std::vector<std::vector<std::string>>& documents, const std::function<void()>& check) {
  std::map<std::string, int> df;     // documents containing the term
  std::map<std::string, long> freq;  // total occurrences
  size_t seen_documents = 0;
  for (const auto& doc : documents) {
    if (check && ++seen_documents % 1000 == 0) check();
    std::set<std::string> seen;
    for (const std::string& g : Ngrams(doc)) {
      ++freq[g];
      if (seen.insert(g).second) ++df[g];
    }
  }
  const double n_docs = static_cast<double>(documents.size());
  const double min_count = options_.min_df < 1 ? std::ceil(options_.min_df * n_docs) : options_.min_df;
  const double max_count = options_.max_df <= 1 ? std::floor(options_.max_df * n_docs) : options_.max_df;
  std::vector<std::string> kept;
  for (const auto& [term, count] : df)
    if (count >= min_count && count <= max_count) kept.push_back(term);
  if (options_.max_features > 0 && static_cast<int>(kept.size()) > options_.max_features) {
    std::stable_sort(kept.begin(), kept.end(),
                     [&](const std::string& a, const std::string& b) { return freq[a] > freq[b]; });
    kept.resize(options_.max_features);
    std::sort(kept.begin(), kept.end());
  }
  index_.clear();
  for (size_t i = 0; i < kept.size(); ++i) index_[kept[i]] = static_cast<int32_t>(i);
}

std::vector<std::pair<int32_t, float>> NgramVocabulary::Transform(const std::vector<std::string>& tokens) const {
  std::vector<std::pair<int32_t, float>> row;
  for (const std::string& g : Ngrams(tokens))
    if (auto it = index_.find(g); it != index_.end()) row.emplace_back(it->second, 1.0f);
  return row;
}

void NgramVocabulary::Extend(const NgramVocabulary& fitted) {
  std::vector<const std::string*> order(fitted.index_.size());
  for (const auto& [term, index] : fitted.index_) order[static_cast<size_t>(index)] = &term;
  for (const std::string* term : order)
    if (!index_.count(*term)) index_.emplace(*term, static_cast<int32_t>(index_.size()));
}

Json NgramVocabulary::ToJson() const {
  std::vector<std::string> by_index(index_.size());
  for (const auto& [term, index] : index_) by_index[static_cast<size_t>(index)] = term;
  Json terms = by_index;
  return {{"analyzer", options_.analyzer}, {"min_ngram", options_.min_ngram}, {"max_ngram", options_.max_ngram},
          {"terms", terms}};
}

NgramVocabulary NgramVocabulary::FromJson(const Json& json) {
  Options o;
  o.analyzer = json.value("analyzer", std::string("word"));
  o.min_ngram = json.value("min_ngram", 1);
  o.max_ngram = json.value("max_ngram", 1);
  NgramVocabulary v(o);
  if (json.contains("terms"))
    for (const auto& t : json["terms"]) v.index_[t.get<std::string>()] = static_cast<int32_t>(v.index_.size());
  return v;
}

namespace {

constexpr const char* kFile = "vocabularies.json";
// Attributes featurized, as Rasa's MESSAGE_ATTRIBUTES.
const char* const kAttributes[] = {"text", "intent", "intent_response_key", "action_name", "action_text"};

// The featurizer's options, each checked as scikit-learn's CountVectorizer
// and Rasa check them.
struct CountVectorsConfig {
  NgramVocabulary::Options vocabulary;
  bool lowercase = true;
  std::optional<std::string> oov_token;
  std::vector<std::string> oov_words;

  static CountVectorsConfig FromJson(const Json& config) {
    const util::OptionReader r(config, "CountVectorsFeaturizer");
    CountVectorsConfig o;
    NgramVocabulary::Options& v = o.vocabulary;
    v.analyzer = r.Choice("analyzer", "word", {"word", "char", "char_wb"});
    v.min_ngram = r.Int("min_ngram", 1, 1);
    v.max_ngram = r.Int("max_ngram", 1, 1);
    if (v.max_ngram < v.min_ngram)
      throw r.Error("'max_ngram' (" + std::to_string(v.max_ngram) + ") must not be below 'min_ngram' (" +
                    std::to_string(v.min_ngram) + ").");
    // A fraction of the documents (up to 1) or a count of them (a whole number).
    auto documents = [&r](const char* key, double fallback) {
      const double x = r.Real(key, fallback, 0, util::OptionReader::kNoLimit);
      if (x > 1 && std::floor(x) != x)
        throw r.Error(std::string("'") + key + "' must be a fraction of the documents (0 to 1) or a whole number of "
                      "them, not " + r.Get(key).dump() + ".");
      return x;
    };
    v.min_df = documents("min_df", 1.0);
    v.max_df = documents("max_df", 1.0);
    v.max_features = r.Int("max_features", 0, 1);  // null: no limit
    o.lowercase = r.Flag("lowercase", true);
    r.Flag("use_shared_vocab", false);
    r.Flag("use_lemma", true);
    o.oov_token = r.Text("OOV_token", "a word or null");
    const Json& words = r.Get("OOV_words");
    if (!words.is_null() && !words.is_array()) throw r.Error("'OOV_words' must be a list of words.");
    for (const Json& w : words.is_array() ? words : Json::array()) {
      if (!w.is_string()) throw r.Error("'OOV_words' must be a list of words; " + w.dump() + " is not one.");
      o.oov_words.push_back(w.get<std::string>());
    }
    return o;
  }
};

class CountVectorsFeaturizer : public NluComponent {
 public:
  CountVectorsFeaturizer(const Json& config, const std::optional<std::string>& resource,
                         const graph::ExecutionContext& c)
      : NluComponent("CountVectorsFeaturizer"), alias_(config.value("alias", Json())) {
    CountVectorsConfig o = CountVectorsConfig::FromJson(config);
    options_ = o.vocabulary;
    lowercase_ = o.lowercase;
    oov_token_ = o.oov_token;
    for (const std::string& w : o.oov_words) oov_words_.insert(Lower(w));
    const Json json = ReadJsonResource(c, resource, kFile);
    if (json.is_object())
      for (const auto& [attribute, v] : json.items()) vocabularies_.emplace(attribute, NgramVocabulary::FromJson(v));
  }

 protected:
  void Process(NluMessage& m, bool, const graph::ExecutionContext& c) const override {
    Featurize(m, c.node_name, FeaturizerName(alias_, c.node_name));
  }

 private:
  std::string Lower(const std::string& s) const { return lowercase_ ? util::LowerUtf8(s) : s; }

  // The tokens of `attribute`: the tokenizer's for text; label names as one token.
  std::vector<std::string> Tokens(const NluMessage& m, const std::string& attribute) const {
    std::vector<std::string> out;
    if (attribute == "text") {
      for (const Token& t : m.tokens) out.push_back(Lower(NumbersReplaced(t.text)));
    } else {
      const std::string& label = attribute == "intent"                ? m.data.intent
                                 : attribute == "intent_response_key" ? m.data.intent_response_key
                                 : attribute == "action_name"         ? m.data.action_name
                                                                      : m.data.action_text;
      if (!label.empty()) out.push_back(Lower(label));
    }
    return out;
  }

  void Train(const NluTrainingData& data, const graph::ExecutionContext& c) override {
    Json json = Json::object();
    for (const char* attribute : kAttributes) {
      std::vector<std::vector<std::string>> documents;
      for (const NluMessage& m : data.messages) {
        std::vector<std::string> tokens = Tokens(m, attribute);
        if (tokens.empty()) continue;
        if (oov_token_)
          for (std::string& t : tokens)
            if (oov_words_.count(t)) t = *oov_token_;
        documents.push_back(std::move(tokens));
      }
      if (documents.empty()) continue;
      NgramVocabulary vocabulary(options_);
      vocabulary.Fit(documents, [&c] {
        if (c.cancel) c.cancel->ThrowIfCancelled();
      });
      // Finetuning: the old vocabulary keeps its columns; new terms come after.
      if (const auto old = vocabularies_.find(attribute); c.is_finetuning && old != vocabularies_.end()) {
        NgramVocabulary extended = old->second;
        extended.Extend(vocabulary);
        vocabulary = std::move(extended);
      }
      if (vocabulary.size() == 0) continue;
      if (oov_token_ && attribute == std::string("text") && !vocabulary.Contains(*oov_token_) && c.warn)
        c.warn("OOV_token='" + *oov_token_ + "' was given, but it is not present in the training data. All "
               "unseen words will be ignored during prediction.");
      json[attribute] = vocabulary.ToJson();
    }
    WriteJsonResource(c, kFile, json);
  }

  void Featurize(NluMessage& m, const std::string& origin, const std::string& name) const {
    for (const auto& [attribute, vocabulary] : vocabularies_) {
      std::vector<std::string> tokens = Tokens(m, attribute);
      if (tokens.empty()) continue;
      if (oov_token_ && options_.analyzer == "word")
        for (std::string& t : tokens)
          if (!vocabulary.Contains(t)) t = *oov_token_;
      Features sequence{FeatureType::kSequence, attribute, origin, {}, name};
      sequence.matrix.cols = vocabulary.size();
      for (const std::string& t : tokens) sequence.matrix.AddRow(vocabulary.Transform({t}));
      Features sentence{FeatureType::kSentence, attribute, origin, {}, name};
      sentence.matrix.cols = vocabulary.size();
      sentence.matrix.AddRow(vocabulary.Transform(tokens));
      m.features.push_back(std::move(sequence));
      m.features.push_back(std::move(sentence));
    }
  }

  NgramVocabulary::Options options_;
  Json alias_;  // config.yml's `alias` (Features::name)
  bool lowercase_ = true;
  std::optional<std::string> oov_token_;
  std::set<std::string> oov_words_;
  std::map<std::string, NgramVocabulary> vocabularies_;
};

}  // namespace

void RegisterCountVectorsFeaturizer() {
  graph::ComponentImplementation impl;
  impl.version = "2";  // 2: numbers as __NUMBER__, the word analyzer's words are Rasa's \w+ runs
  impl.defaults = {{"use_shared_vocab", false}, {"analyzer", "word"}, {"min_ngram", 1}, {"max_ngram", 1},
                   {"min_df", 1},  {"max_df", 1.0},  {"max_features", nullptr},  {"lowercase", true},
                   {"OOV_token", nullptr}, {"OOV_words", Json::array()}, {"use_lemma", true}};
  impl.make = [](const Json& config, const std::optional<std::string>& resource, const graph::ExecutionContext& c) {
    return std::make_unique<CountVectorsFeaturizer>(config, resource, c);
  };
  impl.check = [](const Json& config) { CountVectorsConfig::FromJson(config); };
  graph::RegisterImplementation("CountVectorsFeaturizer", impl);
}

}  // namespace trainyard::nlu
