// RulePolicy through the component interface: trained on parsed rules and
// stories, persisted to model storage, loaded again and asked for actions.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "core/data/story_reader.h"
#include "core/graph/component.h"
#include "core/policy/policies.h"
#include "core/util/errors.h"
#include "tests/support/story_events.h"

namespace trainyard::policy {
namespace {

using namespace testing::events;

class RulePolicyTest : public ::testing::Test {
 protected:
  void SetUp() override { RegisterPolicyComponents(); }

  graph::ExecutionContext Context() {
    graph::ExecutionContext c;
    c.node_name = "train_RulePolicy0";
    c.storage = storage_.get();
    return c;
  }

  void Train(const std::string& yaml, Json config = Json::object()) {
    util::Diagnostics d;
    data::StoryGraph graph = data::StoryGraph::Build(data::ParseStories(yaml, "data/rules.yml", d), d);
    ASSERT_FALSE(d.has_errors());
    auto trackers = std::make_shared<const std::vector<TrainingTracker>>(GenerateTrackers(graph, domain_, {}));
    const auto* impl = graph::FindImplementation("RulePolicy");
    ASSERT_NE(impl, nullptr);
    config_ = graph::MergeConfig(impl->defaults, config);
    auto policy = impl->make(config_, std::nullopt, Context());
    policy->Run("train",
                {{"training_trackers", {TrackersPtr(trackers), "", std::nullopt}},
                 {"domain", {std::make_shared<const Json>(domain_), "", std::nullopt}}},
                Context());
    loaded_ = impl->make(config_, std::string("train_RulePolicy0"), Context());
  }

  PolicyPrediction Predict(const std::vector<data::StoryEvent>& events) {
    auto conversation = std::make_shared<const std::vector<data::StoryEvent>>(events);
    const auto out = loaded_->Run("predict_action_probabilities",
                                  {{"tracker", {ConversationPtr(conversation), "", std::nullopt}},
                                   {"domain", {std::make_shared<const Json>(domain_), "", std::nullopt}}},
                                  Context());
    return *std::any_cast<PolicyPredictionPtr>(out.value);
  }

  // The predicted action, or "" when every probability is 0.
  std::string Next(const std::vector<data::StoryEvent>& events) {
    const PolicyPrediction p = Predict(events);
    const auto actions = ActionNames(domain_);
    size_t best = 0;
    for (size_t i = 1; i < p.probabilities.size(); ++i)
      if (p.probabilities[i] > p.probabilities[best]) best = i;
    return p.probabilities[best] > 0 ? actions[best] : "";
  }

