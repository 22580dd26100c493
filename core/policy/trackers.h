#pragma once

// Training trackers and dialogue states, as Rasa 3.x builds them for its
// policies: the conversations the story graph describes, made explicit
// (action_listen before every user turn, the rule snippet action `...` that
// stands for "any history before this rule"), and the state a policy sees
// before each bot action.

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/data/story_graph.h"

namespace trainyard::policy {

struct EntityFilter;
using Json = nlohmann::ordered_json;

inline constexpr const char* kActionListen = "action_listen";
// UnexpecTEDIntentPolicy's warning action: policies look through it (it
// changes no state and is never a training label).
inline constexpr const char* kActionUnlikelyIntent = "action_unlikely_intent";
// The value rules use for `slot: null` and `active_loop: null`: "must not be set".
inline constexpr const char* kShouldNotBeSet = "__should_not_be_set__";

struct TrainingTracker {
  std::string name;  // story / rule names joined with " > "
  bool is_rule = false;
  // Glued from whole stories (augmentation): only TED-like policies learn from
  // these; memoization and rules use the stories as written.
  bool is_augmented = false;
  // No kOr events (alternatives are expanded). Rules: the condition, then `...`
  // unless the rule is for the conversation start, then the steps, then `...`
  // when the rule does not wait for user input.
  std::vector<data::StoryEvent> events;
};

struct TrackerOptions {
  // Stop generating after this many trackers (stories with many `or` steps
  // and checkpoint loops multiply); a warning says so. (Rasa's option of this
  // name caps each tracker's event history instead.)
  size_t tracker_limit = 10000;
  // Rasa's remove_duplicates: trackers with equal dialogue states (and equal
  // user texts) are continued once, and finished stories with equal states
  // are kept once. Off, every conversation through the story graph is kept
  // (test stories, story conflicts: each story is reported by name).
  bool remove_duplicates = false;
  // Rasa's unique_last_num_states (0: unset): with remove_duplicates, trackers
  // whose last N states equal an earlier tracker's stop at that step.
  size_t unique_last_num_states = 0;
  // Rasa's story augmentation: once every checkpoint is reached, three rounds
  // each continue up to augmentation_factor finished stories (glued ones too)
  // with the stories from the start, at most augmentation_factor × 10 trackers
  // entering a step; at the end augmentation_factor × 10 glued ones are kept.
  // The draws are Python's random.Random(42), as in Rasa. 0: none.
  int augmentation_factor = 0;
  // Rasa's use_story_concatenation (the provider's default: on). Off, no
  // gluing even with a factor, and the stories keep their order (on, Rasa
  // shuffles the finished stories it draws from, even with a factor of 0).
  bool use_story_concatenation = false;
};

// The conversations the story graph describes, as Rasa's
// TrainingDataGenerator makes them (stories first, in its order), and one
// tracker per rule. `domain` gives the dialogue states that deduplication and
// checkpoint slot conditions look at. `warnings` receives a note when the
// limit cut generation short.
std::vector<TrainingTracker> GenerateTrackers(const data::StoryGraph& graph, const Json& domain,
                                              const TrackerOptions& options,
                                              std::vector<std::string>* warnings = nullptr);

// One dialogue state (Rasa's state dict): {"user": {"intent" | "text",
// "entities"}, "prev_action": {"action_name" | "action_text"}, "slots":
// {name: [features] | "__should_not_be_set__"}, "active_loop": {"name"}};
// empty parts are left out. The state of a conversation's start is {}.
using State = Json;

// `events` with action_listen inserted before every user turn that does not
// follow one (a conversation starts by listening), as Rasa makes story steps
// explicit. `final_listen` appends the listen a story ends with.
std::vector<data::StoryEvent> ExplicitEvents(const std::vector<data::StoryEvent>& events, bool final_listen);

// Replays events and keeps what the policies read: the states before each
// action, the latest action, the active loop and whether it rejected.
class DialogueTracker {
 public:
  // `is_rule`: slots and loops set to null mean "must not be set", and slots
  // with an initial value count only once a rule sets them.
  DialogueTracker(const Json& domain, bool is_rule = false);

  void Apply(const data::StoryEvent& e);
  State CurrentState() const;
  // The state before each action so far, then the current state.
  std::vector<State> PastStates() const;

  const std::string& latest_action() const { return latest_action_; }
  const std::string& active_loop() const { return active_loop_; }
  // The active loop refused to run, and no action ran since.
  bool loop_rejected() const { return loop_rejected_; }
  // The latest user turn's intent ("" before any, or for text-only turns).
  const std::string& latest_intent() const { return latest_intent_; }
  bool has_user_turn() const { return !user_.is_null(); }
  // A slot's value as set (null when unset).
  Json SlotValue(const std::string& name) const;

 private:
  Json Features(const std::string& slot, const Json& value) const;
  void SetSlotsFromEntities(const data::StoryEvent& e);

  const Json* domain_;  // a pointer, so that trackers can be assigned
  bool is_rule_;
  std::vector<State> history_;
  Json user_ = nullptr;
  Json prev_action_ = nullptr;
  std::map<std::string, Json> slots_;  // raw values, by name (states list slots sorted)
  std::string active_loop_;  // "" when no loop is active
  std::string loop_state_;   // as states show it (rules: "must not be set")
  std::string latest_action_;
  std::string latest_intent_;
  bool loop_rejected_ = false;
  mutable std::shared_ptr<const EntityFilter> entity_filter_;
};

// Rasa's slot featurization (Slot.as_feature): text and list [1] when set,
// bool [1, value], categorical one-hot over its values (and __other__),
// float [1, scaled value]. Null when the slot does not influence the
// conversation or its features are all zero (the slot is left out of states).
Json SlotFeatures(const Json& slot_definition, const Json& value);

// A story that starts with a bot action starts mid-conversation: Rasa marks
// that first action unpredictable (no training example, no conflict).
bool FirstActionIsUnpredictable(const TrainingTracker& tracker);

// Training examples of a tracker: the states before each action, paired with
// that action (its name, or its text for `bot:` steps; `...` for the rule
// snippet action).
std::vector<std::pair<std::vector<State>, std::string>> ActionExamples(const TrainingTracker& tracker,
                                                                      const Json& domain);

// The states a policy that learns from stories (memoization, TED,
// UnexpecTED) reads at prediction, as Rasa builds them for such policies:
// the turns of rules that no story has (actions with hide_rule_turn) left
// out, rule-only slots and loops (`rule_only_data`: {"rule_only_slots",
// "rule_only_loops"}, what RulePolicy stored) removed, and after a hidden
// turn the last visible action and user turn standing in for the hidden ones.
std::vector<State> StoryPolicyStates(const std::vector<data::StoryEvent>& events, const Json& domain,
                                     const Json& rule_only_data);

// Every action a model can predict, in Rasa's order: the default actions, the
// domain's actions, its utter_ responses not listed as actions, forms, and
// end-to-end bot texts.
std::vector<std::string> ActionNames(const Json& domain);

}  // namespace trainyard::policy
