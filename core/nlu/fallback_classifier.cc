#include "core/nlu/components.h"
#include "core/nlu/nlu_component.h"
#include "core/util/option_reader.h"

namespace trainyard::nlu {
namespace {

using Json = nlohmann::ordered_json;

// Replaces the predicted intent by `nlu_fallback` when its confidence is
// below `threshold`, or when the two best intents are closer than
// `ambiguity_threshold`. Not trained.
class FallbackClassifier : public NluComponent {
 public:
  FallbackClassifier(const Json& config, const std::optional<std::string>&, const graph::ExecutionContext&)
      : NluComponent("FallbackClassifier"),
        threshold_(Threshold(config, "threshold", 0.3)),
        ambiguity_(Threshold(config, "ambiguity_threshold", 0.1)) {}

  // Both thresholds compare with confidences, so lie in [0, 1].
  static double Threshold(const Json& config, const char* key, double fallback) {
    return util::OptionReader(config, "FallbackClassifier").Real(key, fallback, 0, 1);
  }

 protected:
  void Process(NluMessage& m, bool training, const graph::ExecutionContext&) const override {
    if (training || !ShouldFallback(m)) return;
    const Json fallback = {{"name", "nlu_fallback"}, {"confidence", threshold_}};
    m.intent = fallback;
    m.intent_ranking.insert(m.intent_ranking.begin(), fallback);
  }

 private:
  bool ShouldFallback(const NluMessage& m) const {
    if (m.intent.is_null() || m.intent["name"].is_null()) return true;
    if (m.intent.value("confidence", 0.0) < threshold_) return true;
    if (m.intent_ranking.size() >= 2) {
      const double first = m.intent_ranking[0].value("confidence", 0.0);
      const double second = m.intent_ranking[1].value("confidence", 0.0);
      if (first - second < ambiguity_) return true;
    }
    return false;
  }

  double threshold_;
  double ambiguity_;
};

// Rasa's DucklingEntityExtractor asks a Duckling HTTP server for dates,
// numbers, ... at parse time; it is not trained. trainyard accepts it in a
// pipeline so Rasa configs train unchanged, and extracts nothing with it: it
// says so once per model load.
class DucklingEntityExtractor : public NluComponent {
 public:
  DucklingEntityExtractor(const Json& config, const std::optional<std::string>&, const graph::ExecutionContext& c)
      : NluComponent("DucklingEntityExtractor") {
    if (c.warn)
      c.warn("DucklingEntityExtractor (url " + config.value("url", std::string("none")) +
             ") is accepted but not called: trainyard does not query Duckling servers, so it extracts no entities.");
  }
};

}  // namespace

void RegisterDucklingEntityExtractor() {
  RegisterNluComponent<DucklingEntityExtractor>(
      "DucklingEntityExtractor",
      {{"dimensions", nullptr}, {"url", nullptr}, {"locale", nullptr}, {"timezone", nullptr}, {"timeout", 3}});
}

void RegisterFallbackClassifier() {
  RegisterNluComponent<FallbackClassifier>("FallbackClassifier", {{"threshold", 0.3}, {"ambiguity_threshold", 0.1}},
                                           "1", [](const Json& config) {
                                             FallbackClassifier::Threshold(config, "threshold", 0.3);
                                             FallbackClassifier::Threshold(config, "ambiguity_threshold", 0.1);
                                           });
}

}  // namespace trainyard::nlu
