#pragma once

// Helpers shared by the tests: temporary project folders and the location of
// ../shared. Not part of the product.

#include <filesystem>
#include <string>

namespace trainyard::testing {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `content` to `relative` (creating parent folders); returns its path.
  std::filesystem::path Write(const std::string& relative, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

// ../shared (the corpus and benchmark sets), or an empty path when absent.
std::filesystem::path SharedDir();
// ../shared/corpus/<name>; the calling test should GTEST_SKIP when empty.
std::filesystem::path CorpusProject(const std::string& name);

}  // namespace trainyard::testing
