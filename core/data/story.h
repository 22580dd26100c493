#pragma once

#include <string>
#include <vector>

#include "core/data/training_data.h"
#include "core/util/diagnostics.h"

namespace trainyard::data {

// The name of the implicit checkpoint every story without an explicit start
// checkpoint starts from.
inline constexpr const char* kStoryStart = "STORY_START";
// A rule snippet marker: "any prior history" before a rule (SPEC §7.4).
inline constexpr const char* kRuleSnippetAction = "...";

enum class EventType {
  kUser,        // `intent:` and/or `user:` text
  kAction,      // `action:` name or `bot:` text
  kSlotSet,     // one item of `slot_was_set:`
  kActiveLoop,  // `active_loop:` name, or empty name for null
  kOr,          // `or:` with alternatives (user or slot events)
  // At prediction time only: the named action (a loop) refused to run
  // (Rasa's ActionExecutionRejected). Never read from files.
  kActionRejected,
};

struct StoryEvent {
  EventType type = EventType::kAction;
  std::string name;  // intent, action, slot or loop name
  std::string text;  // user text (plain, annotations removed) or bot text
  std::vector<EntityAnnotation> entities;  // user turns
  Json value;                    // slot value
  bool bare_slot = false;        // `slot_was_set: [name]` without a value
  std::vector<StoryEvent> alternatives;  // kOr
  util::SourceLocation location;
  // At prediction time only (kAction): the action was predicted by a rule that
  // no story has (PolicyPrediction::hide_rule_turn, Rasa's ActionExecuted
  // flag). Policies that learn from stories leave such turns out of the
  // history. Never read from files.
  bool hide_rule_turn = false;

  // True for `user:` text without an intent and for `bot:` text: the turns
  // that make a project END_TO_END (SPEC §1.2).
  bool is_end_to_end() const {
    return (type == EventType::kUser && !text.empty() && name.empty()) ||
           (type == EventType::kAction && !text.empty() && name.empty());
  }
};

struct Checkpoint {
  std::string name;
  std::vector<StoryEvent> conditions;  // slot_was_set conditions
  util::SourceLocation location;
};

// A piece of a story or rule between checkpoints. A story whose steps contain
// checkpoints is split into several StorySteps, stitched in the StoryGraph.
struct StoryStep {
  std::string block_name;  // the story / rule name
  bool is_rule = false;
  std::vector<Checkpoint> start_checkpoints;
  std::vector<Checkpoint> end_checkpoints;
  std::vector<StoryEvent> events;
  std::vector<StoryEvent> condition;  // rules: `condition:` events
  bool conversation_start = false;    // rules
  bool wait_for_user_input = true;    // rules
  util::SourceLocation location;
};

// What one story file (or several, merged) holds.
struct StoryData {
  std::vector<StoryStep> steps;
  size_t story_count = 0;  // `story:` items read
  size_t rule_count = 0;   // `rule:` items read

  void Merge(StoryData other);
  bool empty() const { return steps.empty(); }
  bool HasEndToEnd() const;
};

// Applies `fn` to every event of every step, looking into `or` alternatives,
// checkpoint conditions and rule conditions.
template <typename Fn>
void ForEachEvent(const StoryData& data, Fn&& fn) {
  for (const StoryStep& step : data.steps) {
    auto visit = [&](const StoryEvent& e) {
      fn(step, e);
      for (const StoryEvent& alt : e.alternatives) fn(step, alt);
    };
    for (const StoryEvent& e : step.condition) visit(e);
    for (const StoryEvent& e : step.events) visit(e);
  }
}

}  // namespace trainyard::data
