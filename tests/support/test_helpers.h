#pragma once

// Helpers shared by the tests: temporary project folders and the location of
// ../shared. Not part of the product.

#include <filesystem>
#include <string>
#include <vector>

#include "core/training/train.h"

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

// A child process (a server under test) that writes the port it listens on
// to `port_file`. The constructor waits up to 10 s for the port, or for the
// process to exit first; the destructor stops it with SIGTERM.
class ListeningProcess {
 public:
  // argv[0] is the program, found on PATH when it has no '/'.
  ListeningProcess(const std::vector<std::string>& argv, const std::filesystem::path& port_file);
  ~ListeningProcess();
  ListeningProcess(const ListeningProcess&) = delete;
  ListeningProcess& operator=(const ListeningProcess&) = delete;

  // 0 when it never listened.
  int port() const { return port_; }
  // Sends `signal` and waits for the process to end.
  void Stop(int signal);
  // Waits for the process to exit by itself; its exit code (-1: killed).
  int Wait();

 private:
  int pid_ = -1;
  int port_ = 0;
  int exit_code_ = -1;
};

// Options that train the project in `dir` (config `<config>.yml`,
// domain.yml, data/) into dir/models/<model>.tar.gz.
training::TrainOptions ProjectTrainOptions(const std::filesystem::path& dir, const std::string& config,
                                           const std::string& model);

// ../shared (the corpus and benchmark sets), or an empty path when absent.
std::filesystem::path SharedDir();
// ../shared/corpus/<name>; the calling test should GTEST_SKIP when empty.
std::filesystem::path CorpusProject(const std::string& name);

}  // namespace trainyard::testing
