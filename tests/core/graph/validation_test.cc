#include "core/graph/validation.h"

#include <gtest/gtest.h>

#include "core/util/errors.h"
#include "tests/core/data/project_fixture.h"

namespace trainyard::graph {
namespace {

using data::TrainingType;

GraphModelConfiguration Graphs(std::vector<std::string> pipeline, std::vector<std::string> policies,
                               TrainingType type, const char* language = "en") {
  data::ProjectConfig config;
  config.recipe = "default.v1";
  if (language) config.language = language;
  for (auto& n : pipeline) config.pipeline.push_back({n, Json::object(), {}});
  for (auto& n : policies) config.policies.push_back({n, Json::object(), {}});
  util::Diagnostics d;
  return BuildGraphs(config, type, {}, d);
}

std::string ValidationError(const GraphModelConfiguration& g) {
  try {
    ValidateGraphs(g);
  } catch (const util::InvalidConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ValidateGraphs, DefaultPipelinePasses) {
  data::ProjectConfig config = AutoConfigure({}, TrainingType::kBoth);
  config.recipe = "default.v1";
  config.language = "en";
  util::Diagnostics d;
  EXPECT_EQ(ValidationError(BuildGraphs(config, TrainingType::kBoth, {}, d)), "");
}

TEST(ValidateGraphs, CyclesAndMissingParentsAreRefused) {
  GraphModelConfiguration g = Graphs({"WhitespaceTokenizer"}, {}, TrainingType::kNlu);
  g.train_schema.at("schema_validator").needs = {{"importer", "run_WhitespaceTokenizer0"}};
  EXPECT_NE(ValidationError(g).find("has itself as dependency. Cycles are not allowed"), std::string::npos);
  g = Graphs({"WhitespaceTokenizer"}, {}, TrainingType::kNlu);
  g.train_schema.at("run_WhitespaceTokenizer0").SetNeed("extra", "ghost");
  EXPECT_NE(ValidationError(g).find("from node 'ghost', which is not part of the graph"), std::string::npos);
}

TEST(ValidateGraphs, MissingTokenizerIsNamed) {
  const std::string e = ValidationError(Graphs({"CountVectorsFeaturizer", "DIETClassifier"}, {}, TrainingType::kNlu));
  EXPECT_NE(e.find("components are missing required components"), std::string::npos) << e;
  EXPECT_NE(e.find("require a Tokenizer: CountVectorsFeaturizer"), std::string::npos) << e;
}

TEST(ValidateGraphs, UnsupportedLanguage) {
  const std::string e = ValidationError(Graphs({"WhitespaceTokenizer"}, {}, TrainingType::kNlu, "zh"));
  EXPECT_NE(e.find("The component 'WhitespaceTokenizer' does not support the currently specified language 'zh'"),
            std::string::npos) << e;
}

TEST(ValidateGraphs, PretrainedModelComponentsAreRefusedWithTheSparseAlternative) {
  const std::string e = ValidationError(
      Graphs({"SpacyNLP", "SpacyTokenizer", "SpacyFeaturizer", "DIETClassifier"}, {}, TrainingType::kNlu));
  EXPECT_NE(e.find("'SpacyNLP', 'SpacyTokenizer', 'SpacyFeaturizer'"), std::string::npos) << e;
  EXPECT_NE(e.find("CountVectorsFeaturizer"), std::string::npos) << e;
}

TEST(ValidateGraphs, DucklingIsAccepted) {
  EXPECT_EQ(ValidationError(Graphs({"WhitespaceTokenizer", "DucklingEntityExtractor"}, {}, TrainingType::kNlu)), "");
}

TEST(ValidateDataAgainstConfig, WarnsAboutDataTheConfigCannotUse) {
  testing::TempDir dir;
  util::Diagnostics d;
  const data::Project project = data::Import(
      data::WriteFixture(dir, std::string(data::kFixtureNlu) +
                                  "- intent: inform\n  examples: |\n    - in [Paris](city)\n"
                                  "- synonym: paris\n  examples: |\n    - Paris\n"),
      d);
  util::Diagnostics findings;
  ValidateDataAgainstConfig(project, Graphs({"WhitespaceTokenizer", "KeywordIntentClassifier"}, {"MemoizationPolicy"},
                                            TrainingType::kBoth),
                            findings);
  std::string all;
  for (const auto& w : findings.warnings()) all += w.message + "\n";
  EXPECT_NE(all.find("Intent 'inform' has only 1 training examples!"), std::string::npos) << all;
  EXPECT_NE(all.find("does not include an entity extractor"), std::string::npos) << all;
  EXPECT_NE(all.find("'EntitySynonymMapper'"), std::string::npos) << all;
  EXPECT_NE(all.find("'RulePolicy' is not included"), std::string::npos) << all;
  EXPECT_NE(all.find("rule-based training data but no policy supporting"), std::string::npos) << all;
}

TEST(ValidateDataAgainstConfig, TwoTokenizersAreAnError) {
  testing::TempDir dir;
  util::Diagnostics d;
  const data::Project project = data::Import(data::WriteFixture(dir), d);
  util::Diagnostics findings;
  EXPECT_THROW(ValidateDataAgainstConfig(project,
                                         Graphs({"WhitespaceTokenizer", "WhitespaceTokenizer"}, {}, TrainingType::kNlu),
                                         findings),
               util::InvalidConfigError);
}

}  // namespace
}  // namespace trainyard::graph

namespace trainyard::graph {
namespace {

TEST(ValidateDataAgainstConfig, RetrievalIntentWithoutResponseWarnsUnlessTheDomainHasIt) {
  testing::TempDir dir;
  const std::string nlu = std::string(data::kFixtureNlu) +
                          "- intent: faq/ask_name\n  examples: |\n    - who are you\n    - your name?\n";
  util::Diagnostics d;
  const data::Project without = data::Import(data::WriteFixture(dir, nlu), d);
  util::Diagnostics a;
  ValidateDataAgainstConfig(without, Graphs({"WhitespaceTokenizer", "KeywordIntentClassifier"}, {}, TrainingType::kNlu), a);
  bool warned = false;
  for (const auto& w : a.warnings()) warned |= w.message.find("You either need to add a response phrase or correct the intent") != std::string::npos;
  EXPECT_TRUE(warned);
  const data::Project with = data::Import(
      data::WriteFixture(dir, nlu + "responses:\n  utter_faq/ask_name:\n  - text: I am a bot\n"), d);
  util::Diagnostics b;
  ValidateDataAgainstConfig(with, Graphs({"WhitespaceTokenizer", "KeywordIntentClassifier"}, {}, TrainingType::kNlu), b);
  for (const auto& w : b.warnings()) EXPECT_EQ(w.message.find("You either need to add a response phrase"), std::string::npos);
}

}  // namespace
}  // namespace trainyard::graph