  Json domain_ = Json::parse(R"({
    "intents": ["greet", "bye", "inform", "chitchat", "restart", "stop"],
    "entities": ["city"],
    "slots": {"city": {"type": "text"}, "vip": {"type": "bool"}},
    "responses": {"utter_greet": [], "utter_bye": [], "utter_hi_vip": [], "utter_welcome": [],
                  "utter_chitchat": [], "utter_ask_continue": [], "utter_hello": []},
    "forms": {"city_form": {"required_slots": ["city"]}}})");
  std::unique_ptr<storage::ModelStorage> storage_ = storage::ModelStorage::CreateTemporary();
  Json config_;
  std::unique_ptr<graph::Component> loaded_;
};

TEST_F(RulePolicyTest, RuleAppliesAnywhereAndTheBotListensAfterIt) {
  Train("rules:\n- rule: bye\n  steps:\n  - intent: bye\n  - action: utter_bye\n");
  EXPECT_EQ(Next({User("bye")}), "utter_bye");
  EXPECT_EQ(Next({User("greet"), Action("utter_greet"), User("bye")}), "utter_bye");
  EXPECT_EQ(Next({User("bye"), Action("utter_bye")}), "action_listen");
  // Nothing matches: the core fallback, at the fallback threshold.
  const PolicyPrediction p = Predict({User("greet")});
  EXPECT_EQ(Next({User("greet")}), "action_default_fallback");
  EXPECT_DOUBLE_EQ(*std::max_element(p.probabilities.begin(), p.probabilities.end()), 0.3);
  EXPECT_EQ(p.priority, 6);
}

TEST_F(RulePolicyTest, ConversationStartRulesOnlyMatchTheStart) {
  Train("rules:\n- rule: welcome\n  conversation_start: true\n  steps:\n  - intent: greet\n  - action: utter_welcome\n");
  EXPECT_EQ(Next({User("greet")}), "utter_welcome");
  EXPECT_EQ(Next({User("bye"), Action("utter_bye"), User("greet")}), "action_default_fallback");
}

TEST_F(RulePolicyTest, SlotConditionsAndNullConditions) {
  Train("rules:\n"
        "- rule: vip\n  condition:\n  - slot_was_set:\n    - vip: true\n  steps:\n  - intent: greet\n"
        "  - action: utter_hi_vip\n"
        "- rule: not vip\n  condition:\n  - slot_was_set:\n    - vip: null\n  steps:\n  - intent: greet\n"
        "  - action: utter_greet\n");
  EXPECT_EQ(Next({Slot("vip", true), User("greet")}), "utter_hi_vip");
  EXPECT_EQ(Next({User("greet")}), "utter_greet");
  // A false bool is set (features [1, 0]): neither rule holds.
  EXPECT_EQ(Next({Slot("vip", false), User("greet")}), "action_default_fallback");
}

TEST_F(RulePolicyTest, ActiveLoopRunsUntilItRejectsThenUnhappyPathRulesApply) {
  Train("rules:\n"
        "- rule: activate\n  steps:\n  - intent: inform\n  - action: city_form\n  - active_loop: city_form\n"
        "- rule: chitchat in form\n  condition:\n  - active_loop: city_form\n  steps:\n  - intent: chitchat\n"
        "  - action: utter_chitchat\n  - action: city_form\n  - active_loop: city_form\n"
        "- rule: chitchat\n  steps:\n  - intent: chitchat\n  - action: utter_chitchat\n");
  const std::vector<data::StoryEvent> in_form = {User("inform"), Action("city_form"), Loop("city_form")};
  EXPECT_EQ(Next({User("inform")}), "city_form");
  EXPECT_EQ(Next(in_form), "action_listen");
  auto events = in_form;
  events.push_back(User("chitchat"));
  // Happy path: the loop runs, whatever the user said, and overrules others.
  EXPECT_EQ(Next(events), "city_form");
  EXPECT_TRUE(Predict(events).is_no_user_prediction);
  // It rejected: the rule for chitchat inside the form answers, then the form resumes.
  events.push_back(Rejected("city_form"));
  EXPECT_EQ(Next(events), "utter_chitchat");
  events.push_back(Action("utter_chitchat"));
  EXPECT_EQ(Next(events), "city_form");
}

TEST_F(RulePolicyTest, DefaultIntentsPredictDefaultActions) {
  Train("rules:\n- rule: bye\n  steps:\n  - intent: bye\n  - action: utter_bye\n");
  EXPECT_EQ(Next({User("greet"), Action("utter_greet"), User("restart")}), "action_restart");
}

TEST_F(RulePolicyTest, PersistsRuleOnlyData) {
  Train("stories:\n- story: s\n  steps:\n  - intent: greet\n  - action: utter_greet\n"
        "rules:\n- rule: vip\n  condition:\n  - slot_was_set:\n    - vip: true\n  steps:\n  - intent: bye\n"
        "  - action: utter_bye\n");
  std::ifstream in(storage_->ReadFrom("train_RulePolicy0") / "rule_only_data.json");
  const Json data = Json::parse(in);
  EXPECT_EQ(data["rule_only_slots"], Json({"vip"}));
  EXPECT_EQ(data["rule_only_loops"], Json::array());
}

TEST_F(RulePolicyTest, ContradictionBetweenRuleAndStoryIsReportedWithItsLine) {
  try {
    Train("stories:\n- story: hello story\n  steps:\n  - intent: greet\n  - action: utter_hello\n"
          "rules:\n- rule: greet rule\n  steps:\n  - intent: greet\n  - action: utter_greet\n");
    FAIL() << "no contradiction found";
  } catch (const util::InvalidDataError& e) {
    ASSERT_EQ(e.details().size(), 1u);
    const auto& d = e.details()[0];
    EXPECT_NE(d.message.find("the prediction of the action 'utter_hello' in story 'hello story' is contradicting "
                             "with rule(s) 'greet rule' which predicted action 'utter_greet'."),
              std::string::npos)
        << d.message;
    EXPECT_EQ(d.location.file, "data/rules.yml");
    EXPECT_EQ(d.location.line, 5);
  }
  // The check can be switched off.
  Train("stories:\n- story: hello story\n  steps:\n  - intent: greet\n  - action: utter_hello\n"
        "rules:\n- rule: greet rule\n  steps:\n  - intent: greet\n  - action: utter_greet\n",
        {{"check_for_contradictions", false}});
  EXPECT_EQ(Next({User("greet")}), "utter_greet");
}

TEST_F(RulePolicyTest, StoriesThatAgreeWithRulesTrain) {
  Train("stories:\n- story: s\n  steps:\n  - intent: greet\n  - action: utter_greet\n  - intent: bye\n"
        "  - action: utter_bye\n"
        "rules:\n- rule: bye\n  steps:\n  - intent: bye\n  - action: utter_bye\n");
  EXPECT_EQ(Next({User("bye")}), "utter_bye");
}

TEST_F(RulePolicyTest, RulesWithTwoUserMessagesAreRefusedUnlessAllowed) {
  const std::string yaml = "rules:\n- rule: machine\n  steps:\n  - intent: greet\n  - action: utter_greet\n"
                           "  - intent: bye\n  - action: utter_bye\n";
  try {
    Train(yaml);
    FAIL();
  } catch (const util::InvalidDataError& e) {
    EXPECT_NE(std::string(e.what()).find("Found rules 'machine' that contain more than 1 user message"),
              std::string::npos) << e.what();
    EXPECT_EQ(e.details().at(0).location.line, 6);
  }
  Train(yaml, {{"restrict_rules", false}});
  EXPECT_EQ(Next({User("greet"), Action("utter_greet"), User("bye")}), "utter_bye");
}

}  // namespace
}  // namespace trainyard::policy

