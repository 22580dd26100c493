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
// Entity types only: roles and groups (separate CRFs in Rasa) are not tagged,
// and a training with them says so. pos/pos2 need spaCy and text_dense_features
// dense featurizers, which trainyard does not have: refused.

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
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

class CrfEntityExtractor : public nlu::NluComponent {
 public:
  CrfEntityExtractor(const Json& config, const std::optional<std::string>& resource,
                     const graph::ExecutionContext& c)
      : NluComponent(kName), options_(CrfOptions::FromJson(config)) {
    if (!resource || !c.storage || !c.storage->Has(*resource)) return;
    const auto dir = c.storage->ReadFrom(*resource);
    if (!std::filesystem::exists(dir / kMetaFile)) return;
    try {
      std::ifstream in(dir / kMetaFile);
      const Json meta = Json::parse(in);
      if (meta.empty()) return;
      tags_ = TagSet::ForEntities({}, options_.bilou);
      for (const Json& t : meta.at("tags")) tags_.Add(t.get<std::string>());
      int index = 0;
      for (const Json& f : meta.at("features")) vocabulary_[f.get<std::string>()] = index++;
      torch::serialize::InputArchive archive;
      archive.load_from((dir / kWeightsFile).string(), torch::Device(torch::kCPU));
      archive.read("weights", weights_);
      torch::Tensor transitions;
      archive.read("transitions", transitions);
      Rng rng(0, torch::kCPU);
      crf_ = Crf(static_cast<int64_t>(tags_.names.size()), rng);
      torch::NoGradGuard no_grad;
      crf_->transitions.copy_(transitions);
    } catch (const std::exception& e) {
      throw util::InvalidDataError(
          {}, "The model's resource '" + *resource + "' (" + kName + ") is corrupt: " + e.what());
    }
  }

 protected:
  void Train(const nlu::NluTrainingData& data, const graph::ExecutionContext& c) override {
    std::vector<const NluMessage*> messages;
    std::set<std::string> entities;
    bool roles = false;
    for (const NluMessage& m : data.messages) {
      if (m.data.text.empty() || m.tokens.empty() || m.data.origin != data::MessageOrigin::kNluFile)
        continue;
      messages.push_back(&m);
      for (const data::EntityAnnotation& e : m.data.entities) {
        entities.insert(e.entity);
        roles = roles || !e.role.empty() || !e.group.empty();
      }
    }
    if (entities.empty()) {
      nlu::WriteJsonResource(c, kMetaFile, Json::object());
      return;
    }
    if (roles && c.warn)
      c.warn(std::string(kName) +
             ": trainyard's CRFEntityExtractor tags entity types only; the roles and groups "
             "of the training data are not learned (DIETClassifier learns them).");
    if (c.warn)
      for (const std::string& warning : nlu::MisalignedEntityWarnings(messages)) c.warn(warning);
    SetComputeThreads(c.compute_threads);
    tags_ = TagSet::ForEntities(entities, options_.bilou);
    vocabulary_.clear();
    std::vector<std::vector<std::vector<std::string>>> features;
    for (const NluMessage* m : messages) {
      features.push_back(TokenFeatures(*m, options_));
      for (const auto& token : features.back())
        for (const std::string& f : token) vocabulary_.emplace(f, 0);
    }
    int index = 0;
    for (auto& [name, i] : vocabulary_) i = index++;

    // The whole training set as one padded batch.
    std::vector<int64_t> lengths;
    for (const NluMessage* m : messages) lengths.push_back(static_cast<int64_t>(m->tokens.size()));
    const int64_t batch = static_cast<int64_t>(messages.size());
    const int64_t longest = *std::max_element(lengths.begin(), lengths.end());
    std::vector<int64_t> gold(static_cast<size_t>(batch * longest), 0);
    for (size_t b = 0; b < messages.size(); ++b) {
      const std::vector<int> t = tags_.Tags(*messages[b]);
      std::copy(t.begin(), t.end(),
                gold.begin() + static_cast<std::ptrdiff_t>(b * static_cast<size_t>(longest)));
    }
    const Bags bags = BagsOf(features, longest);
    const torch::Tensor gold_tags = torch::tensor(gold, torch::kLong).view({batch, longest});
    const torch::Tensor mask = Packing::FromLengths(lengths, torch::kCPU).padding.logical_not();

    const int64_t tag_count = static_cast<int64_t>(tags_.names.size());
    Rng rng(0, torch::kCPU);
    Crf crf(tag_count, rng);
    {
      torch::NoGradGuard no_grad;
      crf->transitions.zero_();  // crfsuite starts from zero weights
    }
    weights_ =
        torch::zeros({static_cast<int64_t>(vocabulary_.size()), tag_count}, torch::requires_grad());
    torch::optim::LBFGS lbfgs({weights_, crf->transitions},
                              torch::optim::LBFGSOptions(1.0)
                                  .max_iter(options_.max_iterations)
                                  .history_size(6)  // crfsuite's num_memories
                                  .line_search_fn("strong_wolfe"));
    auto objective = [&] {
      if (c.cancel) c.cancel->ThrowIfCancelled();
      lbfgs.zero_grad();
      const torch::Tensor emissions = Emissions(bags, batch, longest);
      torch::Tensor loss =
          crf->NegativeLogLikelihood(emissions, gold_tags, mask) * static_cast<double>(batch);
      for (const torch::Tensor& w : {weights_, crf->transitions}) {
        if (options_.l1 > 0) loss = loss + options_.l1 * (w.pow(2) + 1e-6).sqrt().sum();
        if (options_.l2 > 0) loss = loss + options_.l2 * w.pow(2).sum();
      }
      loss.backward();
      return loss;
    };
    const double loss = lbfgs.step(objective).item<double>();
    if (c.progress) c.progress(graph::Progress{1, 1, {{"loss", loss}}});
    weights_ = weights_.detach();
    crf_ = crf;

    std::vector<std::string> names(vocabulary_.size());
    for (const auto& [name, i] : vocabulary_) names[static_cast<size_t>(i)] = name;
    torch::serialize::OutputArchive archive;
    archive.write("weights", weights_);
    archive.write("transitions", crf_->transitions.detach());
    archive.save_to((c.storage->WriteTo(c.node_name) / kWeightsFile).string());
    nlu::WriteJsonResource(
        c, kMetaFile,
        {{"tags", std::vector<std::string>(tags_.names.begin() + 1, tags_.names.end())},
         {"features", names}});
  }

