#include "core/training/config_file.h"

#include <gtest/gtest.h>

#include <regex>

#include "core/data/config.h"
#include "core/util/errors.h"
#include "core/util/fs.h"
#include "tests/support/test_helpers.h"

namespace trainyard::training {
namespace {

TEST(EnsureAssistantId, WritesAGeneratedIdOnlyWhenMissingOrPlaceholder) {
  testing::TempDir dir;
  const auto file = dir.Write("config.yml", "recipe: default.v1\nassistant_id: placeholder_default\nlanguage: en\n");
  EXPECT_NE(EnsureAssistantId(file).find("missing a unique value for the 'assistant_id'"), std::string::npos);
  const std::string text = util::ReadFile(file);
  EXPECT_TRUE(std::regex_search(text, std::regex("\nassistant_id: [0-9]{8}-[0-9]{6}-[a-z]+-[a-z]+\nlanguage: en\n")))
      << text;
  EXPECT_EQ(EnsureAssistantId(file), "");  // now set: nothing to do
  EXPECT_EQ(util::ReadFile(file), text);
  const auto missing = dir.Write("other.yml", "language: en\n");
  EnsureAssistantId(missing);
  EXPECT_TRUE(std::regex_search(util::ReadFile(missing), std::regex("^language: en\nassistant_id: ")));
}

TEST(EnsureAssistantId, KeepsTheFilesLineEndings) {
  testing::TempDir dir;
  const std::string crlf = "recipe: default\r\nlanguage: en\r\n";  // no regex characters
  const auto file = dir.Write("config.yml", crlf);
  EnsureAssistantId(file);
  const std::string text = util::ReadFile(file);
  EXPECT_TRUE(std::regex_match(text, std::regex(crlf + "assistant_id: [0-9]{8}-[0-9]{6}-[a-z]+-[a-z]+\r\n"))) << text;
}

TEST(MissingMandatoryKeys, LanguageIsNeededExceptForCore) {
  testing::TempDir dir;
  const auto file = dir.Write("config.yml", "pipeline: []\n");
  EXPECT_EQ(MissingMandatoryKeys(file, data::TrainingType::kBoth), (std::vector<std::string>{"language"}));
  EXPECT_TRUE(MissingMandatoryKeys(file, data::TrainingType::kCore).empty());
}

TEST(WriteAutoConfiguration, AppendsKeysWithACommentedDefaultBlockIdempotently) {
  testing::TempDir dir;
  const std::string original = "recipe: default.v1\nlanguage: en\npolicies:\n# keep me\n";
  const auto file = dir.Write("config.yml", original);
  const std::string info = WriteAutoConfiguration(file, {"pipeline", "policies"}, original);
  EXPECT_EQ(info, "The configuration for pipeline and policies was chosen automatically. It was written into the "
                  "config file at '" + file.string() + "'.");
  const std::string once = util::ReadFile(file);
  EXPECT_NE(once.find("policies:\n# # No configuration for policies was provided."), std::string::npos) << once;
  EXPECT_NE(once.find("#   - name: TEDPolicy\n#     max_history: 5"), std::string::npos) << once;
  EXPECT_NE(once.find("pipeline:\n# # No configuration for the NLU pipeline was provided."), std::string::npos);
  EXPECT_NE(once.find("# keep me"), std::string::npos);
  // Still a valid config whose keys are null, so a second run writes the same file.
  util::Diagnostics d;
  const data::ProjectConfig parsed = data::ParseConfig(once, file, d);
  EXPECT_TRUE(parsed.pipeline_is_null);
  EXPECT_TRUE(parsed.policies_is_null);
  WriteAutoConfiguration(file, {"pipeline", "policies"}, once);
  EXPECT_EQ(util::ReadFile(file), once);
}

TEST(WriteAutoConfiguration, RefusesWhenTheFileChangedOrVanished) {
  testing::TempDir dir;
  const std::string original = "language: en\n";
  const auto file = dir.Write("config.yml", "language: en\npipeline:\n  - name: WhitespaceTokenizer\n");
  EXPECT_THROW(WriteAutoConfiguration(file, {"pipeline"}, original), util::InvalidConfigError);
  std::filesystem::remove(file);
  try {
    WriteAutoConfiguration(file, {"pipeline"}, original);
    FAIL();
  } catch (const util::InvalidConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("has been removed or modified"), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(file));
}

}  // namespace
}  // namespace trainyard::training
