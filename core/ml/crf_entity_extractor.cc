// CRFEntityExtractor (Rasa 3.x's, which wraps sklearn-crfsuite): a linear-chain
// CRF over hand-made token features, in a window around each token. Each
// feature is Rasa's: "low" (the lower-cased token), "title", "upper", "digit"
// (true ones only, as crfsuite drops false ones), "prefix5"/"prefix2",
// "suffix5"/"suffix3"/"suffix2"/"suffix1", "bias", "pattern" (the regexes and
// lookup tables RegexFeaturizer found on the token), with the window offset in
// front ("-1:low:hello"), and BOS/EOS where the window leaves the text.
//
// Training minimises crfsuite's objective: the negative log-likelihood summed
// over the examples, plus L1_c times the weights' absolute values and L2_c
// times their squares, by full-batch L-BFGS for max_iterations iterations
// (remembering 6 steps, as crfsuite).
// crfsuite minimises the L1 term with OWL-QN; here it is smoothed
// (sqrt(w² + 1e-6)), so weights come out small rather than exactly 0.
//
// Roles and groups, as in Rasa, by CRFs of their own that also see each
// token's entity type (gold in training, predicted after it); an entity takes
// its tokens' most frequent role / group. pos/pos2 need spaCy and
// text_dense_features dense featurizers, which trainyard does not have: refused.

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/ml/device.h"
#include "core/ml/diet.h"
#include "core/ml/layers.h"
#include "core/ml/tagging.h"
#include "core/nlu/nlu_component.h"
#include "core/util/errors.h"
#include "core/util/option_reader.h"
#include "core/util/strings.h"

namespace trainyard::ml {
namespace {

using Json = nlohmann::ordered_json;
using nlu::NluMessage;

constexpr const char* kName = "CRFEntityExtractor";
constexpr const char* kMetaFile = "crf.json";
constexpr const char* kWeightsFile = "crf.pt";

const std::set<std::string> kFeatures = {"low",     "title",   "upper",   "digit",
                                         "prefix5", "prefix2", "suffix5", "suffix3",
                                         "suffix2", "suffix1", "bias",    "pattern"};

struct CrfOptions {
  bool bilou = true;
  CommaSplitting comma_splitting;  // split_entities_by_comma
  std::vector<std::vector<std::string>>
      windows;  // features per window position, centred on the token
  int max_iterations = 50;
  double l1 = 0.1, l2 = 0.1;