  void Process(NluMessage& m, bool training, const graph::ExecutionContext&) const override {
    if (training || !crf_ || m.tokens.empty()) return;
    torch::NoGradGuard no_grad;
    const int64_t length = static_cast<int64_t>(m.tokens.size());
    const torch::Tensor emissions =
        Emissions(BagsOf({TokenFeatures(m, options_)}, length), 1, length);
    std::vector<std::vector<float>> confidences;
    const auto paths = crf_->Decode(emissions, {length}, &confidences);
    std::vector<std::string> names;
    for (int t : paths[0]) names.push_back(tags_.names.at(static_cast<size_t>(t)));
    const std::u32string text = util::DecodeUtf8(m.data.text);
    const TokenGaps gaps{m.tokens, text, options_.comma_splitting};
    for (const Span& s : TagsToSpans(names, confidences[0], tags_.bilou, &gaps)) {
      const int start = m.tokens[static_cast<size_t>(s.first)].start,
                end = m.tokens[static_cast<size_t>(s.last)].end;
      m.entities.push_back(
          {{"entity", s.entity},
           {"start", start},
           {"end", end},
           {"confidence_entity", s.confidence},
           {"value", util::EncodeUtf8(std::u32string_view(text).substr(start, end - start))},
           {"extractor", kName}});
    }
  }

 private:
  // Each token's known features as embedding_bag input: indices, and the
  // offset of each of the batch × longest token slots (padding: none).
  struct Bags {
    torch::Tensor indices, offsets;
  };
  Bags BagsOf(const std::vector<std::vector<std::vector<std::string>>>& messages,
              int64_t longest) const {
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
    const torch::Tensor sums = std::get<0>(
        torch::embedding_bag(weights_, bags.indices, bags.offsets, false, /*mode sum*/ 0));
    return sums.view({batch, longest, -1});
  }

  CrfOptions options_;
  TagSet tags_;
  std::map<std::string, int64_t> vocabulary_;
  torch::Tensor weights_;  // [features, tags]
  Crf crf_{nullptr};       // the tags' transitions
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
