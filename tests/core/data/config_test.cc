#include "core/data/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/util/errors.h"

namespace trainyard::data {
namespace {

TEST(Config, ReadsKnownKeysAndKeepsUnknownOnes) {
  util::Diagnostics d;
  const ProjectConfig c = ParseConfig(
      "recipe: default.v1\nlanguage: en\nassistant_id: 20230101-000000-brisk-geyser\n"
      "pipeline:\n  - name: WhitespaceTokenizer\n  - name: DIETClassifier\n    epochs: 100\n"
      "    constrain_similarities: true\npolicies:\n  - name: RulePolicy\n"
      "custom_key: {a: 1}\n",
      "config.yml", d);
  EXPECT_FALSE(d.has_errors());
  EXPECT_EQ(*c.recipe, "default.v1");
  EXPECT_EQ(*c.language, "en");
  ASSERT_EQ(c.pipeline.size(), 2u);
  EXPECT_EQ(c.pipeline[1].name, "DIETClassifier");
  EXPECT_EQ(c.pipeline[1].params["epochs"], 100);
  EXPECT_EQ(c.pipeline[1].params["constrain_similarities"], true);
  EXPECT_FALSE(c.pipeline[1].params.contains("name"));
  EXPECT_EQ(c.pipeline[1].location.line, 6);
  EXPECT_EQ(c.policies[0].name, "RulePolicy");
  EXPECT_EQ(c.extra["custom_key"]["a"], 1);
}

TEST(Config, DistinguishesMissingNullAndEmptyPipeline) {
  util::Diagnostics d;
  EXPECT_FALSE(ParseConfig("language: en\n", "c.yml", d).has_pipeline_key);
  const ProjectConfig null_pipeline = ParseConfig("pipeline:\npolicies: []\n", "c.yml", d);
  EXPECT_TRUE(null_pipeline.has_pipeline_key);
  EXPECT_TRUE(null_pipeline.pipeline_is_null);
  EXPECT_TRUE(null_pipeline.has_policies_key);
  EXPECT_FALSE(null_pipeline.policies_is_null);
  EXPECT_FALSE(d.has_errors());
}

TEST(Config, ItemWithoutNameIsASchemaErrorWithLocation) {
  util::Diagnostics d;
  ParseConfig("pipeline:\n  - epochs: 3\n  - WhitespaceTokenizer\n", "c.yml", d);
  ASSERT_EQ(d.error_count(), 2u);
  EXPECT_EQ(d.errors()[0].location.line, 2);
  EXPECT_NE(d.errors()[0].message.find("no 'name'"), std::string::npos);
  EXPECT_EQ(d.errors()[1].location.line, 3);
}

TEST(Config, ExpandsEnvironmentVariablesAndReportsUnsetOnes) {
  ::setenv("TRAINYARD_TEST_LANG", "de", 1);
  util::Diagnostics d;
  const ProjectConfig c = ParseConfig("language: ${TRAINYARD_TEST_LANG}\npipeline:\n  - name: X\n    "
                                      "url: ${TRAINYARD_TEST_UNSET_VAR}/x\n", "c.yml", d);
  EXPECT_EQ(*c.language, "de");
  ASSERT_EQ(d.error_count(), 1u);
  EXPECT_NE(d.errors()[0].message.find("'TRAINYARD_TEST_UNSET_VAR'"), std::string::npos);
}

TEST(Config, ImportsAreKeptWithTheirLocations) {
  util::Diagnostics d;
  const ProjectConfig c = ParseConfig("imports:\n  - projects/a\n  - projects/b\n", "c.yml", d);
  EXPECT_EQ(c.imports, (std::vector<std::string>{"projects/a", "projects/b"}));
  EXPECT_EQ(c.import_locations[1].line, 3);
}

TEST(Config, SyntaxErrorThrows) {
  util::Diagnostics d;
  EXPECT_THROW(ParseConfig("pipeline: [\n", "c.yml", d), util::InvalidDataError);
}

}  // namespace
}  // namespace trainyard::data