  static CrfOptions FromJson(const Json& c) {
    const util::OptionReader r(c, kName);
    CrfOptions o;
    o.bilou = r.Flag("BILOU_flag", true);
    try {
      o.comma_splitting = CommaSplitting::FromJson(r.Get("split_entities_by_comma"));
    } catch (const std::invalid_argument& e) {
      throw r.Error(e.what());
    }
    o.max_iterations = r.Int("max_iterations", 50, 1);
    o.l1 = r.Real("L1_c", 0.1, 0, util::OptionReader::kNoLimit);
    o.l2 = r.Real("L2_c", 0.1, 0, util::OptionReader::kNoLimit);
    const Json& features = r.Get("features");
    if (!features.is_array() || features.empty())
      throw r.Error(
          "'features' must be a list of lists of feature names, one list per window position.");
    for (const Json& window : features) {
      if (!window.is_array())
        throw r.Error("'features' must be a list of lists of feature names, not " + window.dump() +
                      ".");
      std::vector<std::string> names;
      for (const Json& n : window) {
        const std::string name = n.is_string() ? n.get<std::string>() : n.dump();
        if (name == "pos" || name == "pos2" || name == "text_dense_features")
          throw r.Error("the feature '" + name + "' needs " +
                        (name == "text_dense_features" ? "a dense featurizer" : "spaCy") +
                        ", which trainyard does not have; leave it out.");
        if (!kFeatures.count(name))
          throw r.Error("unknown feature '" + name +
                        "'. Known: " + util::QuoteJoin({kFeatures.begin(), kFeatures.end()}) + ".");
        names.push_back(name);
      }
      o.windows.push_back(std::move(names));
    }
    return o;
  }
};

std::string Slice(const std::u32string& cps, int n, bool prefix) {
  const size_t len = std::min(cps.size(), static_cast<size_t>(n));
  return util::EncodeUtf8(prefix ? std::u32string_view(cps).substr(0, len)
                                 : std::u32string_view(cps).substr(cps.size() - len));
}

// The regex / lookup patterns RegexFeaturizer found on each token, as
// "<featurizer>#<pattern column>".
std::vector<std::vector<std::string>> Patterns(const NluMessage& m) {
  std::vector<std::vector<std::string>> out(m.tokens.size());
  for (const nlu::Features& f : m.features) {
    if (f.attribute != "text" || f.type != nlu::FeatureType::kSequence ||
        f.origin.find("RegexFeaturizer") == std::string::npos)
      continue;
    for (int row = 0; row < f.matrix.rows && row < static_cast<int>(out.size()); ++row)
      for (int32_t k = f.matrix.indptr[row]; k < f.matrix.indptr[row + 1]; ++k)
        if (f.matrix.values[k] != 0)
          out[row].push_back(f.origin + "#" + std::to_string(f.matrix.indices[k]));
  }
  return out;
}

// Every token's feature names (crfsuite's "key:value" items).
std::vector<std::vector<std::string>> TokenFeatures(const NluMessage& m, const CrfOptions& o) {
  const auto patterns = Patterns(m);
  const int n = static_cast<int>(m.tokens.size()), half = static_cast<int>(o.windows.size()) / 2;
  std::vector<std::vector<std::string>> out(m.tokens.size());
  for (int i = 0; i < n; ++i) {
    std::vector<std::string>& f = out[static_cast<size_t>(i)];
    for (int w = 0; w < static_cast<int>(o.windows.size()); ++w) {
      const int at = i + w - half;
      if (at < 0) {
        f.push_back("BOS");
        continue;
      }
      if (at >= n) {
        f.push_back("EOS");
        continue;
      }
      const std::string prefix = std::to_string(w - half) + ":";
      const std::string& text = m.tokens[static_cast<size_t>(at)].text;
      const std::u32string cps = util::DecodeUtf8(text);
      const util::TextCase c = util::CaseOf(text);
      for (const std::string& name : o.windows[static_cast<size_t>(w)]) {
        if (name == "low")
          f.push_back(prefix + "low:" + util::LowerUtf8(text));
        else if (name == "title" && c.title)
          f.push_back(prefix + "title");
        else if (name == "upper" && c.has_upper && !c.has_lower)
          f.push_back(prefix + "upper");
        else if (name == "digit" && c.digits)
          f.push_back(prefix + "digit");
        else if (name == "bias")
          f.push_back(prefix + "bias");
        else if (name.rfind("prefix", 0) == 0)
          f.push_back(prefix + name + ":" + Slice(cps, std::stoi(name.substr(6)), true));
        else if (name.rfind("suffix", 0) == 0)
          f.push_back(prefix + name + ":" + Slice(cps, std::stoi(name.substr(6)), false));
        else if (name == "pattern")
          for (const std::string& p : patterns[static_cast<size_t>(at)])
            f.push_back(prefix + "pattern:" + p);
      }
    }
    std::sort(f.begin(), f.end());
    f.erase(std::unique(f.begin(), f.end()), f.end());
  }
  return out;
}

using TokenFeatureLists = std::vector<std::vector<std::string>>;  // per token

// The role and group CRFs see each token's entity type too (gold in
// training, predicted after it), at every window position, as Rasa's.
TokenFeatureLists WithEntityTypes(TokenFeatureLists features, const std::vector<std::string>& types,
                                  size_t window) {
  const int n = static_cast<int>(types.size()), half = static_cast<int>(window) / 2;
  for (int i = 0; i < n && i < static_cast<int>(features.size()); ++i) {
    for (int w = 0; w < static_cast<int>(window); ++w) {
      const int at = i + w - half;
      if (at >= 0 && at < n)
        features[static_cast<size_t>(i)].push_back(std::to_string(w - half) +
                                                   ":entity:" + types[static_cast<size_t>(at)]);
    }
  }
  return features;
}

// One linear-chain CRF (entity types, roles or groups): its tags, feature
// vocabulary, weights [features, tags] and transitions.
class Tagger {
 public:
  TagSet tags;

  bool trained() const { return static_cast<bool>(crf_); }

