// RegexFeaturizer and RegexEntityExtractor: the two components that use the
// `regex:` and `lookup:` items of the training data.

#include "core/nlu/regex_components.h"

#include <set>

#include "core/nlu/nlu_component.h"
#include "core/nlu/patterns.h"
#include "core/util/option_reader.h"

namespace trainyard::nlu {
namespace {

using Json = nlohmann::ordered_json;
constexpr const char* kFile = "patterns.json";

// The regex components' switches must be true or false. Returns `case_sensitive`.
bool CheckRegexOptions(const Json& config, const char* component, bool case_sensitive = true) {
  const util::OptionReader r(config, component);
  for (const char* key : {"use_lookup_tables", "use_regexes", "use_word_boundaries"}) r.Flag(key, true);
  return r.Flag("case_sensitive", case_sensitive);
}

class RegexFeaturizer : public NluComponent {
 public:
  RegexFeaturizer(const Json& config, const std::optional<std::string>& resource, const graph::ExecutionContext& c)
      : NluComponent("RegexFeaturizer"),
        config_(config),
        patterns_(PatternsFromJson(ReadJsonResource(c, resource, kFile)),
                  CheckRegexOptions(config, "RegexFeaturizer", true)) {}

 protected:
  void Train(const NluTrainingData& data, const graph::ExecutionContext& c) override {
    const auto patterns = CollectPatterns(data.data, config_.value("use_regexes", true),
                                          config_.value("use_lookup_tables", true),
                                          config_.value("use_word_boundaries", true));
    if (patterns.empty() && c.warn)
      c.warn("No lookup tables or regexes defined in the training data that have a name equal to any entity in "
             "the training data. In order for this component to work you need to define valid lookup tables or "
             "regexes in the training data.");
    WriteJsonResource(c, kFile, CompiledPatterns(patterns, config_.value("case_sensitive", true), c.warn).ToJson());
  }

  // One column per pattern: 1 for each token a match overlaps; the sentence
  // row marks the patterns matching anywhere.
  void Process(NluMessage& m, bool, const graph::ExecutionContext& c) const override {
    if (patterns_.size() == 0 || m.tokens.empty()) return;
    std::vector<std::vector<std::pair<int32_t, float>>> rows(m.tokens.size());
    std::vector<std::pair<int32_t, float>> sentence;
    for (size_t p = 0; p < patterns_.size(); ++p) {
      bool any = false;
      for (const PatternMatch& match : patterns_.Matches(p, m.data.text)) {
        for (size_t t = 0; t < m.tokens.size(); ++t) {
          if (match.start < m.tokens[t].end && match.end > m.tokens[t].start) {
            rows[t].emplace_back(static_cast<int32_t>(p), 1.0f);
            any = true;
          }
        }
      }
      if (any) sentence.emplace_back(static_cast<int32_t>(p), 1.0f);
    }
    const std::string name = FeaturizerName(config_.value("alias", Json()), c.node_name);
    Features seq{FeatureType::kSequence, "text", c.node_name, {}, name};
    seq.matrix.cols = static_cast<int>(patterns_.size());
    for (auto& row : rows) {
      // A token matched twice by one pattern still counts once.
      std::set<std::pair<int32_t, float>> unique(row.begin(), row.end());
      seq.matrix.AddRow({unique.begin(), unique.end()});
    }
    Features sent{FeatureType::kSentence, "text", c.node_name, {}, name};
    sent.matrix.cols = seq.matrix.cols;
    sent.matrix.AddRow(sentence);
    m.features.push_back(std::move(seq));
    m.features.push_back(std::move(sent));
  }

 private:
  Json config_;
  CompiledPatterns patterns_;
};

class RegexEntityExtractor : public NluComponent {
 public:
  RegexEntityExtractor(const Json& config, const std::optional<std::string>& resource, const graph::ExecutionContext& c)
      : NluComponent("RegexEntityExtractor"),
        config_(config),
        patterns_(PatternsFromJson(ReadJsonResource(c, resource, kFile)),
                  CheckRegexOptions(config, "RegexEntityExtractor", false)) {}

 protected:
  // Keeps the patterns named like an entity annotated in the training data.
  void Train(const NluTrainingData& data, const graph::ExecutionContext& c) override {
    const auto entities = data.data.Entities();
    std::vector<NamedPattern> kept;
    for (const NamedPattern& p : CollectPatterns(data.data, config_.value("use_regexes", true),
                                                 config_.value("use_lookup_tables", true),
                                                 config_.value("use_word_boundaries", true)))
      if (entities.count(p.name)) kept.push_back(p);
    if (kept.empty() && c.warn)
      c.warn("No lookup tables or regexes defined in the training data that have a name equal to any entity in "
             "the training data. In order for this component to work you need to define valid lookup tables or "
             "regexes in the training data.");
    WriteJsonResource(c, kFile, CompiledPatterns(kept, config_.value("case_sensitive", false), c.warn).ToJson());
  }

  void Process(NluMessage& m, bool training, const graph::ExecutionContext&) const override {
    if (training) return;
    for (size_t p = 0; p < patterns_.size(); ++p)
      for (const PatternMatch& match : patterns_.Matches(p, m.data.text))
        m.entities.push_back({{"entity", patterns_.pattern(p).name}, {"start", match.start}, {"end", match.end},
                              {"value", match.text}, {"extractor", "RegexEntityExtractor"}});
  }

 private:
  Json config_;
  CompiledPatterns patterns_;
};

}  // namespace

void RegisterRegexComponents() {
  RegisterNluComponent<RegexFeaturizer>("RegexFeaturizer", {{"case_sensitive", true}, {"use_lookup_tables", true},
                                                {"use_regexes", true}, {"use_word_boundaries", true},
                                                {"number_additional_patterns", nullptr}},
                                        "1", [](const Json& config) { CheckRegexOptions(config, "RegexFeaturizer"); });
  RegisterNluComponent<RegexEntityExtractor>("RegexEntityExtractor", {{"case_sensitive", false}, {"use_lookup_tables", true},
                                                          {"use_regexes", true}, {"use_word_boundaries", true}},
                                             "1", [](const Json& config) { CheckRegexOptions(config, "RegexEntityExtractor"); });
}

}  // namespace trainyard::nlu
