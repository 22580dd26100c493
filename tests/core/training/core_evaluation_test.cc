// `trainyard test core` end to end: a keyword NLU model with memoization and
// rules, one test story that passes and one that fails.

#include "core/training/core_evaluation.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "client/cli.h"
#include "core/training/train.h"
#include "core/training/model.h"
#include "core/util/fs.h"
#include "tests/core/data/project_fixture.h"
#include "tests/support/story_events.h"
#include "tests/support/test_helpers.h"

namespace fs = std::filesystem;

namespace trainyard::training {
namespace {

constexpr const char* kTestStories = R"(version: "3.1"
stories:
- story: greet and leave
  steps:
  - user: |
      hi
    intent: greet
  - action: utter_greet
  - intent: goodbye
  - action: utter_goodbye
- story: wrong turn
  steps:
  - user: |
      hello
    intent: goodbye
  - action: utter_greet
)";

class TestCoreCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data::WriteFixture(dir_);
    dir_.Write("config.yml", "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
                             "  - name: KeywordIntentClassifier\npolicies:\n  - name: MemoizationPolicy\n"
                             "  - name: RulePolicy\n");
    dir_.Write("tests/test_stories.yml", kTestStories);
    ::setenv("TRAINYARD_CACHE_DIR", (dir_.path() / "cache").c_str(), 1);
    TrainOptions o;
    o.config = dir_.path() / "config.yml";
    o.domain = dir_.path() / "domain.yml";
    o.training_files = {dir_.path() / "data"};
    o.output = dir_.path() / "models";
    o.fixed_model_name = "m";
    ASSERT_TRUE(Train(o).model);
  }
  void TearDown() override { ::unsetenv("TRAINYARD_CACHE_DIR"); }

  int Run(std::vector<std::string> extra, std::ostringstream& out, std::ostringstream& err) {
    std::vector<std::string> args = {"test", "core", "-m", (dir_.path() / "models" / "m.tar.gz").string(),
                                     "--stories", (dir_.path() / "tests").string(), "--out",
                                     (dir_.path() / "results").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return client::RunCli(args, out, err);
  }

  testing::TempDir dir_;
};

