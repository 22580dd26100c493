#include "core/util/git.h"

#include <gtest/gtest.h>

#include "tests/support/test_helpers.h"

namespace fs = std::filesystem;

namespace trainyard::util {
namespace {

using trainyard::testing::TempDir;

std::string ValueOf(const std::vector<GitConfigEntry>& entries, const std::string& section,
                    const std::string& subsection, const std::string& name) {
  for (const GitConfigEntry& e : entries)
    if (e.section == section && e.subsection == subsection && e.name == name) return e.value;
  return "<none>";
}

TEST(ParseGitConfig, ReadsSectionsSubsectionsAndValuesAsGitDoes) {
  const auto entries = ParseGitConfig(
      "# a comment\n"
      "[core]\n"
      "\trepositoryformatversion = 0\n"
      "\tBare = false ; trailing comment\n"
      "\tlogallrefupdates\n"
      "[Remote \"Origin\"]\n"
      "\turl = git@example.com:team/bot.git   \n"
      "\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
      "[remote \"quoted\"] url = \"a # b\" \\\"c\\\" d\\\n"
      "   e\n"
      "[branch.Main]\n"
      "\tremote = origin\n");
  EXPECT_EQ(ValueOf(entries, "core", "", "repositoryformatversion"), "0");
  EXPECT_EQ(ValueOf(entries, "core", "", "bare"), "false");  // names are case-insensitive
  EXPECT_EQ(ValueOf(entries, "core", "", "logallrefupdates"), "true");
  // The subsection keeps its case; the section's is folded.
  EXPECT_EQ(ValueOf(entries, "remote", "Origin", "url"), "git@example.com:team/bot.git");
  EXPECT_EQ(ValueOf(entries, "remote", "origin", "url"), "<none>");
  EXPECT_EQ(ValueOf(entries, "remote", "quoted", "url"), "a # b \"c\" d   e");
  EXPECT_EQ(ValueOf(entries, "branch", "main", "remote"), "origin");  // old [section.sub] form
}

TEST(ParseGitConfig, SkipsLinesGitWouldRefuse) {
  const auto entries = ParseGitConfig(
      "orphan = before any section\n"
      "[remote \"a\"]\n"
      "\turl = \"unclosed\n"
      "\tpushurl = bad \\q escape\n"
      "\t9name = x\n"
      "\tfetch = kept\n"
      "[broken\n"
      "\turl = in a broken section\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].name, "fetch");
  EXPECT_EQ(entries[0].value, "kept");
}

TEST(GitRemoteUrl, ReadsTheRemotesFirstUrlFromTheCheckoutOrAParent) {
  TempDir dir;
  dir.Write("project/.git/config",
            "[remote \"upstream\"]\n\turl = https://example.com/other.git\n"
            "[remote \"origin\"]\n\turl = https://example.com/team/bot.git\n\turl = https://mirror.example/bot.git\n");
  dir.Write("project/data/nlu.yml", "");
  EXPECT_EQ(GitRemoteUrl(dir.path() / "project"), "https://example.com/team/bot.git");
  EXPECT_EQ(GitRemoteUrl(dir.path() / "project" / "data"), "https://example.com/team/bot.git");
  EXPECT_EQ(GitRemoteUrl(dir.path() / "project", "upstream"), "https://example.com/other.git");
  EXPECT_EQ(GitRemoteUrl(dir.path() / "project", "fork"), std::nullopt);
  // Outside any checkout (the temp folder's parents are not one).
  EXPECT_EQ(GitRemoteUrl(dir.path()), std::nullopt);
}

TEST(GitRemoteUrl, FollowsGitdirFilesAndWorktreeCommondirs) {
  TempDir dir;
  dir.Write("main/.git/config", "[remote \"origin\"]\n\turl = ssh://git@example.com/bot.git\n");
  // A linked worktree: its .git file names its git directory, which names the common one.
  dir.Write("main/.git/worktrees/feature/commondir", "../..\n");
  dir.Write("feature/.git", "gitdir: " + (dir.path() / "main/.git/worktrees/feature").string() + "\n");
  EXPECT_EQ(GitRemoteUrl(dir.path() / "feature"), "ssh://git@example.com/bot.git");
  // A submodule: a relative gitdir.
  dir.Write("main/.git/modules/sub/config", "[remote \"origin\"]\n\turl = https://example.com/sub.git\n");
  dir.Write("main/sub/.git", "gitdir: ../.git/modules/sub\n");
  EXPECT_EQ(GitRemoteUrl(dir.path() / "main" / "sub"), "https://example.com/sub.git");
  // A .git file that is not a gitdir pointer stops the search.
  dir.Write("odd/.git", "something else\n");
  EXPECT_EQ(GitRemoteUrl(dir.path() / "odd"), std::nullopt);
}

TEST(GitRemoteUrl, AppliesTheLongestMatchingInsteadOf) {
  TempDir dir;
  dir.Write("p/.git/config",
            "[remote \"origin\"]\n\turl = gh:team/bot.git\n"
            "[url \"https://github.com/\"]\n\tinsteadOf = gh:\n"
            "[url \"https://github.com/our-team/\"]\n\tinsteadOf = gh:team/\n"
            "[url \"ssh://never/\"]\n\tpushInsteadOf = gh:\n");
  EXPECT_EQ(GitRemoteUrl(dir.path() / "p"), "https://github.com/our-team/bot.git");
}

}  // namespace
}  // namespace trainyard::util
