// NLU evaluation: the report arithmetic against hand-computed values, and
// `trainyard test nlu` end to end on a keyword model.

#include "core/training/nlu_evaluation.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "client/cli.h"
#include "core/training/train.h"
#include "core/util/errors.h"
#include "tests/core/data/project_fixture.h"

namespace fs = std::filesystem;

namespace trainyard::training {
namespace {

TEST(ClassificationReportTest, MatchesHandComputedScores) {
  // gold:      a a a b b c
  // predicted: a a b b c c
  const auto r = ClassificationReport({"a", "a", "a", "b", "b", "c"}, {"a", "a", "b", "b", "c", "c"});
  EXPECT_DOUBLE_EQ(r["a"]["precision"], 1.0);
  EXPECT_DOUBLE_EQ(r["a"]["recall"], 2.0 / 3);
  EXPECT_DOUBLE_EQ(r["a"]["f1-score"], 0.8);
  EXPECT_EQ(r["a"]["support"], 3);
  EXPECT_DOUBLE_EQ(r["b"]["precision"], 0.5);
  EXPECT_DOUBLE_EQ(r["c"]["recall"], 1.0);
  EXPECT_DOUBLE_EQ(r["accuracy"], 4.0 / 6);
  EXPECT_NEAR(r["macro avg"]["f1-score"].get<double>(), (0.8 + 0.5 + 2.0 / 3) / 3, 1e-12);
  EXPECT_NEAR(r["weighted avg"]["recall"].get<double>(), 4.0 / 6, 1e-12);
  EXPECT_DOUBLE_EQ(r["micro avg"]["f1-score"], 4.0 / 6);
  // Excluding a label (no_entity for token reports): its row goes, the micro average leaves it
  // out, and accuracy still counts every token.
  const auto t = ClassificationReport({"x", "O", "O", "x"}, {"x", "x", "O", "O"}, {"O"});
  EXPECT_FALSE(t.contains("O"));
  EXPECT_DOUBLE_EQ(t["accuracy"], 0.5);
  EXPECT_DOUBLE_EQ(t["micro avg"]["precision"], 0.5);
  EXPECT_DOUBLE_EQ(t["micro avg"]["recall"], 0.5);
  EXPECT_EQ(t["micro avg"]["support"], 2);
}

TEST(ClassificationReportTest, ScoresOnlyTheGoldLabelsAsRasaDoes) {
  // "d" is predicted but never gold: no row, no place in the averages, and its prediction lowers
  // no label's precision (sklearn's report with labels= the gold ones).
  const auto r = ClassificationReport({"a", "b", "a"}, {"a", "d", "b"});
  EXPECT_FALSE(r.contains("d"));
  EXPECT_DOUBLE_EQ(r["b"]["precision"], 0.0);
  EXPECT_DOUBLE_EQ(r["accuracy"], 1.0 / 3);
  EXPECT_DOUBLE_EQ(r["micro avg"]["precision"], 0.5);
  EXPECT_DOUBLE_EQ(r["micro avg"]["recall"], 1.0 / 3);
  EXPECT_NEAR(r["macro avg"]["f1-score"].get<double>(), (2.0 / 3 + 0.0) / 2, 1e-12);
  EXPECT_NEAR(r["weighted avg"]["f1-score"].get<double>(), (2 * 2.0 / 3 + 0.0) / 3, 1e-12);
}

// Trains the NLU model of the project in `dir` (config.yml, domain.yml,
// data/) as models/m.tar.gz, with its cache in the project.
void TrainModel(const testing::TempDir& dir) {
  ::setenv("TRAINYARD_CACHE_DIR", (dir.path() / "cache").c_str(), 1);
  TrainOptions o;
  o.config = dir.path() / "config.yml";
  o.domain = dir.path() / "domain.yml";
  o.training_files = {dir.path() / "data"};
  o.output = dir.path() / "models";
  o.fixed_model_name = "m";
  ASSERT_TRUE(TrainNlu(o).model);
}

// `trainyard test nlu --cross-validation --folds 2` of the project in `dir`
// (config.yml, data/nlu.yml), reports into dir/cv; returns the exit code.
int CrossValidateInTwoFolds(const testing::TempDir& dir, std::ostream& out, std::ostream& err) {
  return client::RunCli(
      {"test", "nlu", "--cross-validation", "-c", (dir.path() / "config.yml").string(), "-u",
       (dir.path() / "data" / "nlu.yml").string(), "--folds", "2", "--out",
       (dir.path() / "cv").string()},
      out, err);
}

TEST(TestNluCommandTest, WritesRasaReportsAndOnePredictionPerExample) {
  testing::TempDir dir;
  data::WriteFixture(dir);
  dir.Write("config.yml",
            "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
            "  - name: KeywordIntentClassifier\npolicies: []\n");
  ASSERT_NO_FATAL_FAILURE(TrainModel(dir));
  dir.Write("test/nlu.yml", "version: \"3.1\"\nnlu:\n- intent: greet\n  examples: |\n    - hi there\n"
                            "    - good evening\n- intent: goodbye\n  examples: |\n    - ok bye\n");
  std::ostringstream out, err;
  const int code = client::RunCli({"test", "nlu", "-m", (dir.path() / "models" / "m.tar.gz").string(), "--nlu",
                                   (dir.path() / "test").string(), "--out", (dir.path() / "results").string()},
                                  out, err);
  ASSERT_EQ(code, 0) << err.str();
  EXPECT_NE(out.str().find("accuracy 0.6667"), std::string::npos) << out.str();
  std::ifstream report(dir.path() / "results" / "intent_report.json");
  const auto json = nlohmann::json::parse(report);
  EXPECT_NEAR(json["accuracy"].get<double>(), 2.0 / 3, 1e-9);
  EXPECT_EQ(json["greet"]["support"], 2);
  EXPECT_EQ(json["greet"]["confused_with"]["None"], 1);
  std::ifstream errors(dir.path() / "results" / "intent_errors.json");
  const auto errors_json = nlohmann::json::parse(errors);
  ASSERT_EQ(errors_json.size(), 1u);
  EXPECT_EQ(errors_json[0]["text"], "good evening");
  std::ifstream lines(dir.path() / "results" / "nlu_predictions.jsonl");
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    const auto p = nlohmann::json::parse(line);
    EXPECT_TRUE(p.contains("predicted_entities"));
    ++n;
  }
  EXPECT_EQ(n, 3);

