#include "tests/support/test_helpers.h"

#include <unistd.h>

#include <atomic>
#include <fstream>

namespace trainyard::testing {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          ("trainyard-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::Write(const std::string& relative, const std::string& content) const {
  const std::filesystem::path p = path_ / relative;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

std::filesystem::path SharedDir() {
  const std::filesystem::path p = TRAINYARD_SHARED_DIR;
  std::error_code ec;
  return std::filesystem::is_directory(p / "corpus", ec) ? p : std::filesystem::path();
}

std::filesystem::path CorpusProject(const std::string& name) {
  const auto shared = SharedDir();
  return shared.empty() ? shared : shared / "corpus" / name;
}

}  // namespace trainyard::testing
