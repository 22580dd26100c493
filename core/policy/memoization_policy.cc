// MemoizationPolicy and AugmentedMemoizationPolicy: the lookup from the last
// `max_history` dialogue states to the action that followed them in the
// stories, and prediction by recalling it.

#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "core/graph/component.h"
#include "core/policy/policies.h"
#include "core/policy/trackers.h"
#include "core/util/errors.h"
#include "core/util/option_reader.h"

namespace trainyard::policy {
namespace {

constexpr const char* kFile = "memorized_turns.json";

// The states a memorized history holds: null keeps them all (-1).
int MaxHistory(const Json& config, const std::string& name) {
  return util::OptionReader(config, name).Int("max_history", -1, 1);
}

int Priority(const Json& config, const std::string& name) {
  return util::OptionReader(config, name).Int("priority", 3, std::numeric_limits<int>::min());
}

void CheckMemoizationOptions(const Json& config, const std::string& name) {
  MaxHistory(config, name);
  Priority(config, name);
  const util::OptionReader r(config, name);
  r.Flag("enable_feature_string_compression", true);
  r.Flag("use_nlu_confidence_as_score", false);
}

class MemoizationPolicy : public graph::Component {
 public:
  MemoizationPolicy(std::string name, const Json& config, const std::optional<std::string>& resource,
                    const graph::ExecutionContext& c)
      : name_(std::move(name)), config_(config) {
    if (resource && c.storage && c.storage->Has(*resource)) {
      std::ifstream in(c.storage->ReadFrom(*resource) / kFile);
      memory_ = Json::parse(in, nullptr, false);
      if (memory_.is_discarded()) throw util::InvalidDataError({}, "The model's " + std::string(kFile) + " is corrupt.");
    }
  }

  graph::Output Run(const std::string& fn, const graph::Inputs& in, const graph::ExecutionContext& c) override {
    if (fn == "predict_action_probabilities") return Predict(in);
    if (fn != "train") throw util::InvalidConfigError(name_ + " has no method '" + fn + "'.");
    const auto& trackers = *std::any_cast<TrackersPtr>(in.at("training_trackers").value);
    const Json& domain = *std::any_cast<std::shared_ptr<const Json>>(in.at("domain").value);
    const int max_history = MaxHistory(config_, name_);
    std::map<std::string, std::string> lookup;
    std::set<std::string> conflicting;
    for (const TrainingTracker& t : trackers) {
      if (t.is_rule || t.is_augmented) continue;  // rules are RulePolicy's; augmentation is for TED
      if (c.cancel) c.cancel->ThrowIfCancelled();
      for (const auto& [states, action] : ActionExamples(t, domain)) {
        const size_t keep = max_history < 0 ? states.size() : std::min(states.size(), static_cast<size_t>(max_history));
        const std::string key = Json(std::vector<State>(states.end() - keep, states.end())).dump();
        if (conflicting.count(key)) continue;
        auto [it, inserted] = lookup.emplace(key, action);
        if (!inserted && it->second != action) {
          lookup.erase(it);
          conflicting.insert(key);
        }
      }
    }
    Json json = {{"max_history", max_history}, {"lookup", Json::object()}};
    for (const auto& [k, v] : lookup) json["lookup"][k] = v;
    std::ofstream(c.storage->WriteTo(c.node_name) / kFile) << json.dump();
    if (c.progress) c.progress({1, 1, {{"memorized_turns", lookup.size()}, {"conflicts", conflicting.size()}}});
    return {graph::Resource{c.node_name}, graph::RandomFingerprint(), c.node_name};
  }

 private:
  // The action remembered for the last max_history states. The augmented
  // variant, when that fails, forgets the conversation's oldest turns one
  // action at a time (Rasa's "back to the future"): what remains looks like a
  // conversation that started later, which stories may know.
  graph::Output Predict(const graph::Inputs& in) const {
    const Json& domain = *std::any_cast<std::shared_ptr<const Json>>(in.at("domain").value);
    const auto& raw = *std::any_cast<ConversationPtr>(in.at("tracker").value);
    const std::vector<std::string> actions = ActionNames(domain);
    auto prediction = EmptyPrediction(actions, name_, Priority(config_, name_));
    const int max_history = memory_.is_object() ? memory_.value("max_history", -1) : -1;
    auto key_of = [&](const std::vector<data::StoryEvent>& events) {
      std::vector<State> states = StoryPolicyStates(events, domain, RuleOnlyDataOf(in));
      const size_t keep = max_history < 0 ? states.size() : std::min(states.size(), static_cast<size_t>(max_history));
      return Json(std::vector<State>(states.end() - static_cast<std::ptrdiff_t>(keep), states.end())).dump();
    };
    auto recall = [&](const std::string& key) -> const Json* {
      if (!memory_.is_object() || !memory_["lookup"].contains(key)) return nullptr;
      return &memory_["lookup"][key];
    };
    std::vector<data::StoryEvent> events = ExplicitEvents(raw, false);
    std::string key = key_of(events);
    const Json* action = recall(key);
    if (!action && name_ == "AugmentedMemoizationPolicy" && max_history > 1) {
      bool again = false;
      while (!action) {
        size_t seen = 0, cut = events.size();
        for (size_t i = 0; i < events.size(); ++i)
          if (events[i].type == data::EventType::kAction && ++seen == (again ? 2u : 1u)) {
            cut = i;
            break;
          }
        if (cut >= events.size()) break;
        events.erase(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(cut));
        again = true;
        const std::string shorter = key_of(events);
        if (shorter == key) continue;
        key = shorter;
        action = recall(key);
      }
    }
    if (action) SetProbability(*prediction, actions, action->get<std::string>(), 1.0);
    return {PolicyPredictionPtr(prediction), graph::RandomFingerprint(), std::nullopt};
  }

  std::string name_;
  Json config_;
  Json memory_;
};

}  // namespace

void RegisterMemoizationPolicies() {
  for (const char* name : {"MemoizationPolicy", "AugmentedMemoizationPolicy"}) {
    graph::ComponentImplementation impl;
    impl.version = "2";  // 2: Rasa's explicit states (start state, featurized slots)
    impl.defaults = {{"enable_feature_string_compression", true}, {"use_nlu_confidence_as_score", false},
                     {"priority", 3}, {"max_history", 5}};
    impl.make = [name](const Json& config, const std::optional<std::string>& resource, const graph::ExecutionContext& c) {
      return std::make_unique<MemoizationPolicy>(name, config, resource, c);
    };
    impl.check = [name](const Json& config) { CheckMemoizationOptions(config, name); };
    graph::RegisterImplementation(name, impl);
  }
}

}  // namespace trainyard::policy
