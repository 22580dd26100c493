#include "core/policy/policies.h"

#include <algorithm>
#include <fstream>
#include <mutex>

#include "core/graph/component.h"

namespace trainyard::policy {
namespace {

class TrainingTrackerProvider : public graph::Component {
 public:
  explicit TrainingTrackerProvider(const Json& config) : config_(config) {}
  graph::Output Run(const std::string&, const graph::Inputs& in, const graph::ExecutionContext& c) override {
    const auto& graph = *std::any_cast<std::shared_ptr<const data::StoryGraph>>(in.at("story_graph").value);
    const Json& domain = *std::any_cast<std::shared_ptr<const Json>>(in.at("domain").value);
    TrackerOptions options;
    if (config_["tracker_limit"].is_number()) options.tracker_limit = config_["tracker_limit"].get<size_t>();
    options.remove_duplicates = config_.value("remove_duplicates", true);
    if (config_["unique_last_num_states"].is_number_integer())
      options.unique_last_num_states = static_cast<size_t>(std::max(0, config_["unique_last_num_states"].get<int>()));
    if (config_["augmentation_factor"].is_number_integer())
      options.augmentation_factor = std::max(0, config_["augmentation_factor"].get<int>());
    options.use_story_concatenation = config_.value("use_story_concatenation", true);
    std::vector<std::string> warnings;
    auto trackers = std::make_shared<const std::vector<TrainingTracker>>(GenerateTrackers(graph, domain, options, &warnings));
    for (const std::string& w : warnings)
      if (c.warn) c.warn(w);
    return {TrackersPtr(trackers), "", std::nullopt};
  }

 private:
  Json config_;
};

class RuleOnlyDataProvider : public graph::Component {
 public:
  RuleOnlyDataProvider(const std::optional<std::string>& resource, const graph::ExecutionContext& c) {
    if (resource && c.storage && c.storage->Has(*resource)) {
      std::ifstream in(c.storage->ReadFrom(*resource) / "rule_only_data.json");
      data_ = Json::parse(in, nullptr, false);
      if (data_.is_discarded()) data_ = Json::object();
    }
  }
  graph::Output Run(const std::string&, const graph::Inputs&, const graph::ExecutionContext&) override {
    return {std::make_shared<const Json>(data_), graph::FingerprintJson(data_), std::nullopt};
  }

 private:
  Json data_ = Json::object();
};

// Picks the prediction with the highest confidence; ties go to the policy
// with the higher priority, then to the earlier policy. Predictions made
// without the user's input (a loop's happy path) overrule all others (Rasa's
// DefaultPolicyPredictionEnsemble).
class DefaultPolicyPredictionEnsemble : public graph::Component {
 public:
  graph::Output Run(const std::string&, const graph::Inputs& in, const graph::ExecutionContext&) override {
    std::vector<const PolicyPrediction*> predictions;
    for (size_t i = 0;; ++i) {
      auto it = in.find("policy" + std::to_string(i));
      if (it == in.end()) break;
      predictions.push_back(std::any_cast<PolicyPredictionPtr>(it->second.value).get());
    }
    bool no_user = false;
    for (const PolicyPrediction* p : predictions) no_user |= p->is_no_user_prediction;
    PolicyPrediction best;
    double best_max = -1;
    int best_priority = -1;
    for (size_t i = 0; i < predictions.size(); ++i) {
      const PolicyPrediction& p = *predictions[i];
      if (p.is_no_user_prediction != no_user) continue;
      double max = 0;
      for (double v : p.probabilities) max = std::max(max, v);
      if (max > best_max || (max == best_max && p.priority > best_priority)) {
        best = p;
        best_max = max;
        best_priority = p.priority;
        best.policy = "policy_" + std::to_string(i) + "_" + p.policy;
      }
    }
    return {PolicyPredictionPtr(std::make_shared<PolicyPrediction>(best)), graph::RandomFingerprint(), std::nullopt};
  }
};

}  // namespace

const Json& RuleOnlyDataOf(const graph::Inputs& in) {
  static const Json kNone = Json::object();
  auto it = in.find("rule_only_data");
  if (it == in.end() || !it->second.value.has_value()) return kNone;
  return *std::any_cast<std::shared_ptr<const Json>>(it->second.value);
}

void RegisterPolicyComponents() {
  static std::once_flag once;
  std::call_once(once, [] {
    graph::ComponentImplementation provider;
    provider.defaults = {{"remove_duplicates", true}, {"unique_last_num_states", nullptr},
                         {"augmentation_factor", 50}, {"tracker_limit", nullptr},
                         {"use_story_concatenation", true}, {"debug_plots", false}};
    provider.make = [](const Json& config, const std::optional<std::string>&, const graph::ExecutionContext&) {
      return std::make_unique<TrainingTrackerProvider>(config);
    };
    provider.version = "3";  // 2: story augmentation; 3: Rasa's generator (rounds, deduplication)
    graph::RegisterImplementation("TrainingTrackerProvider", provider);
    RegisterMemoizationPolicies();
    RegisterRulePolicy();
    // rule_only_data_provider: what RulePolicy stored about rule-only slots and
    // loops ({} without a RulePolicy).
    graph::ComponentImplementation rules;
    rules.make = [](const Json&, const std::optional<std::string>& resource, const graph::ExecutionContext& c) {
      return std::make_unique<RuleOnlyDataProvider>(resource, c);
    };
    graph::RegisterImplementation("RuleOnlyDataProvider", rules);
    graph::ComponentImplementation ensemble;
    ensemble.make = [](const Json&, const std::optional<std::string>&, const graph::ExecutionContext&) {
      return std::make_unique<DefaultPolicyPredictionEnsemble>();
    };
    graph::RegisterImplementation("DefaultPolicyPredictionEnsemble", ensemble);
  });
}

}  // namespace trainyard::policy
