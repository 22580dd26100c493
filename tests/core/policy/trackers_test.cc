#include "core/policy/trackers.h"

#include <gtest/gtest.h>

#include <algorithm>

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

TEST(GenerateTrackers, AugmentationGluesStoriesEndToStartInBoundedSeededRounds) {
  const auto graph = Graph("stories:\n"
                           "- story: a\n  steps:\n  - intent: greet\n  - action: utter_greet\n"
                           "- story: b\n  steps:\n  - intent: bye\n  - action: utter_bye\n"
                           "rules:\n- rule: r\n  steps:\n  - intent: thanks\n  - action: utter_welcome\n");
  TrackerOptions options;
  options.augmentation_factor = 1;  // at most 10 glued conversations a round
  const auto trackers = GenerateTrackers(graph, options);
  // 2 stories + 1 rule; round 1: 2 ends x 2 starts = 4; round 2: 4 ends x 2 starts = 8.
  ASSERT_EQ(trackers.size(), 15u);
  size_t augmented = 0;
  for (const auto& t : trackers) {
    augmented += t.is_augmented;
    if (t.is_augmented) {
      EXPECT_FALSE(t.is_rule);
    }
  }
  EXPECT_EQ(augmented, 12u);
  const auto& glued = trackers.back();
  EXPECT_EQ(glued.events.size(), 6u);  // three stories of two steps each
  EXPECT_EQ(std::count(glued.name.begin(), glued.name.end(), '>'), 2);

  // Four stories: 16 and then 40 candidates, 10 drawn each round, the same 10 every time.
  const auto four = Graph("stories:\n"
                          "- story: a\n  steps:\n  - intent: a\n  - action: utter_a\n"
                          "- story: b\n  steps:\n  - intent: b\n  - action: utter_b\n"
                          "- story: c\n  steps:\n  - intent: c\n  - action: utter_c\n"
                          "- story: d\n  steps:\n  - intent: d\n  - action: utter_d\n");
  const auto first = GenerateTrackers(four, options), second = GenerateTrackers(four, options);
  ASSERT_EQ(first.size(), 24u);
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i].name, second[i].name);
  EXPECT_EQ(GenerateTrackers(four, {}).size(), 4u);  // factor 0: none
}

TEST(ActionExamples, RasaStatesBeforeEachActionFromTheConversationStart) {
  const auto trackers = GenerateTrackers(
      Graph("stories:\n- story: s\n  steps:\n  - intent: greet\n  - action: utter_greet\n  - action: utter_ask\n"
            "  - intent: inform\n    entities:\n    - city: Rome\n  - slot_was_set:\n    - city: Rome\n"
            "  - action: utter_ok\n"),
      {});
  const Json domain = {{"slots", {{"city", {{"type", "text"}, {"influence_conversation", true}}}}},
                       {"entities", {"city"}}};
  const auto examples = ActionExamples(trackers.at(0), domain);
  std::vector<std::string> actions;
  for (const auto& [states, action] : examples) actions.push_back(action);
  // A conversation starts by listening; the story ends listening.
  EXPECT_EQ(actions, (std::vector<std::string>{"action_listen", "utter_greet", "utter_ask", "action_listen", "utter_ok",
                                               "action_listen"}));
  EXPECT_EQ(examples[0].first, std::vector<State>{Json::object()});
  const auto& states = examples[4].first;
  ASSERT_EQ(states.size(), 5u);
  EXPECT_EQ(states[0], Json::object());
  EXPECT_EQ(states[1], Json::parse(R"({"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}})"));
  // The user's turn stays in the states of the bot's actions that follow it.
  EXPECT_EQ(states[3], Json::parse(R"({"prev_action": {"action_name": "utter_ask"}, "user": {"intent": "greet"}})"));
  EXPECT_EQ(states[4].dump(), Json::parse(R"({"prev_action": {"action_name": "action_listen"},
      "slots": {"city": [1.0]}, "user": {"intent": "inform", "entities": ["city"]}})").dump());
}

TEST(ActionExamples, RulesStartWithTheSnippetActionAndNullMeansMustNotBeSet) {
  const auto trackers = GenerateTrackers(
      Graph("rules:\n- rule: r\n  condition:\n  - slot_was_set:\n    - city: null\n  - active_loop: null\n"
            "  steps:\n  - intent: greet\n  - action: utter_greet\n"
            "- rule: start\n  conversation_start: true\n  steps:\n  - intent: hi\n  - action: utter_hi\n"
            "  wait_for_user_input: false\n"),
      {});
  ASSERT_EQ(trackers.size(), 2u);
  const Json domain = {{"slots", {{"city", {{"type", "text"}}}}}};
  const auto r = ActionExamples(trackers[0], domain);
  std::vector<std::string> actions;
  for (const auto& [states, action] : r) actions.push_back(action);
  EXPECT_EQ(actions, (std::vector<std::string>{"...", "action_listen", "utter_greet", "action_listen"}));
  const State& s = r[2].first.back();
  EXPECT_EQ(s["slots"]["city"], kShouldNotBeSet);
  EXPECT_EQ(s["active_loop"]["name"], kShouldNotBeSet);
  EXPECT_EQ(r[1].first.back()["prev_action"]["action_name"], "...");
  // conversation_start: no snippet; wait_for_user_input false: ends with `...`.
  actions.clear();
  for (const auto& [states, action] : ActionExamples(trackers[1], domain)) actions.push_back(action);
  EXPECT_EQ(actions, (std::vector<std::string>{"action_listen", "utter_hi", "..."}));
}

