// The real trainyard-server binary on a loopback port, driven by the CLI's
// remote commands: submit --watch, jobs, download; kill -9 and restart.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "client/cli.h"
#include "core/storage/archive.h"
#include "core/util/sha256.h"
#include "core/util/fs.h"
#include "tests/core/data/project_fixture.h"

namespace fs = std::filesystem;

namespace trainyard::server {
namespace {

// trainyard-server on loopback ports, with its state in `state`.
class ServerProcess {
 public:
  ServerProcess(const fs::path& state, const fs::path& port_file, const std::vector<std::string>& extra = {})
      : process_(Args(state, port_file, extra), port_file) {
    std::ifstream(port_file.string() + ".admin") >> admin_port_;
  }
  void Stop(int signal) { process_.Stop(signal); }
  int Wait() { return process_.Wait(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  int port() const { return process_.port(); }
  int admin_port() const { return admin_port_; }

 private:
  static std::vector<std::string> Args(const fs::path& state, const fs::path& port_file,
                                       const std::vector<std::string>& extra) {
    std::vector<std::string> args = {TRAINYARD_SERVER_BINARY, "--listen", "127.0.0.1:0", "--state-dir",
                                     state.string(), "--port-file", port_file.string(), "--admin", "127.0.0.1:0",
                                     "--admin-port-file", port_file.string() + ".admin"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  testing::ListeningProcess process_;
  int admin_port_ = 0;
};

// A plain HTTP GET on loopback; returns the whole response.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return "";
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (write(fd, request.data(), request.size()) < 0) {
    close(fd);
    return "";
  }
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) response.append(buffer, static_cast<size_t>(n));
  close(fd);
  return response;
}

struct Result {
  int code;
  std::string out, err;
};

Result Cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = client::RunCli(args, out, err);
  return {code, out.str(), err.str()};
}

// Runs `fn` with the project folder as the working directory.
template <typename Fn>
auto InProject(const fs::path& dir, Fn&& fn) {
  const fs::path before = fs::current_path();
  fs::current_path(dir);
  auto result = fn();
  fs::current_path(before);
  return result;
}

class ServerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data::WriteFixture(project_);
    project_.Write("config.yml", "recipe: default.v1\nlanguage: en\nassistant_id: p\npipeline:\n"
                                 "  - name: WhitespaceTokenizer\n  - name: KeywordIntentClassifier\n"
                                 "policies:\n  - name: MemoizationPolicy\n");
  }
  testing::TempDir project_, state_;
};

TEST_F(ServerProcessTest, SubmitWatchListAndDownload) {
  ServerProcess server(state_.path() / "state", state_.path() / "port");
  ASSERT_NE(server.port(), 0);
  project_.Write(".git/config", "[remote \"origin\"]\n\turl = https://example.com/team/bot.git\n");
  const Result submitted = InProject(project_.path(), [&] {
    return Cli({"submit", "--watch", "--server", server.address()});
  });
  ASSERT_EQ(submitted.code, 0) << submitted.out << submitted.err;
  EXPECT_NE(submitted.out.find("training KeywordIntentClassifier"), std::string::npos) << submitted.out;
  EXPECT_NE(submitted.out.find("succeeded: file://"), std::string::npos) << submitted.out;
  const std::string id = submitted.out.substr(0, submitted.out.find('\n'));
  const Result jobs = Cli({"jobs", "--server", server.address()});
  EXPECT_NE(jobs.out.find(id + "  SUCCEEDED"), std::string::npos) << jobs.out;
  const fs::path target = state_.path() / "downloaded.tar.gz";
  const Result downloaded = Cli({"download", id, "--out", target.string(), "--server", server.address()});
  ASSERT_EQ(downloaded.code, 0) << downloaded.err;
  EXPECT_EQ(storage::ReadArchiveMetadata(target).training_type, 3);
  // The checkout's fingerprint travelled with the job, as `trainyard train` there would record it.
  EXPECT_EQ(storage::ReadArchiveMetadata(target).project_fingerprint,
            util::Sha256Hex("https://example.com/team/bot.git\n"));
  EXPECT_EQ(Cli({"cancel", "no-such-job", "--server", server.address()}).code, 1);
  const Result uploaded = InProject(project_.path(), [&] {
    return Cli({"submit", "--upload", "--watch", "--server", server.address()});
  });
  EXPECT_EQ(uploaded.code, 0) << uploaded.out << uploaded.err;
  ASSERT_NE(server.admin_port(), 0);
  const std::string metrics = HttpGet(server.admin_port(), "/metrics");
  EXPECT_NE(metrics.find("trainyard_jobs{state=\"SUCCEEDED\"}"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("trainyard_node_duration_seconds_bucket{component=\"KeywordIntentClassifier\""),
            std::string::npos) << metrics;
  EXPECT_NE(metrics.find("trainyard_build_info{version="), std::string::npos);
  const Result health = Cli({"health", "--server", server.address()});
  EXPECT_EQ(health.code, 0) << health.err;
  EXPECT_EQ(health.out, "SERVING\n");
}

TEST_F(ServerProcessTest, KillMinusNineAndRestartLosesNoJob) {
  // A project that trains for well over ten seconds, so it is surely running when the server dies.
  testing::TempDir big;
  data::WriteFixture(big);
  std::string nlu = "version: \"3.1\"\nnlu:\n";
  for (const char* intent : {"greet", "goodbye"})
    for (int i = 0; i < 40000; ++i)
      nlu += (i == 0 ? std::string("- intent: ") + intent + "\n  examples: |\n" : std::string()) + "    - " + intent +
             " example number " + std::to_string(i) + " with some more words\n";
  big.Write("data/nlu.yml", nlu);
  big.Write("config.yml", "recipe: default.v1\nlanguage: en\nassistant_id: big\npipeline:\n"
                          "  - name: WhitespaceTokenizer\n  - name: CountVectorsFeaturizer\n    analyzer: char_wb\n"
                          "    min_ngram: 1\n    max_ngram: 5\n  - name: KeywordIntentClassifier\npolicies: []\n");
  std::string running;
  std::vector<std::string> ids;
  {
    ServerProcess server(state_.path() / "state", state_.path() / "port");
    ASSERT_NE(server.port(), 0);
    const Result r = InProject(big.path(), [&] { return Cli({"submit", "nlu", "--server", server.address()}); });
    ASSERT_EQ(r.code, 0) << r.err;
    running = r.out.substr(0, r.out.find('\n'));
    for (int i = 0; i < 5; ++i) {
      const Result q = InProject(project_.path(), [&] { return Cli({"submit", "--force", "--server", server.address()}); });
      ASSERT_EQ(q.code, 0) << q.err;
      ids.push_back(q.out.substr(0, q.out.find('\n')));
    }
    bool is_running = false;
    for (int i = 0; i < 100 && !is_running; ++i) {
      is_running = Cli({"jobs", "--server", server.address()}).out.find(running + "  RUNNING") != std::string::npos;
      if (!is_running) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(is_running) << Cli({"jobs", "--server", server.address()}).out;
    server.Stop(SIGKILL);  // mid-training, with five jobs queued behind it
  }
  ServerProcess restarted(state_.path() / "state", state_.path() / "port");
  ASSERT_NE(restarted.port(), 0);
  // The interrupted job is back in the queue (or running again), on its second attempt.
  const std::string listing = Cli({"jobs", "--server", restarted.address()}).out;
  const size_t line = listing.find(running);
  ASSERT_NE(line, std::string::npos) << listing;
  const std::string row = listing.substr(line, listing.find('\n', line) - line);
  auto has = [&](const char* text) { return row.find(text) != std::string::npos; };
  EXPECT_TRUE((has("QUEUED") && has("attempts=1")) || (has("RUNNING") && has("attempts=2"))) << row;
  EXPECT_EQ(Cli({"cancel", running, "--server", restarted.address()}).code, 0);
  for (const std::string& id : ids) {
    const Result watched = Cli({"watch", id, "--server", restarted.address()});
    EXPECT_EQ(watched.code, 0) << id << "\n" << watched.out << watched.err;
  }
  // No partial model is visible: every stored model is a whole archive.
  for (const auto& e : fs::directory_iterator(state_.path() / "state" / "models")) {
    const std::string name = e.path().filename().string();
    if (name.rfind(".tmp", 0) == 0) continue;
    EXPECT_NO_THROW(storage::ReadArchiveMetadata(e.path())) << name;
  }
}

TEST_F(ServerProcessTest, TlsServesClientsThatTrustItsCertificate) {
  const fs::path key = state_.path() / "key.pem", cert = state_.path() / "cert.pem";
  const std::string openssl = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext "
                              "subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " + key.string() + " -out " +
                              cert.string() + " >/dev/null 2>&1";
  if (std::system(openssl.c_str()) != 0) GTEST_SKIP() << "openssl is not available";
  ServerProcess server(state_.path() / "state", state_.path() / "port",
                       {"--tls-cert", cert.string(), "--tls-key", key.string()});
  ASSERT_NE(server.port(), 0);
  const std::string address = "localhost:" + std::to_string(server.port());
  const Result trusted = Cli({"jobs", "--server", address, "--tls-ca", cert.string()});
  EXPECT_EQ(trusted.code, 0) << trusted.err;
  EXPECT_EQ(Cli({"jobs", "--server", address}).code, 1);  // plaintext client: refused
}

TEST_F(ServerProcessTest, SettingsComeFromAYamlFile) {
  // The file turns authentication on: callers without the token are refused.
  const fs::path tokens = state_.Write("tokens", "secret-1 acme\n");
  const fs::path config = state_.Write("server.yml", "tokens_file: " + tokens.string() + "\nworkers: 2\n");
  ServerProcess server(state_.path() / "state", state_.path() / "port", {"--config", config.string()});
  ASSERT_NE(server.port(), 0);
  EXPECT_EQ(Cli({"jobs", "--server", server.address()}).code, 1);
  const Result with_token = Cli({"jobs", "--server", server.address(), "--token", "secret-1"});
  EXPECT_EQ(with_token.code, 0) << with_token.err;
}

TEST_F(ServerProcessTest, ABadSettingsFileStopsTheServerWithFileAndLine) {
  const fs::path config = state_.Write("server.yml", "listen: 127.0.0.1:0\nwrokers: 2\n");
  ServerProcess server(state_.path() / "state", state_.path() / "port", {"--config", config.string()});
  EXPECT_EQ(server.port(), 0);
  EXPECT_EQ(server.Wait(), 1);
}

}  // namespace
}  // namespace trainyard::server
