#include "core/data/importer.h"

#include <gtest/gtest.h>

#include "core/util/errors.h"
#include "tests/core/data/project_fixture.h"

namespace trainyard::data {
namespace {

TEST(Importer, ImportsAProject) {
  testing::TempDir dir;
  util::Diagnostics d;
  const Project p = Import(WriteFixture(dir), d);
  EXPECT_EQ(d.error_count(), 0u);
  EXPECT_EQ(p.domain.intents.size(), 3u);
  EXPECT_EQ(p.intent_example_count(), 6u);
  EXPECT_EQ(p.stories.story_count, 1u);
  EXPECT_EQ(p.stories.rule_count, 1u);
  EXPECT_EQ(p.story_graph.steps().size(), 2u);
  EXPECT_EQ(*p.config.language, "en");
  EXPECT_TRUE(p.domain_loaded);
}

TEST(Importer, ReportsErrorsOfAllFilesAtOnce) {
  testing::TempDir dir;
  ImportOptions options = WriteFixture(dir);
  dir.Write("data/broken.yml", "nlu:\n- intent: x\n  examples: [\n");
  dir.Write("data/stories2.yml", "stories:\n- story: s\n  steps:\n  - acton: a\n");
  util::Diagnostics d;
  try {
    Import(options, d);
    FAIL() << "expected InvalidDataError";
  } catch (const util::InvalidDataError& e) {
    EXPECT_EQ(d.error_count(), 2u);
    std::string all = e.what();
    EXPECT_NE(all.find("broken.yml:4"), std::string::npos) << all;
    EXPECT_NE(all.find("stories2.yml:4:5"), std::string::npos) << all;
  }
}

TEST(Importer, RetrievalIntentsAndBotTextEnrichTheDomain) {
  testing::TempDir dir;
  const ImportOptions options = WriteFixture(
      dir,
      "nlu:\n- intent: faq/ask_name\n  examples: |\n    - who are you\n    - your name?\n"
      "responses:\n  utter_faq/ask_name:\n  - text: I am a bot\n",
      "stories:\n- story: s\n  steps:\n  - intent: faq\n  - action: utter_faq\n  - user: hello\n"
      "  - bot: Hi there\n");
  util::Diagnostics d;
  const Project p = Import(options, d);
  const IntentDefinition* faq = p.domain.FindIntent("faq");
  ASSERT_NE(faq, nullptr);
  EXPECT_TRUE(faq->is_retrieval_intent);
  EXPECT_TRUE(p.domain.HasAction("utter_faq"));
  EXPECT_TRUE(p.domain.responses.count("utter_faq/ask_name"));
  EXPECT_EQ(p.domain.e2e_actions, (std::vector<std::string>{"Hi there"}));
}

TEST(Importer, BrokenDomainIsAnErrorUnlessLenient) {
  testing::TempDir dir;
  ImportOptions options = WriteFixture(dir, kFixtureNlu, kFixtureStories, "version: '3.1'\nslots:\n  s:\n    type: text\n");
  util::Diagnostics strict;
  EXPECT_THROW(Import(options, strict), util::InvalidDataError);
  options.lenient_domain = true;
  util::Diagnostics lenient;
  const Project p = Import(options, lenient);
  EXPECT_TRUE(p.domain.empty());
  ASSERT_GE(lenient.warning_count(), 1u);
  EXPECT_NE(lenient.warnings()[0].message.find("Using empty domain"), std::string::npos);
}

TEST(Importer, MultiProjectImportsResolveRelativelyAndDetectCycles) {
  testing::TempDir dir;
  dir.Write("root/config.yml", "importers:\n- name: MultiProjectImporter\nimports:\n- ../a\n");
  dir.Write("a/config.yml", "imports:\n- ../b\n");
  dir.Write("a/domain.yml", "intents: [greet]\nresponses:\n  utter_greet:\n  - text: hi\n");
  dir.Write("a/data/nlu.yml", "nlu:\n- intent: greet\n  examples: |\n    - hi\n    - hey\n");
  dir.Write("b/config.yml", "imports:\n- ../a\n");  // cycle back to a
  dir.Write("b/data/rules.yml", "rules:\n- rule: r\n  steps:\n  - intent: greet\n  - action: utter_greet\n");
  dir.Write("b/tests/test_stories.yml", "stories:\n- story: t\n  steps:\n  - intent: greet\n");
  ImportOptions options;
  options.config_path = dir.path() / "root/config.yml";
  options.domain_path = "";
  options.data_paths = {};
  util::Diagnostics d;
  const Project p = Import(options, d);
  EXPECT_EQ(p.imported_projects.size(), 2u);
  EXPECT_EQ(p.intent_example_count(), 2u);
  EXPECT_EQ(p.stories.rule_count, 1u);
  EXPECT_EQ(p.stories.story_count, 0u);  // test stories are not training data
  EXPECT_TRUE(p.domain.FindIntent("greet"));
  bool cycle = false;
  for (const auto& w : d.warnings()) cycle = cycle || w.message.find("Import cycle") != std::string::npos;
  EXPECT_TRUE(cycle);
}

TEST(Importer, ImportsWithoutMultiProjectImporterAreIgnoredWithAWarning) {
  testing::TempDir dir;
  ImportOptions options = WriteFixture(dir);
  dir.Write("config.yml", "imports:\n- other\n");
  util::Diagnostics d;
  const Project p = Import(options, d);
  EXPECT_TRUE(p.imported_projects.empty());
  EXPECT_EQ(d.warnings()[0].location.line, 2);
}

TEST(Importer, DuplicateExamplesAreDropped) {
  testing::TempDir dir;
  util::Diagnostics d;
  const Project p = Import(
      WriteFixture(dir, "nlu:\n- intent: greet\n  examples: |\n    - hi\n    - hi\n    - hey\n"), d);
  EXPECT_EQ(p.intent_example_count(), 2u);
}

}  // namespace
}  // namespace trainyard::data