  // Cross-validation trains per fold and pools the folds' predictions.
  std::ostringstream cv_out, cv_err;
  ASSERT_EQ(CrossValidateInTwoFolds(dir, cv_out, cv_err), 0) << cv_err.str();
  EXPECT_NE(cv_out.str().find("fold 2/2"), std::string::npos) << cv_out.str();
  EXPECT_EQ(cv_err.str().find("warning"), std::string::npos) << cv_err.str();  // each intent in every fold
  std::ifstream cv_lines(dir.path() / "cv" / "nlu_predictions.jsonl");
  int cv_n = 0;
  while (std::getline(cv_lines, line)) ++cv_n;
  EXPECT_EQ(cv_n, 6);  // every example tested once
  std::ifstream cv_report(dir.path() / "cv" / "intent_report.json");
  EXPECT_TRUE(nlohmann::json::parse(cv_report).contains("accuracy"));

  // More folds than the largest intent has examples: refused, as scikit-learn's stratified folds refuse
  // them (with more folds than examples it trained one empty fold after another); "2x" is no number.
  for (const std::string folds : {"3", "2x"}) {
    std::ostringstream o3, e3;
    EXPECT_EQ(client::RunCli({"test", "nlu", "--cross-validation", "-c", (dir.path() / "config.yml").string(), "-u",
                              (dir.path() / "data" / "nlu.yml").string(), "--folds", folds, "--out",
                              (dir.path() / "cv3").string()},
                             o3, e3),
              folds == "3" ? 1 : 2)
        << e3.str();
    if (folds == "3") {
      EXPECT_NE(e3.str().find("3 folds are more than any intent has examples (the most are 2"), std::string::npos)
          << e3.str();
    }
  }
  EXPECT_FALSE(fs::exists(dir.path() / "cv3"));
  // An intent with fewer examples than folds is tested in fewer folds: said, and run.
  dir.Write("uneven.yml", "version: \"3.1\"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n    - hello\n"
                          "    - hey\n- intent: goodbye\n  examples: |\n    - bye\n");
  std::ostringstream o4, e4;
  EXPECT_EQ(client::RunCli({"test", "nlu", "--cross-validation", "-c", (dir.path() / "config.yml").string(), "-u",
                            (dir.path() / "uneven.yml").string(), "--folds", "3", "--out", (dir.path() / "cv4").string()},
                           o4, e4),
            0)
      << e4.str();
  EXPECT_NE(e4.str().find("warning: intent 'goodbye' has 1 example, fewer than the 3 folds: 2 of them test none of it."),
            std::string::npos)
      << e4.str();
  EXPECT_EQ(e4.str().find("'greet'"), std::string::npos) << e4.str();