namespace trainyard::policy {
namespace {

TEST_F(RulePolicyTest, RuleStartingWithABotActionInsideALoopAfterAnInterruption) {
  domain_["responses"]["utter_ask_continue"] = Json::array();
  domain_["responses"]["utter_great"] = Json::array();
  domain_["intents"].push_back("affirm");
  Train("rules:\n"
        "- rule: chitchat in form\n  condition:\n  - active_loop: city_form\n  steps:\n  - intent: chitchat\n"
        "  - action: utter_chitchat\n  - action: utter_ask_continue\n"
        "- rule: continue form\n  condition:\n  - active_loop: city_form\n  steps:\n  - action: utter_ask_continue\n"
        "  - intent: affirm\n  - action: utter_great\n  - action: city_form\n  - active_loop: null\n");
  std::vector<data::StoryEvent> events = {User("inform"), Action("city_form"), Loop("city_form"), User("chitchat"),
                                          Rejected("city_form")};
  EXPECT_EQ(Next(events), "utter_chitchat");
  // Each turn, then the prediction after it (the form still rejected).
  const std::vector<std::pair<data::StoryEvent, std::string>> turns = {{Action("utter_chitchat"), "utter_ask_continue"},
                                                                       {Action("utter_ask_continue"), "action_listen"},
                                                                       {User("affirm"), "utter_great"},
                                                                       {Action("utter_great"), "city_form"}};
  for (const auto& [turn, expected] : turns) {
    events.push_back(turn);
    events.push_back(Rejected("city_form"));
    EXPECT_EQ(Next(events), expected) << "after " << turn.name;
  }
}

}  // namespace
}  // namespace trainyard::policy

namespace trainyard::policy {
namespace {

TEST_F(RulePolicyTest, IncompleteRulesAreReportedWithTheMissingSlots) {
  domain_["actions"] = {"action_check_vip"};
  const std::string complete =
      "rules:\n"
      "- rule: check\n  steps:\n  - intent: greet\n  - action: action_check_vip\n  - slot_was_set:\n"
      "    - vip: true\n  - action: utter_hi_vip\n";
  try {
    Train(complete + "- rule: check again\n  steps:\n  - intent: inform\n  - action: action_check_vip\n"
                     "  - action: utter_hi_vip\n");
    FAIL() << "incomplete rule accepted";
  } catch (const util::InvalidDataError& e) {
    ASSERT_EQ(e.details().size(), 1u) << e.what();
    EXPECT_NE(e.details()[0].message.find("the action 'action_check_vip' in rule 'check again' does not set some of "
                                          "the slots that it sets in other rules. Slots not set in rule 'check "
                                          "again': 'vip'"),
              std::string::npos)
        << e.what();
    EXPECT_EQ(e.details()[0].location.line, 12);
  }
  // Ending the rule there (wait_for_user_input: false) makes it complete.
  Train(complete + "- rule: check again\n  steps:\n  - intent: inform\n  - action: action_check_vip\n"
                   "  wait_for_user_input: false\n");
  EXPECT_EQ(Next({User("inform")}), "action_check_vip");
}

}  // namespace
}  // namespace trainyard::policy