  // crfsuite's objective by full-batch L-BFGS over every message's token
  // features and gold tags. Returns the final objective.
  double Fit(const std::vector<TokenFeatureLists>& features,
             const std::vector<std::vector<int>>& gold, const CrfOptions& o,
             const graph::ExecutionContext& c) {
    vocabulary_.clear();
    for (const auto& message : features)
      for (const auto& token : message)
        for (const std::string& f : token) vocabulary_.emplace(f, 0);
    int64_t index = 0;
    for (auto& [name, i] : vocabulary_) i = index++;
    std::vector<int64_t> lengths;
    for (const auto& message : features) lengths.push_back(static_cast<int64_t>(message.size()));
    const int64_t batch = static_cast<int64_t>(features.size());
    const int64_t longest = *std::max_element(lengths.begin(), lengths.end());
    std::vector<int64_t> padded(static_cast<size_t>(batch * longest), 0);
    for (size_t b = 0; b < gold.size(); ++b)
      std::copy(gold[b].begin(), gold[b].end(),
                padded.begin() + static_cast<std::ptrdiff_t>(b * static_cast<size_t>(longest)));
    const Bags bags = BagsOf(features, longest);
    const torch::Tensor gold_tags = torch::tensor(padded, torch::kLong).view({batch, longest});
    const torch::Tensor mask = Packing::FromLengths(lengths, torch::kCPU).padding.logical_not();

    Rng rng(0, torch::kCPU);
    Crf crf(static_cast<int64_t>(tags.names.size()), rng);
    {
      torch::NoGradGuard no_grad;
      crf->transitions.zero_();  // crfsuite starts from zero weights
    }
    weights_ = torch::zeros(
        {static_cast<int64_t>(vocabulary_.size()), static_cast<int64_t>(tags.names.size())},
        torch::requires_grad());
    torch::optim::LBFGS lbfgs({weights_, crf->transitions},
                              torch::optim::LBFGSOptions(1.0)
                                  .max_iter(o.max_iterations)
                                  .history_size(6)  // crfsuite's num_memories
                                  .line_search_fn("strong_wolfe"));
    auto objective = [&] {
      if (c.cancel) c.cancel->ThrowIfCancelled();
      lbfgs.zero_grad();
      torch::Tensor loss =
          crf->NegativeLogLikelihood(Emissions(bags, batch, longest), gold_tags, mask) *
          static_cast<double>(batch);
      for (const torch::Tensor& w : {weights_, crf->transitions}) {
        if (o.l1 > 0) loss = loss + o.l1 * (w.pow(2) + 1e-6).sqrt().sum();
        if (o.l2 > 0) loss = loss + o.l2 * w.pow(2).sum();
      }
      loss.backward();
      return loss;
    };
    const double loss = lbfgs.step(objective).item<double>();
    weights_ = weights_.detach();
    crf_ = crf;
    return loss;
  }

  // One message's best tags (names) and each token's confidence in its tag.
  std::pair<std::vector<std::string>, std::vector<float>> Decode(
      const TokenFeatureLists& features) const {
    torch::NoGradGuard no_grad;
    const int64_t length = static_cast<int64_t>(features.size());
    std::vector<std::vector<float>> confidences;
    const auto paths =
        crf_->Decode(Emissions(BagsOf({features}, length), 1, length), {length}, &confidences);
    std::vector<std::string> names;
    for (int t : paths[0]) names.push_back(tags.names.at(static_cast<size_t>(t)));
    return {names, confidences[0]};
  }

  Json ToJson() const {
    std::vector<std::string> names(vocabulary_.size());
    for (const auto& [name, i] : vocabulary_) names[static_cast<size_t>(i)] = name;
    return {{"tags", std::vector<std::string>(tags.names.begin() + 1, tags.names.end())},
            {"features", names}};
  }
  void Save(torch::serialize::OutputArchive& archive, const std::string& attribute) const {
    archive.write(attribute + ".weights", weights_);
    archive.write(attribute + ".transitions", crf_->transitions.detach());
  }
  void Load(const Json& meta, torch::serialize::InputArchive& archive, const std::string& attribute,
            bool bilou) {
    tags = TagSet::ForEntities({}, bilou);
    for (const Json& t : meta.at("tags")) tags.Add(t.get<std::string>());
    int64_t index = 0;
    for (const Json& f : meta.at("features")) vocabulary_[f.get<std::string>()] = index++;
    archive.read(attribute + ".weights", weights_);
    torch::Tensor transitions;
    archive.read(attribute + ".transitions", transitions);
    Rng rng(0, torch::kCPU);
    crf_ = Crf(static_cast<int64_t>(tags.names.size()), rng);
    torch::NoGradGuard no_grad;
    crf_->transitions.copy_(transitions);
  }

