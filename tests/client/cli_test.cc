#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <tuple>

#include "client/cli.h"
#include "trainyard/v1/training_service.pb.h"
#include "core/storage/archive.h"
#include "core/util/fs.h"
#include "core/util/sha256.h"
#include "tests/core/data/project_fixture.h"

namespace fs = std::filesystem;

namespace trainyard::client {
namespace {

struct Result {
  int code;
  std::string out, err;
};

Result RunTrainyard(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = RunCli(args, out, err);
  return {code, out.str(), err.str()};
}

std::vector<std::string> Args(const testing::TempDir& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"data", "validate", "--config", (dir.path() / "config.yml").string(),
                                   "--domain", (dir.path() / "domain.yml").string(), "--data",
                                   (dir.path() / "data").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(DataValidate, ValidProjectExitsZeroWithSummary) {
  testing::TempDir dir;
  data::WriteFixture(dir);
  const Result r = RunTrainyard(Args(dir));
  EXPECT_EQ(r.code, kExitOk) << r.out << r.err;
  EXPECT_NE(r.out.find("examples:       6"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stories:        1"), std::string::npos);
  EXPECT_NE(r.out.find("rules:          1"), std::string::npos);
  EXPECT_NE(r.out.find("training type:  BOTH"), std::string::npos);
}

TEST(DataValidate, WarningsFailOnlyWithFailOnWarnings) {
  testing::TempDir dir;
  data::WriteFixture(dir, data::kFixtureNlu,
                     "stories:\n- story: s\n  steps:\n  - intent: greet\n  - action: utter_greet\n");
  const Result lax = RunTrainyard(Args(dir));
  EXPECT_EQ(lax.code, kExitOk);
  EXPECT_NE(lax.out.find("warning: The intent 'goodbye' is not used in any story or rule."), std::string::npos)
      << lax.out;
  EXPECT_NE(lax.out.find("domain.yml:2"), std::string::npos) << lax.out;
  const Result strict = RunTrainyard(Args(dir, {"--fail-on-warnings"}));
  EXPECT_EQ(strict.code, kExitFailure);
  EXPECT_NE(strict.out.find("Project validation completed with errors"), std::string::npos);
}

TEST(DataValidate, ErrorsExitOneWithFileAndLine) {
  testing::TempDir dir;
  data::WriteFixture(dir);
  dir.Write("data/bad.yml", "stories:\n- story: s\n  steps:\n  - intnt: greet\n");
  const Result r = RunTrainyard(Args(dir));
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_NE(r.out.find("bad.yml:4:5: error: Unknown step kind 'intnt'"), std::string::npos) << r.out;
}

TEST(DataValidate, MissingDomainIsAnEmptyDomainError) {
  testing::TempDir dir;
  data::WriteFixture(dir);
  std::vector<std::string> args = Args(dir);
  args[5] = (dir.path() / "nope.yml").string();
  const Result r = RunTrainyard(args);
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_NE(r.out.find("Encountered empty domain during validation."), std::string::npos) << r.out;
}

TEST(DataValidate, StoryConflictsNameTheTurnStoriesAndActions) {
  testing::TempDir dir;
  // After greet, "a" and "b" continue differently only if their openings are forgotten.
  data::WriteFixture(dir, data::kFixtureNlu,
                     "stories:\n"
                     "- story: a\n  steps:\n  - intent: mood_great\n  - action: utter_greet\n"
                     "  - intent: greet\n  - action: utter_greet\n"
                     "- story: b\n  steps:\n  - intent: goodbye\n  - action: utter_greet\n"
                     "  - intent: greet\n  - action: utter_goodbye\n");
  const Result whole = RunTrainyard(Args(dir));
  EXPECT_EQ(whole.out.find("Story structure conflict"), std::string::npos) << whole.out;
  const Result short_history = RunTrainyard(Args(dir, {"--max-history", "1"}));
  EXPECT_EQ(short_history.code, kExitFailure);
  EXPECT_NE(short_history.out.find("stories.yml:13:5: error: Story structure conflict after intent 'greet':\n"
                                   "  utter_goodbye predicted in 'b'\n  utter_greet predicted in 'a'"),
            std::string::npos)
      << short_history.out;
  EXPECT_EQ(RunTrainyard(Args(dir, {"--max-history", "0"})).code, kExitUsage);
  EXPECT_EQ(RunTrainyard(Args(dir, {"--max-history", "x"})).code, kExitUsage);
}

TEST(DataValidate, UsageErrorsExitTwo) {
  EXPECT_EQ(RunTrainyard({"data", "validate", "--bogus"}).code, kExitUsage);
  EXPECT_EQ(RunTrainyard({"data", "validate", "--config"}).code, kExitUsage);
  EXPECT_EQ(RunTrainyard({"frobnicate"}).code, kExitUsage);
  EXPECT_EQ(RunTrainyard({"data", "validate", "--help"}).code, kExitOk);
}

}  // namespace
}  // namespace trainyard::client

namespace trainyard::client {
namespace {

TEST(TrainAndParse, TrainWritesAModelThatParseUses) {
  testing::TempDir dir;
  data::WriteFixture(dir);
  dir.Write("config.yml", "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
                          "  - name: KeywordIntentClassifier\npolicies: []\n");
  ::setenv("TRAINYARD_CACHE_DIR", (dir.path() / "cache").c_str(), 1);
  const std::string p = dir.path().string();
  const std::vector<std::string> common = {"--config", p + "/config.yml", "--domain", p + "/domain.yml",
                                           "--data", p + "/data", "--out", p + "/models"};
  std::vector<std::string> train = {"train", "--fixed-model-name", "m"};
  train.insert(train.end(), common.begin(), common.end());
  const Result trained = RunTrainyard(train);
  EXPECT_EQ(trained.code, kExitOk) << trained.out << trained.err;
  EXPECT_NE(trained.out.find("Finished training component 'KeywordIntentClassifier'."), std::string::npos) << trained.out;
  const Result parsed = RunTrainyard({"parse", "--model", p + "/models", "see you"});
  EXPECT_EQ(parsed.code, kExitOk) << parsed.err;
  EXPECT_NE(parsed.out.find("\"name\":\"goodbye\""), std::string::npos) << parsed.out;

  std::vector<std::string> dry = {"train", "--dry-run"};
  dry.insert(dry.end(), common.begin(), common.end());
  EXPECT_EQ(RunTrainyard(dry).code, 0);  // exit status = result code
  dry.push_back("--force");
  EXPECT_EQ(RunTrainyard(dry).code, 8);
  ::unsetenv("TRAINYARD_CACHE_DIR");
}

// As `rasa train`: the archive's project_fingerprint is the hash of what `git remote
// get-url origin` prints in the checkout the command runs in (read from .git/config, git not run).
TEST(TrainAndParse, TrainFingerprintsTheCheckoutItRunsIn) {
  testing::TempDir dir;
  data::WriteFixture(dir);
  dir.Write("config.yml", "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
                          "  - name: KeywordIntentClassifier\npolicies: []\n");
  dir.Write(".git/config", "[remote \"origin\"]\n\turl = https://example.com/team/bot.git\n");
  ::setenv("TRAINYARD_CACHE_DIR", (dir.path() / "cache").c_str(), 1);
  const fs::path before = fs::current_path();
  fs::current_path(dir.path() / "data");  // a folder inside the checkout
  const Result trained = RunTrainyard({"train", "--config", "../config.yml", "--domain", "../domain.yml", "--data",
                                       ".", "--out", "../models", "--fixed-model-name", "m"});
  fs::current_path(before);
  ::unsetenv("TRAINYARD_CACHE_DIR");
  ASSERT_EQ(trained.code, kExitOk) << trained.out << trained.err;
  EXPECT_EQ(storage::ReadArchiveMetadata(dir.path() / "models" / "m.tar.gz").project_fingerprint,
            util::Sha256Hex("https://example.com/team/bot.git\n"));  // git's output, as Rasa hashes it
}

TEST(TrainAndParse, MissingConfigAndBadModelsFail) {
  EXPECT_EQ(RunTrainyard({"train", "--config", "/nonexistent/config.yml"}).code, kExitFailure);
  const Result r = RunTrainyard({"parse", "--model", "/nonexistent/models", "hi"});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_NE(r.err.find("No model found"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace trainyard::client

namespace trainyard::client {
namespace {

// Numeric options name themselves when their value is no number or out of range (--threads -1 once
// asked for 2^64 - 1 runner threads; --epoch-fraction 0 finetuned for no epoch).
TEST(TrainAndParse, NumericOptionsOutOfRangeAreUsageErrorsNamingTheOption) {
  for (const auto& [option, value, expected] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--threads", "-1", "--threads must be a whole number of at least 1, not '-1'"},
           {"--num-threads", "0", "--num-threads must be a whole number of at least 1, not '0'"},
           {"--augmentation", "2.5", "--augmentation must be a whole number of at least 0, not '2.5'"},
           {"--epoch-fraction", "0", "--epoch-fraction must be a number above 0, not '0'"},
           {"--epoch-fraction", "1x", "--epoch-fraction must be a number above 0, not '1x'"}}) {
    const Result r = RunTrainyard({"train", "--config", "/nonexistent/config.yml", option, value});
    EXPECT_EQ(r.code, kExitUsage) << option << " " << value;
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
  }
  const Result runs = RunTrainyard({"train", "core", "-c", "a.yml", "b.yml", "--percentages", "0", "150"});
  EXPECT_EQ(runs.code, kExitUsage);
  EXPECT_NE(runs.err.find("--percentages must be a number of at least 0 and at most 100, not '150'"),
            std::string::npos)
      << runs.err;
}

TEST(TrainAndParse, ConfigChecksOfRasaTrain) {
  testing::TempDir dir;
  data::WriteFixture(dir);
  ::setenv("TRAINYARD_CACHE_DIR", (dir.path() / "cache").c_str(), 1);
  const std::string p = dir.path().string();
  dir.Write("config.yml", "pipeline:\n  - name: WhitespaceTokenizer\n  - name: KeywordIntentClassifier\npolicies: []\n");
  const std::vector<std::string> args = {"train", "--config", p + "/config.yml", "--domain", p + "/domain.yml",
                                         "--data", p + "/data", "--out", p + "/models"};
  const Result no_language = RunTrainyard(args);
  EXPECT_EQ(no_language.code, kExitFailure);
  EXPECT_NE(no_language.err.find("is missing mandatory parameters: 'language'."), std::string::npos) << no_language.err;
  dir.Write("config.yml", "language: en\nassistant_id: placeholder_default\npipeline:\n  - name: WhitespaceTokenizer\n"
                          "  - name: KeywordIntentClassifier\npolicies: []\n");
  const Result placeholder = RunTrainyard(args);
  EXPECT_EQ(placeholder.code, kExitOk) << placeholder.err;
  EXPECT_NE(placeholder.err.find("missing a unique value for the 'assistant_id'"), std::string::npos);
  EXPECT_EQ(util::ReadFile(dir.path() / "config.yml").find("placeholder_default"), std::string::npos);
  ::unsetenv("TRAINYARD_CACHE_DIR");
}

}  // namespace
}  // namespace trainyard::client

namespace trainyard::client {
namespace {

TEST(TrainAndParse, ValidationBeforeTrainingAsRasaTrainDoes) {
  testing::TempDir dir;
  data::WriteFixture(dir, data::kFixtureNlu,
                     "stories:\n- story: s\n  steps:\n  - intent: greet\n  - action: utter_greet\n");
  dir.Write("config.yml", "language: en\nassistant_id: x\npipeline:\n  - name: WhitespaceTokenizer\n"
                          "  - name: KeywordIntentClassifier\npolicies:\n  - name: MemoizationPolicy\n");
  ::setenv("TRAINYARD_CACHE_DIR", (dir.path() / "cache").c_str(), 1);
  const std::string p = dir.path().string();
  auto args = [&](const std::string& domain, std::vector<std::string> extra) {
    std::vector<std::string> a = {"train", "--config", p + "/config.yml", "--domain", domain,
                                  "--data", p + "/data", "--out", p + "/models"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const Result strict = RunTrainyard(args(p + "/domain.yml", {"--fail-on-validation-warnings"}));
  EXPECT_EQ(strict.code, kExitFailure);
  EXPECT_NE(strict.err.find("The intent 'goodbye' is not used in any story or rule."), std::string::npos);
  EXPECT_NE(strict.err.find("Project validation completed with errors."), std::string::npos);
  EXPECT_EQ(RunTrainyard(args(p + "/domain.yml", {})).code, kExitOk);  // warnings alone do not stop training

  const Result no_domain = RunTrainyard(args(p + "/missing.yml", {}));
  EXPECT_EQ(no_domain.code, kExitFailure);
  EXPECT_NE(no_domain.err.find("Encountered empty domain during validation."), std::string::npos) << no_domain.err;
  const Result skipped = RunTrainyard(args(p + "/missing.yml", {"--skip-validation", "--fixed-model-name", "nlu_only"}));
  EXPECT_EQ(skipped.code, kExitOk) << skipped.err;
  EXPECT_NE(skipped.out.find("Core training was skipped"), std::string::npos) << skipped.out;
  ::unsetenv("TRAINYARD_CACHE_DIR");
}

}  // namespace
}  // namespace trainyard::client

namespace trainyard::client {
namespace {

TEST(TrainAndParse, CoreCompareModeTrainsEveryConfigPercentageAndRun) {
  testing::TempDir dir;
  data::WriteFixture(dir);
  ::setenv("TRAINYARD_CACHE_DIR", (dir.path() / "cache").c_str(), 1);
  const std::string p = dir.path().string();
  dir.Write("config.yml", "language: en\npolicies:\n  - name: MemoizationPolicy\n");
  dir.Write("other.yml", "language: en\npolicies:\n  - name: AugmentedMemoizationPolicy\n");
  const Result r = RunTrainyard({"train", "core", "-c", p + "/config.yml", p + "/other.yml", "--domain",
                                 p + "/domain.yml", "--stories", p + "/data", "--out", p + "/compare",
                                 "--percentages", "50", "100", "--runs", "2"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  for (const char* run : {"run_1", "run_2"})
    for (const char* model : {"config__percentage__50.tar.gz", "config__percentage__100.tar.gz",
                              "other__percentage__50.tar.gz", "other__percentage__100.tar.gz"})
      EXPECT_TRUE(std::filesystem::exists(dir.path() / "compare" / run / model)) << run << "/" << model;
  // The fixture has one story and one rule: 50 % keeps one step, 100 % (as in Rasa) keeps both.
  EXPECT_EQ(util::ReadFile(dir.path() / "compare" / "num_stories.json"), "[1,2]\n");
  ::unsetenv("TRAINYARD_CACHE_DIR");
}

// Every event of `trainyard watch` is a line with words after its sequence
// number: the telemetry events printed as empty lines before.
TEST(Watch, EveryEventRendersAsALineOfItsOwn) {
  v1::JobEvent telemetry;
  telemetry.set_sequence(3);
  telemetry.mutable_telemetry()->set_cpu_percent(35.7);
  telemetry.mutable_telemetry()->set_rss_bytes(376ull << 20);
  telemetry.mutable_telemetry()->set_gpu_memory_bytes(615ull << 20);
  telemetry.mutable_telemetry()->set_device("cuda:0");
  std::ostringstream out;
  RenderJobEvent(telemetry, out);
  EXPECT_EQ(out.str(), "[   3] telemetry: cuda:0, cpu 36 %, RSS 376 MiB, GPU memory 615 MiB\n");

  // A finished node's two decimals do not leak into the next line's metrics,
  // which come in name order whatever the map's order.
  v1::JobEvent finished, progress;
  finished.set_sequence(4);
  finished.mutable_node_finished()->set_component("DIETClassifier");
  finished.mutable_node_finished()->set_seconds(3.14159);
  progress.set_sequence(5);
  auto* p = progress.mutable_progress();
  p->set_node("train_DIETClassifier5");
  p->set_epoch(5);
  p->set_total(10);
  (*p->mutable_metrics())["t_loss"] = 0.0912345;
  (*p->mutable_metrics())["i_acc"] = 1.0;
  (*p->mutable_metrics())["e_loss"] = 2.5;
  out.str("");
  RenderJobEvent(finished, out);
  RenderJobEvent(progress, out);
  EXPECT_EQ(out.str(), "[   4] finished DIETClassifier in 3.14 s\n"
                       "[   5] train_DIETClassifier5 [##########..........] 5/10 e_loss=2.5 i_acc=1 t_loss=0.0912\n");

  v1::JobEvent heartbeat;
  heartbeat.set_heartbeat(true);
  out.str("");
  RenderJobEvent(heartbeat, out);
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace trainyard::client
