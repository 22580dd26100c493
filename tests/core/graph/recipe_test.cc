#include "core/graph/recipe.h"

#include <gtest/gtest.h>

#include "core/data/yaml.h"
#include "core/graph/registry.h"
#include "core/util/errors.h"
#include "core/util/fs.h"
#include "tests/support/test_helpers.h"

namespace fs = std::filesystem;

namespace trainyard::graph {
namespace {

using data::TrainingType;

data::ProjectConfig DefaultConfig() {
  data::ProjectConfig config;
  config.recipe = "default.v1";
  config.language = "en";
  return AutoConfigure(config, TrainingType::kBoth);
}

// Rasa's expected schema (../shared/corpus/rasa_testdata/graph_schemas/<name>) as JSON.
Json Expected(const std::string& name) {
  const fs::path file = testing::SharedDir() / "corpus/rasa_testdata/graph_schemas" / name;
  return data::yaml::Parse(util::ReadFile(file), file.string())->ToJson();
}

// Node sets, needs, uses, constructor, fn, config, flags and resource must be
// equal; the order of nodes and of needs does not matter.
void ExpectSameSchema(const GraphSchema& actual, const Json& expected) {
  const Json mine = actual.ToJson()["nodes"];
  const Json& theirs = expected["nodes"];
  ASSERT_GE(theirs.size(), 3u) << "the expected schema did not load";
  for (const auto& [name, node] : theirs.items()) {
    if (!mine.contains(name)) {
      ADD_FAILURE() << "missing node " << name;
      continue;
    }
    const Json& m = mine[name];
    for (const char* key : {"uses", "constructor_name", "fn", "eager", "is_target", "is_input", "resource"})
      EXPECT_EQ(m[key], node[key]) << name << "." << key;
    EXPECT_EQ(nlohmann::json(m["needs"]), nlohmann::json(node["needs"])) << name << ".needs";
    EXPECT_EQ(nlohmann::json(m["config"]), nlohmann::json(node["config"])) << name << ".config";
  }
  for (const auto& [name, node] : mine.items())
    EXPECT_TRUE(theirs.contains(name)) << "unexpected node " << name;
}

struct SchemaCase {
  const char* train_file;
  const char* predict_file;
  TrainingType type;
  bool finetuning;
  std::optional<double> epoch_fraction;
};

void PrintTo(const SchemaCase& c, std::ostream* os) { *os << c.train_file; }

class RasaSchemas : public ::testing::TestWithParam<SchemaCase> {};

TEST_P(RasaSchemas, DefaultConfigBuildsRasasSchemas) {
  if (testing::SharedDir().empty()) GTEST_SKIP() << "../shared is not present";
  const SchemaCase& c = GetParam();
  RecipeOptions options;
  options.is_finetuning = c.finetuning;
  options.finetuning_epoch_fraction = c.epoch_fraction;
  util::Diagnostics warnings;
  const GraphModelConfiguration graphs = BuildGraphs(DefaultConfig(), c.type, options, warnings);
  ExpectSameSchema(graphs.train_schema, Expected(c.train_file));
  if (c.predict_file) ExpectSameSchema(graphs.predict_schema, Expected(c.predict_file));
  EXPECT_EQ(graphs.nlu_target, "run_RegexMessageHandler");
  EXPECT_EQ(graphs.core_target.has_value(), c.type != TrainingType::kNlu);
}

INSTANTIATE_TEST_SUITE_P(
    Default, RasaSchemas,
    ::testing::Values(
        SchemaCase{"default_config_train_schema.yml", "default_config_predict_schema.yml", TrainingType::kBoth, false, {}},
        SchemaCase{"default_config_nlu_train_schema.yml", "default_config_nlu_predict_schema.yml", TrainingType::kNlu, false, {}},
        SchemaCase{"default_config_core_train_schema.yml", "default_config_core_predict_schema.yml", TrainingType::kCore, false, {}},
        SchemaCase{"default_config_e2e_train_schema.yml", "default_config_e2e_predict_schema.yml", TrainingType::kEndToEnd, false, {}},
        SchemaCase{"default_config_finetune_schema.yml", nullptr, TrainingType::kBoth, true, {}},
        SchemaCase{"default_config_finetune_epoch_fraction_schema.yml", nullptr, TrainingType::kBoth, true, 0.5}));

TEST(Recipe, KeywordAndMaxHistoryConfigsMatchRasa) {
  if (testing::SharedDir().empty()) GTEST_SKIP() << "../shared is not present";
  const fs::path dir = testing::SharedDir() / "corpus/rasa_testdata/test_config";
  util::Diagnostics d;
  const auto keyword = AutoConfigure(data::ReadConfig(dir / "keyword_classifier_config.yml", d), TrainingType::kNlu);
  const auto graphs = BuildGraphs(keyword, TrainingType::kNlu, {}, d);
  ExpectSameSchema(graphs.train_schema, Expected("keyword_classifier_config_train_schema.yml"));
  ExpectSameSchema(graphs.predict_schema, Expected("keyword_classifier_config_predict_schema.yml"));
  const auto max_hist = AutoConfigure(data::ReadConfig(dir / "max_hist_config.yml", d), TrainingType::kCore);
  const auto core = BuildGraphs(max_hist, TrainingType::kCore, {}, d);
  ExpectSameSchema(core.train_schema, Expected("max_hist_config_train_schema.yml"));
  ExpectSameSchema(core.predict_schema, Expected("max_hist_config_predict_schema.yml"));
}

TEST(Recipe, GraphRecipeReadsSchemasAndTargetsFromTheConfig) {
  if (testing::SharedDir().empty()) GTEST_SKIP() << "../shared is not present";
  const fs::path dir = testing::SharedDir() / "corpus/rasa_testdata/test_config";
  util::Diagnostics d;
  const auto config = data::ReadConfig(dir / "graph_config_short.yml", d);
  const auto graphs = BuildGraphs(config, TrainingType::kBoth, {}, d);
  ExpectSameSchema(graphs.train_schema, Expected("graph_config_short_train_schema.yml"));
  ExpectSameSchema(graphs.predict_schema, Expected("graph_config_short_predict_schema.yml"));
  EXPECT_EQ(*graphs.core_target, "custom_core_target");
  EXPECT_EQ(graphs.nlu_target, "custom_nlu_target");
}

TEST(Recipe, CliOptionsLandInTheRightNodes) {
  RecipeOptions options;
  options.num_threads = 20;
  options.augmentation_factor = 0;
  options.debug_plots = true;
  options.persist_nlu_training_data = true;
  data::ProjectConfig config = DefaultConfig();
  config.pipeline.push_back({"SklearnIntentClassifier", Json::object(), {}});
  util::Diagnostics d;
  const auto g = BuildGraphs(config, TrainingType::kBoth, options, d);
  for (const auto& [name, node] : g.train_schema.nodes()) {
    const bool sklearn = name == "train_SklearnIntentClassifier9";
    EXPECT_EQ(node.config.contains("num_threads"), sklearn) << name;
    EXPECT_EQ(node.config.contains("augmentation_factor"), name == "training_tracker_provider") << name;
  }
  EXPECT_EQ(g.train_schema.at("training_tracker_provider").config["debug_plots"], true);
  const SchemaNode& provider = g.train_schema.at("nlu_training_data_provider");
  EXPECT_TRUE(provider.is_target);
  EXPECT_EQ(provider.config["persist"], true);
}

TEST(Recipe, FinetuningScalesEpochsWithCeiling) {
  RecipeOptions options;
  options.is_finetuning = true;
  options.finetuning_epoch_fraction = 0.01;
  data::ProjectConfig config;
  config.recipe = "default.v1";
  config.pipeline = {{"WhitespaceTokenizer", Json::object(), {}}, {"CountVectorsFeaturizer", Json::object(), {}},
                     {"DIETClassifier", Json::object(), {}}};
  config.policies = {{"TEDPolicy", {{"epochs", 10}}, {}}};
  util::Diagnostics d;
  const auto g = BuildGraphs(config, TrainingType::kBoth, options, d);
  EXPECT_EQ(g.train_schema.at("train_DIETClassifier2").config["epochs"], 3);  // default 300 × 0.01
  EXPECT_EQ(g.train_schema.at("train_TEDPolicy0").config["epochs"], 1);        // ceil(10 × 0.01)
  EXPECT_FALSE(g.train_schema.at("train_CountVectorsFeaturizer1").config.contains("epochs"));
  EXPECT_EQ(g.train_schema.at("train_TEDPolicy0").constructor_name, "load");
}

struct BadConfig {
  const char* description;
  std::vector<std::string> pipeline;
  std::vector<std::string> policies;
  TrainingType type;
  const char* recipe;
  const char* message;
};

void PrintTo(const BadConfig& b, std::ostream* os) { *os << b.description; }

class RecipeErrors : public ::testing::TestWithParam<BadConfig> {};

TEST_P(RecipeErrors, FailWithRasasMessage) {
  const BadConfig& b = GetParam();
  data::ProjectConfig config;
  config.recipe = b.recipe;
  for (const auto& n : b.pipeline) config.pipeline.push_back({n, Json::object(), {}});
  for (const auto& n : b.policies) config.policies.push_back({n, Json::object(), {}});
  util::Diagnostics d;
  try {
    BuildGraphs(config, b.type, {}, d);
    FAIL() << b.description;
  } catch (const util::InvalidConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(b.message), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, RecipeErrors,
    ::testing::Values(
        BadConfig{"policy in pipeline", {"WhitespaceTokenizer", "TEDPolicy"}, {}, TrainingType::kNlu, "default.v1",
                  "Found policy 'TEDPolicy1' in NLU pipeline."},
        BadConfig{"nlu without pipeline", {}, {"RulePolicy"}, TrainingType::kNlu, "default.v1",
                  "Can't train an NLU model without a specified pipeline"},
        BadConfig{"core without policies", {"WhitespaceTokenizer"}, {}, TrainingType::kCore, "default.v1",
                  "Can't train an Core model without policies"},
        BadConfig{"unknown component", {"FancyTokenizer"}, {}, TrainingType::kNlu, "default.v1",
                  "Can't load class for name 'FancyTokenizer'"},
        BadConfig{"unknown recipe", {"WhitespaceTokenizer"}, {}, TrainingType::kNlu, "foo",
                  "No recipe with name 'foo' was found."}));

TEST(Recipe, MissingRecipeWarnsAndUsesDefault) {
  data::ProjectConfig config = DefaultConfig();
  config.recipe.reset();
  util::Diagnostics d;
  BuildGraphs(config, TrainingType::kBoth, {}, d);
  ASSERT_EQ(d.warning_count(), 1u);
  EXPECT_NE(d.warnings()[0].message.find("Defaulting to recipe 'default.v1'"), std::string::npos);
}

TEST(AutoConfigure, FillsOnlyMissingOrNullKeysForTheType) {
  data::ProjectConfig config;
  std::vector<std::string> keys;
  auto both = AutoConfigure(config, TrainingType::kBoth, &keys);
  EXPECT_EQ(keys, (std::vector<std::string>{"pipeline", "policies"}));
  EXPECT_EQ(both.pipeline.size(), 9u);
  EXPECT_EQ(both.policies.size(), 4u);
  keys.clear();
  AutoConfigure(config, TrainingType::kCore, &keys);
  EXPECT_EQ(keys, (std::vector<std::string>{"policies"}));
  config.pipeline_is_null = false;  // `pipeline: []` is left alone
  keys.clear();
  const auto explicit_empty = AutoConfigure(config, TrainingType::kBoth, &keys);
  EXPECT_EQ(keys, (std::vector<std::string>{"policies"}));
  EXPECT_TRUE(explicit_empty.pipeline.empty());
}

}  // namespace
}  // namespace trainyard::graph