 private:
  // Each token's known features as embedding_bag input: indices, and the
  // offset of each of the batch × longest token slots (padding: none).
  struct Bags {
    torch::Tensor indices, offsets;
  };
  Bags BagsOf(const std::vector<TokenFeatureLists>& messages, int64_t longest) const {
    std::vector<int64_t> indices, offsets;
    for (const auto& tokens : messages)
      for (int64_t t = 0; t < longest; ++t) {
        offsets.push_back(static_cast<int64_t>(indices.size()));
        if (t >= static_cast<int64_t>(tokens.size())) continue;
        for (const std::string& f : tokens[static_cast<size_t>(t)])
          if (auto it = vocabulary_.find(f); it != vocabulary_.end()) indices.push_back(it->second);
      }
    return {torch::tensor(indices, torch::kLong), torch::tensor(offsets, torch::kLong)};
  }
  // Tag scores [batch, longest, tags]: the sum of the token's features' weights.
  torch::Tensor Emissions(const Bags& bags, int64_t batch, int64_t longest) const {
    const torch::Tensor sums =
        std::get<0>(torch::embedding_bag(weights_, bags.indices, bags.offsets, false, /*sum*/ 0));
    return sums.view({batch, longest, -1});
  }

  std::map<std::string, int64_t> vocabulary_;
  torch::Tensor weights_;
  Crf crf_{nullptr};
};

// The entity type of each token ("O" outside entities) from its tags.
std::vector<std::string> TypesOf(const std::vector<std::string>& tags) {
  std::vector<std::string> types;
  for (const std::string& tag : tags)
    types.push_back(tag.size() > 2 && tag[1] == '-' &&
                            std::string("BILU").find(tag[0]) != std::string::npos
                        ? tag.substr(2)
                        : tag);
  return types;
}

class CrfEntityExtractor : public nlu::NluComponent {
 public:
  CrfEntityExtractor(const Json& config, const std::optional<std::string>& resource,
                     const graph::ExecutionContext& c)
      : NluComponent(kName), options_(CrfOptions::FromJson(config)) {
    const Json meta = nlu::ReadJsonResource(c, resource, kMetaFile);
    if (!meta.is_object() || meta.empty()) return;  // not trained yet, or nothing to tag
    try {
      torch::serialize::InputArchive archive;
      archive.load_from((c.storage->ReadFrom(*resource) / kWeightsFile).string(),
                        torch::Device(torch::kCPU));
      for (const auto& [attribute, tagger] : meta.items())
        taggers_[attribute].Load(tagger, archive, attribute, options_.bilou);
    } catch (const std::exception& e) {
      throw util::InvalidDataError(
          {}, "The model's resource '" + *resource + "' (" + kName + ") is corrupt: " + e.what());
    }
  }

