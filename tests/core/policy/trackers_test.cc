#include "core/policy/trackers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/data/story_reader.h"

namespace trainyard::policy {
namespace {

const Json kDomain = Json::object();

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
      kDomain, {});
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
  const auto trackers = GenerateTrackers(Graph(yaml), kDomain, options, &warnings);
  EXPECT_LE(trackers.size(), 100u);
  EXPECT_EQ(warnings.size(), 1u);
}

std::vector<std::string> Names(const std::vector<TrainingTracker>& trackers) {
  std::vector<std::string> names;
  for (const auto& t : trackers) names.push_back(t.name);
  return names;
}

TEST(GenerateTrackers, AugmentationGluesFinishedStoriesToStoriesFromTheStartForThreeRounds) {
  TrackerOptions options;
  options.remove_duplicates = true;
  options.use_story_concatenation = true;
  options.augmentation_factor = 50;
  // One story: each round continues every finished story with it once more;
  // a glued story made again is a duplicate. a; then aa; aaa; aaaa.
  const auto one = GenerateTrackers(Graph("stories:\n- story: a\n  steps:\n  - intent: greet\n  - action: utter_greet\n"),
                                    kDomain, options);
  ASSERT_EQ(one.size(), 4u);
  EXPECT_FALSE(one[0].is_augmented);
  std::vector<size_t> lengths;
  for (size_t i = 1; i < one.size(); ++i) {
    EXPECT_TRUE(one[i].is_augmented);
    EXPECT_EQ(one[i].name, "a");  // a block already in the name is not named twice
    lengths.push_back(one[i].events.size());
  }
  std::sort(lengths.begin(), lengths.end());
  EXPECT_EQ(lengths, (std::vector<size_t>{4, 6, 8}));

  // Two stories and a rule: round 1 glues 2 ends × 2 starts = 4 new; round 2
  // 6 ends × 2 = 12, of which the 8 of three stories are new; round 3 the 16 of
  // four stories. The rule is never glued.
  const std::string two = "stories:\n"
                          "- story: a\n  steps:\n  - intent: greet\n  - action: utter_greet\n"
                          "- story: b\n  steps:\n  - intent: bye\n  - action: utter_bye\n"
                          "rules:\n- rule: r\n  steps:\n  - intent: thanks\n  - action: utter_welcome\n";
  const auto trackers = GenerateTrackers(Graph(two), kDomain, options);
  ASSERT_EQ(trackers.size(), 2u + 28u + 1u);
  // The originals first (Rasa shuffles the finished stories it draws from).
  EXPECT_EQ((std::set<std::string>{trackers[0].name, trackers[1].name}), (std::set<std::string>{"a", "b"}));
  EXPECT_TRUE(trackers.back().is_rule);
  EXPECT_FALSE(trackers.back().is_augmented);
  std::set<std::vector<std::string>> distinct;
  for (const auto& t : trackers) {
    std::vector<std::string> intents;
    for (const auto& e : t.events)
      if (e.type == data::EventType::kUser) intents.push_back(e.name);
    EXPECT_TRUE(distinct.insert(intents).second) << t.name;
    if (!t.is_rule) {
      EXPECT_EQ(t.is_augmented, intents.size() > 1) << t.name;
    }
  }

  // A small factor caps the glued trackers (10 per factor) and draws them the
  // same way every time.
  options.augmentation_factor = 1;
  const auto capped = GenerateTrackers(Graph(two), kDomain, options);
  size_t augmented = 0;
  for (const auto& t : capped) augmented += t.is_augmented;
  EXPECT_GE(augmented, 1u);
  EXPECT_LE(augmented, 10u);
  EXPECT_EQ(Names(capped), Names(GenerateTrackers(Graph(two), kDomain, options)));
  options.augmentation_factor = 0;
  EXPECT_EQ(GenerateTrackers(Graph(two), kDomain, options).size(), 3u);
}

TEST(GenerateTrackers, RemoveDuplicatesKeepsOneTrackerPerDialogueStates) {
  // Two openings with the same states (entity values do not reach states)
  // meet at a checkpoint: the conversation goes on once.
  const std::string yaml =
      "stories:\n"
      "- story: x1\n  steps:\n  - intent: inform\n    entities:\n    - city: Rome\n  - action: utter_ok\n"
      "  - checkpoint: c\n"
      "- story: x2\n  steps:\n  - intent: inform\n    entities:\n    - city: Oslo\n  - action: utter_ok\n"
      "  - checkpoint: c\n"
      "- story: y\n  steps:\n  - checkpoint: c\n  - intent: bye\n  - action: utter_bye\n"
      "- story: y again\n  steps:\n  - intent: inform\n    entities:\n    - city: Rome\n  - action: utter_ok\n"
      "  - intent: bye\n  - action: utter_bye\n";
  TrackerOptions options;
  EXPECT_EQ(GenerateTrackers(Graph(yaml), kDomain, options).size(), 3u);  // off: every conversation
  options.remove_duplicates = true;
  const auto trackers = GenerateTrackers(Graph(yaml), kDomain, options);
  ASSERT_EQ(trackers.size(), 1u);
  EXPECT_EQ(trackers[0].events.size(), 4u);
  // Texts tell user turns apart: stories that differ in them are both kept.
  const std::string texts = "stories:\n"
                            "- story: t1\n  steps:\n  - intent: greet\n    user: hi\n  - action: utter_greet\n"
                            "- story: t2\n  steps:\n  - intent: greet\n    user: hello\n  - action: utter_greet\n";
  EXPECT_EQ(GenerateTrackers(Graph(texts), kDomain, options).size(), 2u);
}