TEST(SlotFeatures, FollowRasaSlotTypes) {
  EXPECT_EQ(SlotFeatures({{"type", "text"}}, "x"), Json({1.0}));
  EXPECT_TRUE(SlotFeatures({{"type", "text"}}, nullptr).is_null());
  EXPECT_TRUE(SlotFeatures({{"type", "text"}, {"influence_conversation", false}}, "x").is_null());
  EXPECT_EQ(SlotFeatures({{"type", "bool"}}, false), Json({1.0, 0.0}));
  EXPECT_EQ(SlotFeatures({{"type", "bool"}}, "true"), Json({1.0, 1.0}));
  const Json cat = {{"type", "categorical"}, {"values", {"Low", "high"}}};
  EXPECT_EQ(SlotFeatures(cat, "low"), Json({1.0, 0.0, 0.0}));
  EXPECT_EQ(SlotFeatures(cat, "medium"), Json({0.0, 0.0, 1.0}));  // __other__
  EXPECT_TRUE(SlotFeatures(cat, nullptr).is_null());
  EXPECT_EQ(SlotFeatures({{"type", "float"}, {"min_value", 0.0}, {"max_value", 10.0}}, 25), Json({1.0, 1.0}));
  EXPECT_EQ(SlotFeatures({{"type", "float"}, {"min_value", 0.0}, {"max_value", 10.0}}, 2.5), Json({1.0, 0.25}));
  EXPECT_TRUE(SlotFeatures({{"type", "list"}}, Json::array()).is_null());
  EXPECT_TRUE(SlotFeatures({{"type", "any"}}, "x").is_null());
}

TEST(DialogueTracker, KeepsOnlyTheEntitiesTheIntentUses) {
  const Json domain = Json::parse(R"({"entities": ["city", {"date": {"roles": ["from"]}}, {"mood": {"influence_conversation": false}}],
      "intents": [{"inform": {"use_entities": true}}, {"book": {"use_entities": ["date"]}}]})");
  auto user = [](const std::string& intent) {
    data::StoryEvent e;
    e.type = data::EventType::kUser;
    e.name = intent;
    for (const char* name : {"city", "date", "mood"}) {
      data::EntityAnnotation a;
      a.entity = name;
      if (std::string(name) == "date") a.role = "from";
      e.entities.push_back(a);
    }
    return e;
  };
  DialogueTracker t(domain);
  t.Apply(user("inform"));
  EXPECT_EQ(t.CurrentState()["user"]["entities"], Json({"city", "date", "date#from"}));
  t.Apply(user("book"));
  EXPECT_EQ(t.CurrentState()["user"]["entities"], Json({"date", "date#from"}));
}

TEST(DialogueTracker, EntitiesFillSlotsWithFromEntityMappings) {
  const Json domain = Json::parse(R"({"entities": ["product"], "intents": ["explain"],
      "slots": {"product": {"type": "categorical", "values": ["nlu", "core"],
                            "mappings": [{"type": "from_entity", "entity": "product"}]},
                "in_form": {"type": "text", "mappings": [{"type": "from_entity", "entity": "product",
                            "conditions": [{"active_loop": "some_form"}]}]}},
      "config": {"store_entities_as_slots": true}})");
  data::StoryEvent e;
  e.type = data::EventType::kUser;
  e.name = "explain";
  data::EntityAnnotation a;
  a.entity = "product";
  a.value = "core";
  e.entities.push_back(a);
  DialogueTracker t(domain);
  t.Apply(e);
  // Categorical one-hot over nlu, core, __other__; the loop-conditioned mapping waits for its form.
  EXPECT_EQ(t.CurrentState()["slots"], Json::parse(R"({"product": [0.0, 1.0, 0.0]})"));
  Json off = domain;
  off["config"]["store_entities_as_slots"] = false;
  DialogueTracker quiet(off);
  quiet.Apply(e);
  EXPECT_FALSE(quiet.CurrentState().contains("slots"));
}

}  // namespace
}  // namespace trainyard::policy
