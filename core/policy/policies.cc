#include "core/policy/policies.h"

#include <mutex>

#include "core/graph/component.h"

namespace trainyard::policy {
namespace {

class TrainingTrackerProvider : public graph::Component {
 public:
  explicit TrainingTrackerProvider(const Json& config) : config_(config) {}
  graph::Output Run(const std::string&, const graph::Inputs& in, const graph::ExecutionContext& c) override {
    const auto& graph = *std::any_cast<std::shared_ptr<const data::StoryGraph>>(in.at("story_graph").value);
    TrackerOptions options;
    if (config_["tracker_limit"].is_number()) options.tracker_limit = config_["tracker_limit"].get<size_t>();
    std::vector<std::string> warnings;
    auto trackers = std::make_shared<const std::vector<TrainingTracker>>(GenerateTrackers(graph, options, &warnings));
    for (const std::string& w : warnings)
      if (c.warn) c.warn(w);
    return {TrackersPtr(trackers), "", std::nullopt};
  }

 private:
  Json config_;
};

}  // namespace

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
    graph::RegisterImplementation("TrainingTrackerProvider", provider);
    RegisterMemoizationPolicies();
  });
}

}  // namespace trainyard::policy