TEST(GenerateTrackers, UniqueLastNumStatesStopsTrackersWhoseRecentStatesWereSeen) {
  const std::string yaml = "stories:\n"
                           "- story: s1\n  steps:\n  - intent: a\n  - action: utter_a\n  - intent: b\n"
                           "  - action: utter_b\n  - checkpoint: c\n"
                           "- story: s2\n  steps:\n  - intent: z\n  - action: utter_z\n  - intent: b\n"
                           "  - action: utter_b\n  - checkpoint: c\n"
                           "- story: end\n  steps:\n  - checkpoint: c\n  - intent: bye\n  - action: utter_bye\n";
  TrackerOptions options;
  options.remove_duplicates = true;
  auto trackers = GenerateTrackers(Graph(yaml), kDomain, options);
  EXPECT_EQ(Names(trackers), (std::vector<std::string>{"s1 > end", "s2 > end"}));
  // The last two states at `c` (utter_b after b) are the same for both: s2's
  // tracker stops at the checkpoint, kept as it is (its whole history is new).
  options.unique_last_num_states = 2;
  trackers = GenerateTrackers(Graph(yaml), kDomain, options);
  ASSERT_EQ(Names(trackers), (std::vector<std::string>{"s2", "s1 > end"}));
  EXPECT_EQ(trackers[0].events.size(), 4u);
  EXPECT_EQ(trackers[1].events.size(), 6u);
}

TEST(GenerateTrackers, CheckpointSlotConditionsAndLoopsThroughCheckpoints) {
  const Json domain = {{"slots", {{"mood", {{"type", "text"}}}}}};
  const std::string yaml = "stories:\n"
                           "- story: happy\n  steps:\n  - intent: great\n  - slot_was_set:\n    - mood: good\n"
                           "  - action: utter_ok\n  - checkpoint: c\n"
                           "- story: sad\n  steps:\n  - intent: sad\n  - slot_was_set:\n    - mood: bad\n"
                           "  - action: utter_ok\n  - checkpoint: c\n"
                           "- story: cheer\n  steps:\n  - checkpoint: c\n    slot_was_set:\n    - mood: bad\n"
                           "  - action: utter_cheer\n";
  TrackerOptions options;
  options.remove_duplicates = true;
  const auto trackers = GenerateTrackers(Graph(yaml), domain, options);
  // Only the sad conversation satisfies the checkpoint. The happy one waits at
  // a checkpoint that was used, so it is neither continued nor kept (as Rasa).
  EXPECT_EQ(Names(trackers), (std::vector<std::string>{"sad > cheer"}));

  // A loop through a checkpoint is followed again in later rounds until no
  // round reaches a new checkpoint, then generation stops.
  const std::string loop = "stories:\n"
                           "- story: start\n  steps:\n  - intent: greet\n  - action: utter_menu\n  - checkpoint: menu\n"
                           "- story: again\n  steps:\n  - checkpoint: menu\n  - intent: more\n  - action: utter_menu\n"
                           "  - checkpoint: menu\n"
                           "- story: done\n  steps:\n  - checkpoint: menu\n  - intent: bye\n  - action: utter_bye\n";
  const auto looped = GenerateTrackers(Graph(loop), kDomain, options);
  const std::vector<std::string> list = Names(looped);
  const std::set<std::string> names(list.begin(), list.end());
  EXPECT_TRUE(names.count("start > done"));
  EXPECT_TRUE(names.count("start > again > done"));
  size_t longest = 0;
  for (const auto& t : looped) longest = std::max(longest, t.events.size());
  EXPECT_GE(longest, 8u);  // greet, more, more, bye: the loop went round twice
  EXPECT_LE(looped.size(), 10u);
  // A limit stops the rounds with a warning.
  options.tracker_limit = 2;
  std::vector<std::string> warnings;
  EXPECT_LE(GenerateTrackers(Graph(loop), kDomain, options, &warnings).size(), 2u);
  EXPECT_EQ(warnings.size(), 1u);
}

TEST(ActionExamples, RasaStatesBeforeEachActionFromTheConversationStart) {
  const auto trackers = GenerateTrackers(
      Graph("stories:\n- story: s\n  steps:\n  - intent: greet\n  - action: utter_greet\n  - action: utter_ask\n"
            "  - intent: inform\n    entities:\n    - city: Rome\n  - slot_was_set:\n    - city: Rome\n"
            "  - action: utter_ok\n"),
      kDomain, {});
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
      kDomain, {});
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
