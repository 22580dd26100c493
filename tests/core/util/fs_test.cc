#include "core/util/fs.h"

#include <gtest/gtest.h>

#include "core/util/errors.h"
#include "tests/support/test_helpers.h"

namespace fs = std::filesystem;

namespace trainyard::util {
namespace {

using trainyard::testing::TempDir;

TEST(ReadFile, MissingFileIsNotFound) {
  TempDir dir;
  EXPECT_THROW(ReadFile(dir.path() / "nope.yml"), NotFoundError);
}

TEST(ReadFile, DirectoryIsInvalidData) {
  TempDir dir;
  EXPECT_THROW(ReadFile(dir.path()), InvalidDataError);
}

TEST(ReadFile, RefusesHugeFilesWithoutReadingThem) {
  TempDir dir;
  const fs::path big = dir.Write("big.yml", "nlu:\n");
  fs::resize_file(big, size_t{300} * 1024 * 1024);  // sparse: no disk or memory used
  try {
    ReadFile(big);
    FAIL() << "expected an error";
  } catch (const InvalidDataError& e) {
    EXPECT_NE(std::string(e.what()).find("too large"), std::string::npos) << e.what();
    EXPECT_EQ(e.details().front().location.file, big.string());
  }
}

TEST(ListFilesRecursive, FindsSortedFilesByExtension) {
  TempDir dir;
  dir.Write("b/z.yml", "");
  dir.Write("a.yaml", "");
  dir.Write("b/c/y.JSON", "");
  dir.Write("b/notes.txt", "");
  Diagnostics d;
  const auto files = ListFilesRecursive(dir.path(), {".yml", ".yaml", ".json"}, d);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].filename(), "a.yaml");
  EXPECT_EQ(files[1].filename(), "y.JSON");
  EXPECT_EQ(files[2].filename(), "z.yml");
  EXPECT_FALSE(d.has_errors());
}

TEST(ListFilesRecursive, SymlinkLoopsAreReportedNotFollowedForever) {
  TempDir dir;
  dir.Write("data/nlu.yml", "nlu: []\n");
  fs::create_directory_symlink(dir.path() / "data", dir.path() / "data" / "loop");
  fs::create_symlink(dir.path() / "data" / "self", dir.path() / "data" / "self");  // dangling loop
  Diagnostics d;
  const auto files = ListFilesRecursive(dir.path() / "data", {".yml"}, d);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(d.warning_count(), 2u);
  bool loop_reported = false;
  for (const auto& w : d.warnings())
    loop_reported = loop_reported || w.message.find("loop") != std::string::npos;
  EXPECT_TRUE(loop_reported);
}

TEST(WriteFileAtomic, ReplacesContentWithoutLeftovers) {
  TempDir dir;
  const fs::path p = dir.path() / "f.txt";
  WriteFileAtomic(p, "one");
  WriteFileAtomic(p, "two");
  EXPECT_EQ(ReadFile(p), "two");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

}  // namespace
}  // namespace trainyard::util
