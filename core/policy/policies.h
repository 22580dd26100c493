#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/graph/component.h"
#include "core/policy/trackers.h"

namespace trainyard::policy {

// What `training_tracker_provider` hands to policies.
using TrackersPtr = std::shared_ptr<const std::vector<TrainingTracker>>;

// The conversation a prediction is for (the `__tracker__` input): its events
// so far, in order.
using ConversationPtr = std::shared_ptr<const std::vector<data::StoryEvent>>;

// One policy's prediction: a probability per action of ActionNames(domain).
struct PolicyPrediction {
  std::vector<double> probabilities;
  std::string policy;  // "policy_0_MemoizationPolicy" once the ensemble names it
  int priority = 0;
  // Predicted without looking at the user's input (a loop's happy path):
  // such predictions overrule all others in the ensemble.
  bool is_no_user_prediction = false;
  // RulePolicy: the loop returns after an unhappy path (Rasa's LoopInterrupted).
  bool loop_interrupted = false;
  // RulePolicy: the rule that predicted is not in any story; ML policies
  // leave its turns out of their history.
  bool hide_rule_turn = false;
  // TEDPolicy: predicted from the user's text rather than the intent.
  bool is_end_to_end_prediction = false;
  // TEDPolicy's entities in the last user text (with an end-to-end
  // prediction right after it; Rasa's optional EntitiesAdded event).
  std::vector<data::EntityAnnotation> entities;
};
using PolicyPredictionPtr = std::shared_ptr<const PolicyPrediction>;

// A prediction of `policy` over `actions` (ActionNames of the domain), every
// probability 0.
inline std::shared_ptr<PolicyPrediction> EmptyPrediction(const std::vector<std::string>& actions,
                                                         const std::string& policy, int priority) {
  auto p = std::make_shared<PolicyPrediction>();
  p->probabilities.assign(actions.size(), 0.0);
  p->policy = policy;
  p->priority = priority;
  return p;
}

// Sets the probability of `action` (nothing when it is not one of `actions`).
inline void SetProbability(PolicyPrediction& prediction, const std::vector<std::string>& actions,
                           const std::string& action, double probability) {
  for (size_t i = 0; i < actions.size() && i < prediction.probabilities.size(); ++i)
    if (actions[i] == action) prediction.probabilities[i] = probability;
}

// The `rule_only_data` input of a policy's prediction (an empty object when
// there is none): for StoryPolicyStates.
const Json& RuleOnlyDataOf(const graph::Inputs& in);

// Registers TrainingTrackerProvider and the policies implemented so far.
void RegisterPolicyComponents();
void RegisterMemoizationPolicies();
void RegisterRulePolicy();

}  // namespace trainyard::policy
