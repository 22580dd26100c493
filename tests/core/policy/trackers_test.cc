#include "core/policy/trackers.h"

#include <gtest/gtest.h>

#include "core/data/story_reader.h"

namespace trainyard::policy {
namespace {

data::StoryGraph Graph(const std::string& yaml) {
  util::Diagnostics d;
  return data::StoryGraph::Build(data::ParseStories(yaml, "stories.yml", d), d);
}

TEST(GenerateTrackers, FollowsCheckpointsAndExpandsOr) {
  const auto trackers = GenerateTrackers(
      Graph("stories:\n"
            "- story: start\n  steps:\n  - intent: greet\n  - action: utter_greet\n  - checkpoint: asked\n"
            "- story: happy\n  steps:\n  - checkpoint: asked\n  - or:\n    - intent: good\n    - intent: great\n"
            "  - action: utter_happy\n"
            "- story: sad\n  steps:\n  - checkpoint: asked\n  - intent: sad\n  - action: utter_cheer\n"
            "rules:\n- rule: bye\n  steps:\n  - intent: bye\n  - action: utter_bye\n"),
      {});
  // start>happy twice (or), start>sad once, and the rule.
  ASSERT_EQ(trackers.size(), 4u);
  size_t rules = 0, with_or = 0;
  for (const auto& t : trackers) {
    rules += t.is_rule;
    for (const auto& e : t.events) EXPECT_NE(e.type, data::EventType::kOr);
    if (!t.is_rule && t.events.size() == 4 && t.events[3].name == "utter_happy") ++with_or;
  }
  EXPECT_EQ(rules, 1u);
  EXPECT_EQ(with_or, 2u);
}

TEST(GenerateTrackers, LimitStopsCombinatorialExplosion) {
  std::string yaml = "stories:\n- story: s\n  steps:\n";
  for (int i = 0; i < 20; ++i) yaml += "  - or:\n    - intent: a\n    - intent: b\n  - action: utter_x\n";
  std::vector<std::string> warnings;
  TrackerOptions options;
  options.tracker_limit = 100;
  const auto trackers = GenerateTrackers(Graph(yaml), options, &warnings);
  EXPECT_LE(trackers.size(), 100u);
  EXPECT_EQ(warnings.size(), 1u);
}

TEST(ActionExamples, StatesBeforeEachBotActionIncludingListening) {
  const auto trackers = GenerateTrackers(
      Graph("stories:\n- story: s\n  steps:\n  - intent: greet\n  - action: utter_greet\n  - action: utter_ask\n"
            "  - intent: inform\n    entities:\n    - city: Rome\n  - slot_was_set:\n    - city: Rome\n"
            "  - action: utter_ok\n"),
      {});
  const Json domain = {{"slots", {{"city", {{"influence_conversation", true}}}}}};
  const auto examples = ActionExamples(trackers.at(0), domain);
  std::vector<std::string> actions;
  for (const auto& [states, action] : examples) actions.push_back(action);
  EXPECT_EQ(actions, (std::vector<std::string>{"utter_greet", "utter_ask", "action_listen", "utter_ok", "action_listen"}));
  const auto& last_states = examples[3].first;
  EXPECT_EQ(last_states.size(), 4u);
  EXPECT_EQ(last_states.back()["user"]["intent"], "inform");
  EXPECT_EQ(last_states.back()["user"]["entities"][0], "city");
  EXPECT_EQ(last_states.back()["slots"]["city"], "Rome");
  EXPECT_EQ(last_states.back()["prev_action"]["action_name"], "action_listen");
  EXPECT_EQ(examples[1].first.back()["prev_action"]["action_name"], "utter_greet");
}

}  // namespace
}  // namespace trainyard::policy