namespace trainyard::data {
namespace {

TEST(Importer, HostileFilesEndInLocatedErrorsNotCrashes) {
  testing::TempDir dir;
  ImportOptions options = WriteFixture(dir);
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b', prev = 'a'; c <= 'k'; prev = c++) {
    bomb += std::string(1, c) + ": &" + c + " [*" + prev;
    for (int i = 0; i < 9; ++i) bomb += std::string(", *") + prev;
    bomb += "]\n";
  }
  dir.Write("data/bomb.yml", "nlu: []\n" + bomb);
  dir.Write("data/deep.yml", "nlu: " + std::string(5000, '[') + std::string(5000, ']') + "\n");
  dir.Write("data/latin1.yml", "nlu:\n- intent: caf\xE9\n  examples: |\n    - x\n");
  const auto huge = dir.Write("data/huge.yml", "nlu:\n");
  std::filesystem::resize_file(huge, size_t{400} * 1024 * 1024);  // sparse
  std::filesystem::create_directory_symlink(dir.path() / "data", dir.path() / "data" / "loop");
  util::Diagnostics d;
  try {
    Import(options, d);
    FAIL() << "expected errors";
  } catch (const util::InvalidDataError& e) {
    const std::string all = e.what();
    EXPECT_NE(all.find("bomb.yml"), std::string::npos) << all;
    EXPECT_NE(all.find("deep.yml:1"), std::string::npos) << all;
    EXPECT_NE(all.find("latin1.yml"), std::string::npos) << all;
    EXPECT_NE(all.find("UTF-8"), std::string::npos) << all;
    EXPECT_NE(all.find("huge.yml: error: File is too large"), std::string::npos) << all;
    EXPECT_EQ(d.error_count(), 4u) << all;
  }
  bool loop = false;
  for (const auto& w : d.warnings()) loop = loop || w.message.find("loop") != std::string::npos;
  EXPECT_TRUE(loop);
}

TEST(Importer, MissingDataPathIsAWarning) {
  testing::TempDir dir;
  ImportOptions options = WriteFixture(dir);
  options.data_paths.push_back(dir.path() / "nowhere");
  util::Diagnostics d;
  Import(options, d);
  ASSERT_EQ(d.warning_count(), 1u);
  EXPECT_NE(d.warnings()[0].message.find("does not exist"), std::string::npos);
}

}  // namespace
}  // namespace trainyard::data
