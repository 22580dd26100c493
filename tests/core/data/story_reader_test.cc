#include "core/data/story_reader.h"

#include <gtest/gtest.h>

namespace trainyard::data {
namespace {

constexpr const char* kStories = R"(version: "3.1"
stories:
- story: happy path
  steps:
  - intent: greet
  - action: utter_greet
  - intent: inform
    entities:
    - city: Berlin
    - city: Rome
      role: destination
    - time
  - slot_was_set:
    - city: Berlin
    - confirmed
  - action: travel_form
  - active_loop: travel_form
  - active_loop: null
  - or:
    - intent: affirm
    - intent: thanks
  - checkpoint: after_booking
- story: continue
  steps:
  - checkpoint: after_booking
    slot_was_set:
    - confirmed: true
  - user: |
      I'd like to go to [Paris](city)
  - bot: Sure, Paris it is.
  - intent: /goodbye
  - action: utter_goodbye
rules:
- rule: greet at start
  conversation_start: true
  steps:
  - intent: greet
  - action: utter_greet
- rule: form continues
  condition:
  - active_loop: travel_form
  - slot_was_set:
    - requested_slot: city
  wait_for_user_input: false
  steps:
  - action: travel_form
  - active_loop: null
  - slot_was_set:
    - requested_slot: null
)";

TEST(StoryReader, ReadsEveryStepKind) {
  util::Diagnostics d;
  const StoryData data = ParseStories(kStories, "stories.yml", d);
  ASSERT_FALSE(d.has_errors()) << d.all()[0].ToString();
  EXPECT_EQ(data.story_count, 2u);
  EXPECT_EQ(data.rule_count, 2u);
  ASSERT_EQ(data.steps.size(), 4u);
  const StoryStep& happy = data.steps[0];
  EXPECT_EQ(happy.block_name, "happy path");
  ASSERT_EQ(happy.events.size(), 9u);
  EXPECT_EQ(happy.events[2].entities.size(), 3u);
  EXPECT_EQ(happy.events[2].entities[1].role, "destination");
  EXPECT_EQ(happy.events[2].entities[2].entity, "time");
  EXPECT_EQ(happy.events[3].type, EventType::kSlotSet);
  EXPECT_EQ(happy.events[3].value, "Berlin");
  EXPECT_TRUE(happy.events[4].bare_slot);
  EXPECT_EQ(happy.events[6].type, EventType::kActiveLoop);
  EXPECT_TRUE(happy.events[7].name.empty());
  EXPECT_EQ(happy.events[8].type, EventType::kOr);
  EXPECT_EQ(happy.events[8].alternatives.size(), 2u);
  ASSERT_EQ(happy.end_checkpoints.size(), 1u);
  EXPECT_EQ(happy.end_checkpoints[0].name, "after_booking");

  const StoryStep& cont = data.steps[1];
  ASSERT_EQ(cont.start_checkpoints.size(), 1u);
  EXPECT_EQ(cont.start_checkpoints[0].conditions[0].value, true);
  EXPECT_EQ(cont.events[0].text, "I'd like to go to Paris");
  EXPECT_EQ(cont.events[0].entities[0].start, 18);
  EXPECT_TRUE(cont.events[0].is_end_to_end());
  EXPECT_EQ(cont.events[1].text, "Sure, Paris it is.");
  EXPECT_TRUE(cont.events[1].is_end_to_end());
  EXPECT_EQ(cont.events[2].name, "goodbye");  // leading '/' stripped, with a warning

  EXPECT_TRUE(data.steps[2].conversation_start);
  EXPECT_FALSE(data.steps[3].wait_for_user_input);
  EXPECT_EQ(data.steps[3].condition.size(), 2u);
  EXPECT_TRUE(data.HasEndToEnd());
  EXPECT_EQ(d.warning_count(), 1u);
}

TEST(StoryReader, UnknownStepKindIsASchemaError) {
  util::Diagnostics d;
  ParseStories("stories:\n- story: s\n  steps:\n  - intent: a\n  - acton: utter_x\n", "s.yml", d);
  ASSERT_EQ(d.error_count(), 1u);
  EXPECT_EQ(d.errors()[0].location.line, 5);
  EXPECT_EQ(d.errors()[0].location.column, 5);
  EXPECT_NE(d.errors()[0].message.find("Unknown step kind 'acton'"), std::string::npos);
}

TEST(StoryReader, RulesCannotHaveBotOrCheckpointSteps) {
  util::Diagnostics d;
  ParseStories("rules:\n- rule: r\n  steps:\n  - bot: hi\n  - checkpoint: c\n", "r.yml", d);
  EXPECT_EQ(d.error_count(), 2u);
}

TEST(StoryReader, EmptyNamesAndStepsAreWarnings) {
  util::Diagnostics d;
  const StoryData data = ParseStories(
      "stories:\n- story: \"\"\n  steps:\n  - intent: a\n- story: no steps\n- story: ok\n  steps:\n"
      "  - action: \"\"\n  - intent: a\n",
      "s.yml", d);
  EXPECT_FALSE(d.has_errors());
  EXPECT_EQ(data.story_count, 1u);
  EXPECT_EQ(d.warning_count(), 3u);
}

TEST(StoryReader, RetrievalIntentInStoriesUsesTheBaseIntent) {
  util::Diagnostics d;
  const StoryData data = ParseStories("stories:\n- story: s\n  steps:\n  - intent: faq/ask_name\n", "s.yml", d);
  EXPECT_EQ(data.steps[0].events[0].name, "faq");
  EXPECT_EQ(d.warning_count(), 1u);
  util::Diagnostics d2;
  const StoryData test = ParseStories("stories:\n- story: s\n  steps:\n  - intent: faq/ask_name\n", "test_s.yml", d2, true);
  EXPECT_EQ(test.steps[0].events[0].name, "faq/ask_name");
}

TEST(StoryReader, IntentShorthandInUserText) {
  util::Diagnostics d;
  const StoryData data =
      ParseStories("stories:\n- story: s\n  steps:\n  - user: '/inform{\"city\": \"Rome\"}'\n", "s.yml", d);
  EXPECT_EQ(data.steps[0].events[0].name, "inform");
  EXPECT_EQ(data.steps[0].events[0].entities[0].value, "Rome");
}

}  // namespace
}  // namespace trainyard::data
