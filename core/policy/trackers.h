#pragma once

// Training trackers (SPEC §4.5 step 8, the dialogue issue refines this): the
// conversations the story graph describes, as flat event sequences, and the
// dialogue states a policy sees before each bot action.
//
// This first version follows checkpoints and expands `or` steps; it does not
// yet augment stories (augmentation_factor) — the dialogue issue adds that.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/data/story_graph.h"

namespace trainyard::policy {

using Json = nlohmann::ordered_json;

struct TrainingTracker {
  std::string name;  // story / rule names joined with " > "
  bool is_rule = false;
  std::vector<data::StoryEvent> events;  // no kOr events: alternatives are expanded
};

struct TrackerOptions {
  // Stop generating after this many trackers (stories with many `or` steps
  // and checkpoint loops multiply); a warning says so.
  size_t tracker_limit = 10000;
};

// Every conversation through the story graph, and one tracker per rule.
// `warnings` receives a note when the limit cut generation short.
std::vector<TrainingTracker> GenerateTrackers(const data::StoryGraph& graph, const TrackerOptions& options,
                                              std::vector<std::string>* warnings = nullptr);

// One dialogue state (Rasa's state dict): {"user": {"intent", "entities"},
// "prev_action": {"action_name" | "action_text"}, "slots": {...},
// "active_loop": {"name"}}; empty parts are left out.
using State = Json;

// The states before each bot action of `tracker`, paired with that action
// (its name, or its text for `bot:` steps). `domain` is the core domain dict
// (slots that do not influence the conversation are left out).
std::vector<std::pair<std::vector<State>, std::string>> ActionExamples(const TrainingTracker& tracker,
                                                                      const Json& domain);

// The states of a conversation so far (`events` as they happened, e.g. from
// a live tracker): the state before each past bot action, then the current
// state — the history a policy predicts the next action from.
std::vector<State> ConversationStates(const std::vector<data::StoryEvent>& events, const Json& domain);

// Every action a model can predict, in Rasa's order: the default actions, the
// domain's actions, its utter_ responses not listed as actions, forms, and
// end-to-end bot texts.
std::vector<std::string> ActionNames(const Json& domain);

}  // namespace trainyard::policy