  // Missing test data is an error naming the path, not a crash.
  std::ostringstream out2, err2;
  EXPECT_EQ(client::RunCli({"test", "nlu", "-m", (dir.path() / "models").string(), "--nlu",
                            (dir.path() / "nope.yml").string()},
                           out2, err2),
            1);
  EXPECT_NE(err2.str().find("nope.yml"), std::string::npos) << err2.str();
  ::unsetenv("TRAINYARD_CACHE_DIR");
}

// Rasa's lists of an extractor's wrong and right predictions
// (<Extractor>_errors.json by default, _successes.json with --successes, no
// errors with --no-errors), and cross-validation's entity reports over all
// folds. A lookup table makes the extractor's answers known in advance.
TEST(TestNluCommandTest, WritesEntityErrorsAndSuccessesAndCrossValidatesEntities) {
  testing::TempDir dir;
  dir.Write("domain.yml", "version: \"3.1\"\nintents: [fly, greet]\nentities: [city]\n");
  dir.Write("data/nlu.yml",
            "version: \"3.1\"\nnlu:\n- intent: fly\n  examples: |\n    - fly to [berlin](city)\n"
            "    - fly to [paris](city)\n    - fly home\n    - fly to [oslo](city)\n"
            "- intent: greet\n  examples: |\n    - hello\n    - hello there\n    - hello friend\n"
            "    - hello you\n- lookup: city\n  examples: |\n    - berlin\n    - paris\n");
  dir.Write("config.yml",
            "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
            "  - name: RegexEntityExtractor\n  - name: KeywordIntentClassifier\npolicies: []\n");
  ASSERT_NO_FATAL_FAILURE(TrainModel(dir));
  auto read = [](const fs::path& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
  };
  auto test = [&](const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> args = {"test",  "nlu",
                                     "-m",    (dir.path() / "models" / "m.tar.gz").string(),
                                     "--nlu", (dir.path() / "data" / "nlu.yml").string(),
                                     "--out", (dir.path() / out).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    std::ostringstream cout, cerr;
    EXPECT_EQ(client::RunCli(args, cout, cerr), 0) << cerr.str();
  };
  test("plain", {});
  // "oslo" is in no lookup table: the one example the extractor gets wrong.
  const auto errors = read(dir.path() / "plain" / "RegexEntityExtractor_errors.json");
  ASSERT_EQ(errors.size(), 1u) << errors.dump();
  EXPECT_EQ(errors[0]["text"], "fly to oslo");
  EXPECT_EQ(errors[0]["entities"][0]["value"], "oslo");
  EXPECT_EQ(errors[0]["predicted_entities"].size(), 0u);
  EXPECT_FALSE(fs::exists(dir.path() / "plain" / "RegexEntityExtractor_successes.json"));
  EXPECT_FALSE(fs::exists(dir.path() / "plain" / "intent_successes.json"));

  test("both", {"--successes"});
  const auto successes = read(dir.path() / "both" / "RegexEntityExtractor_successes.json");
  ASSERT_EQ(successes.size(), 2u) << successes.dump();
  EXPECT_EQ(successes[0]["text"], "fly to berlin");
  EXPECT_EQ(successes[0]["predicted_entities"][0]["extractor"], "RegexEntityExtractor");
  EXPECT_EQ(read(dir.path() / "both" / "intent_successes.json").size(), 8u);
  EXPECT_TRUE(fs::exists(dir.path() / "both" / "RegexEntityExtractor_errors.json"));

  test("none", {"--no-errors"});
  EXPECT_FALSE(fs::exists(dir.path() / "none" / "RegexEntityExtractor_errors.json"));
  EXPECT_FALSE(fs::exists(dir.path() / "none" / "intent_errors.json"));
  EXPECT_TRUE(fs::exists(dir.path() / "none" / "RegexEntityExtractor_report.json"));

  // Cross-validation: the entity reports and lists of all folds' predictions.
  std::ostringstream cv_out, cv_err;
  ASSERT_EQ(CrossValidateInTwoFolds(dir, cv_out, cv_err), 0) << cv_err.str();
  const auto report = read(dir.path() / "cv" / "RegexEntityExtractor_report.json");
  EXPECT_EQ(report["city"]["support"], 3) << report.dump();
  EXPECT_NEAR(report["city"]["recall"].get<double>(), 2.0 / 3, 1e-9) << report.dump();
  EXPECT_EQ(read(dir.path() / "cv" / "RegexEntityExtractor_errors.json").size(), 1u);
  EXPECT_EQ(read(dir.path() / "cv" /
                 "entity_span_report.json")["RegexEntityExtractor"]["micro avg"]["support"],
            3);
  ::unsetenv("TRAINYARD_CACHE_DIR");
}

}  // namespace
}  // namespace trainyard::training
