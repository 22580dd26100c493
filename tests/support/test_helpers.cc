#include "tests/support/test_helpers.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

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

ListeningProcess::ListeningProcess(const std::vector<std::string>& argv, const std::filesystem::path& port_file) {
  std::filesystem::remove(port_file);
  pid_ = fork();
  if (pid_ == 0) {
    std::vector<std::string> args = argv;
    std::vector<char*> pointers;
    for (std::string& a : args) pointers.push_back(a.data());
    pointers.push_back(nullptr);
    execvp(pointers[0], pointers.data());
    _exit(127);
  }
  for (int i = 0; i < 200 && port_ == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {  // it exited before listening
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = -1;
      break;
    }
    std::ifstream(port_file) >> port_;
  }
}

ListeningProcess::~ListeningProcess() { Stop(SIGTERM); }

void ListeningProcess::Stop(int signal) {
  if (pid_ <= 0) return;
  kill(pid_, signal);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int ListeningProcess::Wait() {
  if (pid_ <= 0) return exit_code_;
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return exit_code_;
}

training::TrainOptions ProjectTrainOptions(const std::filesystem::path& dir, const std::string& config,
                                           const std::string& model) {
  training::TrainOptions o;
  o.config = dir / (config + ".yml");
  o.domain = dir / "domain.yml";
  o.training_files = {dir / "data"};
  o.output = dir / "models";
  o.fixed_model_name = model;
  return o;
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
