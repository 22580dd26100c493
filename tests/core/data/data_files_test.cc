#include "core/data/data_files.h"

#include <gtest/gtest.h>

#include "core/util/errors.h"
#include "tests/support/test_helpers.h"

namespace trainyard::data {
namespace {

TEST(DataFiles, ClassifiesByTopLevelKeys) {
  EXPECT_EQ(ClassifyDataFile("nlu.yml", "nlu: []\n"), kNluFile);
  EXPECT_EQ(ClassifyDataFile("r.yml", "responses: {}\n"), kNluFile | kDomainFile);
  EXPECT_EQ(ClassifyDataFile("s.yml", "rules: []\n"), kStoryFile);
  EXPECT_EQ(ClassifyDataFile("test_s.yml", "stories: []\n"), kStoryFile | kTestStoryFile);
  EXPECT_EQ(ClassifyDataFile("d.yml", "intents: [a]\nslots: {}\n"), kDomainFile);
  EXPECT_EQ(ClassifyDataFile("m.yml", "nlu: []\nstories: []\n"), kNluFile | kStoryFile);
  EXPECT_EQ(ClassifyDataFile("x.yml", "something: 1\n"), 0u);
  EXPECT_EQ(ClassifyDataFile("x.json", "{\"rasa_nlu_data\": {}}"), kNluFile | kJsonNluFile);
  EXPECT_EQ(ClassifyDataFile("x.json", "{\"luis_schema_version\": 1}"), 0u);
}

TEST(DataFiles, SearchesDirectoriesRecursively) {
  testing::TempDir dir;
  dir.Write("data/nlu/a.yml", "nlu: []\n");
  dir.Write("data/stories/deep/s.yaml", "stories: []\n");
  dir.Write("data/readme.md", "# not data\n");
  dir.Write("data/other.yml", "foo: bar\n");
  dir.Write("extra.yml", "rules: []\n");
  util::Diagnostics d;
  const auto files = FindDataFiles({dir.path() / "data", dir.path() / "extra.yml"}, d);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].path.filename(), "a.yml");
  EXPECT_EQ(files[1].path.filename(), "s.yaml");
  EXPECT_EQ(files[2].path.filename(), "extra.yml");
}

TEST(DataFiles, SyntaxErrorIsReportedAndOtherFilesStillFound) {
  testing::TempDir dir;
  dir.Write("data/bad.yml", "nlu: [\n");
  dir.Write("data/good.yml", "nlu: []\n");
  util::Diagnostics d;
  const auto files = FindDataFiles({dir.path() / "data"}, d);
  EXPECT_EQ(files.size(), 1u);
  ASSERT_EQ(d.error_count(), 1u);
  EXPECT_EQ(d.errors()[0].location.line, 2);
}

}  // namespace
}  // namespace trainyard::data