TEST_F(TestCoreCommandTest, ReportsStoriesActionsAndTheFailedTurns) {
  std::ostringstream out, err;
  ASSERT_EQ(Run({}, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("1 of 2 stories correct"), std::string::npos) << out.str();
  // Story 1: utter_greet, listen, utter_goodbye (a rule), listen; story 2: utter_greet (wrong), listen (wrong).
  EXPECT_NE(out.str().find("4 of 6 actions correct"), std::string::npos) << out.str();
  std::ifstream report_file(dir_.path() / "results" / "story_report.json");
  const auto report = nlohmann::json::parse(report_file);
  EXPECT_EQ(report["conversation_accuracy"]["total"], 2);
  EXPECT_EQ(report["conversation_accuracy"]["correct"], 1);
  EXPECT_DOUBLE_EQ(report["conversation_accuracy"]["accuracy"].get<double>(), 0.5);
  EXPECT_EQ(report["utter_greet"]["support"], 2);
  EXPECT_DOUBLE_EQ(report["utter_greet"]["recall"].get<double>(), 0.5);
  EXPECT_EQ(report["utter_greet"]["confused_with"]["utter_goodbye"], 1);
  EXPECT_NEAR(report["accuracy"].get<double>(), 4.0 / 6, 1e-9);
  const std::string failed = util::ReadFile(dir_.path() / "results" / "failed_test_stories.yml");
  EXPECT_NE(failed.find("- story: \"wrong turn ("), std::string::npos) << failed;
  EXPECT_EQ(failed.find("greet and leave"), std::string::npos) << failed;
  // The keyword NLU reads "hello" as greet, not the labelled goodbye; the rule for goodbye answers.
  EXPECT_NE(failed.find("- intent: goodbye  # predicted: greet: hello"), std::string::npos) << failed;
  EXPECT_NE(failed.find("- action: utter_greet  # predicted: utter_goodbye"), std::string::npos) << failed;
  EXPECT_NE(util::ReadFile(dir_.path() / "results" / "stories_with_warnings.yml").find("None"), std::string::npos);

  std::ostringstream out2, err2;
  EXPECT_EQ(Run({"--fail-on-prediction-errors"}, out2, err2), 1);
}

TEST_F(TestCoreCommandTest, MissingStoriesAreAnErrorNamingThePath) {
  std::ostringstream out, err;
  const int code = client::RunCli({"test", "core", "-m", (dir_.path() / "models" / "m.tar.gz").string(), "--stories",
                                   (dir_.path() / "nowhere").string()},
                                  out, err);
  EXPECT_NE(code, 0);
  EXPECT_NE(err.str().find("nowhere"), std::string::npos) << err.str();
}

TEST_F(TestCoreCommandTest, BareTestRunsBothParts) {
  dir_.Write("nlu_test/nlu.yml", "version: \"3.1\"\nnlu:\n- intent: greet\n  examples: |\n    - hi there\n");
  std::ostringstream out, err;
  ASSERT_EQ(client::RunCli({"test", "-m", (dir_.path() / "models" / "m.tar.gz").string(), "--stories",
                            (dir_.path() / "tests").string(), "--nlu", (dir_.path() / "nlu_test").string(), "--out",
                            (dir_.path() / "both").string()},
                           out, err),
            0)
      << err.str();
  EXPECT_TRUE(fs::exists(dir_.path() / "both" / "story_report.json"));
  EXPECT_TRUE(fs::exists(dir_.path() / "both" / "intent_report.json"));
}

// A rule that no story has: the story policies look past its turns (Rasa's
// hide_rule_turn), so that a story which starts after it is still recalled.
TEST(RuleTurns, StoryPoliciesLookPastTurnsOfRulesNoStoryHas) {
  testing::TempDir dir;
  dir.Write("domain.yml", "version: \"3.1\"\nintents: [greet, chitchat]\nresponses:\n  utter_greet: [{text: hi}]\n"
                          "  utter_chitchat: [{text: fun}]\n");
  dir.Write("data/rules.yml", "version: \"3.1\"\nrules:\n- rule: greet\n  steps:\n  - intent: greet\n"
                              "  - action: utter_greet\n");
  dir.Write("data/stories.yml", "version: \"3.1\"\nstories:\n- story: chitchat\n  steps:\n  - intent: chitchat\n"
                                "  - action: utter_chitchat\n");
  dir.Write("config.yml", "recipe: default.v1\nlanguage: en\npolicies:\n  - name: MemoizationPolicy\n"
                          "  - name: RulePolicy\n");
  ::setenv("TRAINYARD_CACHE_DIR", (dir.path() / "cache").c_str(), 1);
  const TrainingResult r = TrainCore(trainyard::testing::ProjectTrainOptions(dir.path(), "config", "m"));
  ::unsetenv("TRAINYARD_CACHE_DIR");
  ASSERT_TRUE(r.model.has_value());
  const auto model = Model::Load(*r.model);
  using namespace trainyard::testing::events;
  const auto greeted = model->PredictNextAction({User("greet")});
  EXPECT_EQ(greeted["action"], "utter_greet");
  EXPECT_EQ(greeted["hide_rule_turn"], true);
  data::StoryEvent utter = Action("utter_greet"), listen = Action("action_listen");
  utter.hide_rule_turn = true;
  const auto listened = model->PredictNextAction({User("greet"), utter});
  EXPECT_EQ(listened["action"], "action_listen");
  EXPECT_EQ(listened["hide_rule_turn"], true);
  listen.hide_rule_turn = true;
  const auto p = model->PredictNextAction({User("greet"), utter, listen, User("chitchat")});
  EXPECT_EQ(p["action"], "utter_chitchat") << p.dump();
  EXPECT_NE(p["policy"].get<std::string>().find("MemoizationPolicy"), std::string::npos) << p.dump();
  EXPECT_EQ(p["hide_rule_turn"], false);
  // Unflagged, the greeting stays in memoization's history, and no story has that.
  const auto q = model->PredictNextAction({User("greet"), Action("utter_greet"), Action("action_listen"), User("chitchat")});
  EXPECT_NE(q["action"], "utter_chitchat") << q.dump();
}

}  // namespace
}  // namespace trainyard::training