 protected:
  void Train(const nlu::NluTrainingData& data, const graph::ExecutionContext& c) override {
    std::vector<const NluMessage*> messages;
    std::map<std::string, std::set<std::string>> values;  // attribute -> its values
    for (const NluMessage& m : data.messages) {
      if (m.data.text.empty() || m.tokens.empty() || m.data.origin != data::MessageOrigin::kNluFile)
        continue;
      messages.push_back(&m);
      for (const data::EntityAnnotation& e : m.data.entities) {
        values["entity"].insert(e.entity);
        if (!e.role.empty()) values["role"].insert(e.role);
        if (!e.group.empty()) values["group"].insert(e.group);
      }
    }
    taggers_.clear();
    if (!values.count("entity")) {
      nlu::WriteJsonResource(c, kMetaFile, Json::object());
      return;
    }
    if (c.warn)
      for (const std::string& warning : nlu::MisalignedEntityWarnings(messages)) c.warn(warning);
    SetComputeThreads(c.compute_threads);
    std::vector<TokenFeatureLists> features;
    for (const NluMessage* m : messages) features.push_back(TokenFeatures(*m, options_));
    // Entity types first; roles and groups with the gold types as features.
    Tagger& entity = taggers_["entity"];
    entity.tags = TagSet::ForEntities(values["entity"], options_.bilou);
    std::vector<std::vector<int>> gold;
    for (const NluMessage* m : messages) gold.push_back(entity.tags.Tags(*m));
    Json metrics = {{"loss", entity.Fit(features, gold, options_, c)}};
    for (const char* attribute : {"role", "group"}) {
      if (!values.count(attribute)) continue;
      Tagger& tagger = taggers_[attribute];
      tagger.tags = TagSet::ForEntities(values[attribute], options_.bilou);
      std::vector<TokenFeatureLists> typed;
      gold.clear();
      for (size_t i = 0; i < messages.size(); ++i) {
        std::vector<std::string> tags;
        for (int t : entity.tags.Tags(*messages[i]))
          tags.push_back(entity.tags.names[static_cast<size_t>(t)]);
        typed.push_back(WithEntityTypes(features[i], TypesOf(tags), options_.windows.size()));
        gold.push_back(tagger.tags.Tags(*messages[i], attribute));
      }
      metrics[std::string(attribute) + "_loss"] = tagger.Fit(typed, gold, options_, c);
    }
    if (c.progress) c.progress(graph::Progress{1, 1, metrics});

    torch::serialize::OutputArchive archive;
    Json meta = Json::object();
    for (const auto& [attribute, tagger] : taggers_) {
      tagger.Save(archive, attribute);
      meta[attribute] = tagger.ToJson();
    }
    archive.save_to((c.storage->WriteTo(c.node_name) / kWeightsFile).string());
    nlu::WriteJsonResource(c, kMetaFile, meta);
  }

  void Process(NluMessage& m, bool training, const graph::ExecutionContext&) const override {
    const auto entity = taggers_.find("entity");
    if (training || entity == taggers_.end() || !entity->second.trained() || m.tokens.empty())
      return;
    const TokenFeatureLists features = TokenFeatures(m, options_);
    const auto [names, confidences] = entity->second.Decode(features);
    // Each token's role / group (without BILOU prefix) and its confidence.
    std::map<std::string, std::vector<std::pair<std::string, float>>> per_token;
    for (const auto& [attribute, tagger] : taggers_) {
      if (attribute == "entity") continue;
      const auto [tags, conf] =
          tagger.Decode(WithEntityTypes(features, TypesOf(names), options_.windows.size()));
      const std::vector<std::string> values = TypesOf(tags);
      for (size_t t = 0; t < values.size(); ++t)
        per_token[attribute].emplace_back(values[t] == "O" ? "" : values[t], conf[t]);
    }
    const std::u32string text = util::DecodeUtf8(m.data.text);
    const TokenGaps gaps{m.tokens, text, options_.comma_splitting};
    for (const Span& s : TagsToSpans(names, confidences, options_.bilou, &gaps)) {
      const int start = m.tokens[static_cast<size_t>(s.first)].start;
      const int end = m.tokens[static_cast<size_t>(s.last)].end;
      Json e = {{"entity", s.entity},
                {"start", start},
                {"end", end},
                {"confidence_entity", s.confidence}};
      if (per_token.count("role"))
        VoteAttribute(per_token["role"], s.first, s.last, e, "role", "confidence_role");
      if (per_token.count("group"))
        VoteAttribute(per_token["group"], s.first, s.last, e, "group", "confidence_group");
      e["value"] = util::EncodeUtf8(std::u32string_view(text).substr(start, end - start));
      e["extractor"] = kName;
      m.entities.push_back(std::move(e));
    }
  }

 private:
  CrfOptions options_;
  std::map<std::string, Tagger> taggers_;  // "entity", and "role" / "group" when trained on them
};

}  // namespace

void RegisterCrfEntityExtractor() {
  const Json defaults = {{"BILOU_flag", true},
                         {"split_entities_by_comma", true},
                         {"features",
                          {{"low", "title", "upper"},
                           {"low", "bias", "prefix5", "prefix2", "suffix5", "suffix3", "suffix2",
                            "upper", "title", "digit", "pattern"},
                           {"low", "title", "upper"}}},
                         {"max_iterations", 50},
                         {"L1_c", 0.1},
                         {"L2_c", 0.1},
                         {"featurizers", Json::array()}};
  nlu::RegisterNluComponent<CrfEntityExtractor>(kName, defaults, "1",
                                                [](const Json& c) { CrfOptions::FromJson(c); });
}

}  // namespace trainyard::ml
