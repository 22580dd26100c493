#pragma once

// A git checkout's remote URL, read from its config file without running git.
// Training used to ask `git remote get-url origin` through popen: a shell
// spawned from a process that holds worker threads (and, on a GPU node, a CUDA
// context), once per training, in whatever directory the process ran from.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace trainyard::util {

// One `name = value` of a git config file. Section and variable names are
// lowercase (git compares them case-insensitively); the subsection is as
// written (git compares it exactly), except in the old `[section.sub]` form,
// which git lowercases.
struct GitConfigEntry {
  std::string section;
  std::string subsection;
  std::string name;
  std::string value;  // quotes removed, escapes resolved; a bare `name` is "true"
};

// The entries of a git config file's text, in order. Lines git would refuse
// are skipped: this is for reading a remote's URL, not for validating configs.
std::vector<GitConfigEntry> ParseGitConfig(const std::string& text);

// What `git remote get-url <remote>` prints for the checkout that holds
// `directory`: the repository is found as git finds it (`.git` in the folder or
// a parent; a `.git` file's `gitdir:` and a worktree's `commondir` followed),
// and the URL is the remote's first `url`, rewritten by the longest matching
// `url.<base>.insteadOf`. Nothing outside a checkout, without that remote, or
// when the config cannot be read. Only the repository's own config is read:
// not `include` files, the user's ~/.gitconfig or the system's.
std::optional<std::string> GitRemoteUrl(const std::filesystem::path& directory, const std::string& remote = "origin");

}  // namespace trainyard::util
