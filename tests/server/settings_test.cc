#include "server/settings.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/util/errors.h"
#include "tests/support/test_helpers.h"

namespace trainyard::server {
namespace {

const std::set<std::string> kKnown = {"listen", "state-dir", "workers"};

TEST(Settings, FileValuesAcceptUnderscoresOrDashes) {
  testing::TempDir dir;
  dir.Write("server.yml", "listen: 0.0.0.0:9000\nstate_dir: /var/lib/trainyard\nworkers: 4\n");
  const auto s = ReadSettingsFile(dir.path() / "server.yml", kKnown);
  EXPECT_EQ(s.at("listen"), "0.0.0.0:9000");
  EXPECT_EQ(s.at("state-dir"), "/var/lib/trainyard");
  EXPECT_EQ(s.at("workers"), "4");
}

TEST(Settings, BadFilesNameFileLineAndProblem) {
  testing::TempDir dir;
  struct Case {
    const char* yaml;
    int line;
    const char* message;
  };
  for (const Case& c : {Case{"listen: a\nstate_dri: b\n", 2, "Unknown setting 'state_dri'"},
                        Case{"workers:\n  - 1\n", 2, "takes a single value"},
                        Case{"- listen\n", 1, "must be a mapping"},
                        Case{"listen: [\n", 2, ""}}) {
    dir.Write("server.yml", c.yaml);
    try {
      ReadSettingsFile(dir.path() / "server.yml", kKnown);
      ADD_FAILURE() << c.yaml;
    } catch (const util::InvalidDataError& e) {
      ASSERT_FALSE(e.details().empty());
      EXPECT_EQ(e.details()[0].location.file, (dir.path() / "server.yml").string());
      EXPECT_EQ(e.details()[0].location.line, c.line) << c.yaml;
      EXPECT_NE(e.details()[0].message.find(c.message), std::string::npos) << e.details()[0].message;
    }
  }
}

TEST(Settings, FlagsWinOverEnvironmentWhichWinsOverTheFile) {
  const std::map<std::string, std::string> file = {{"state-dir", "from-file"}, {"workers", "2"}};
  auto env = [](const char* name) -> const char* { return std::strcmp(name, "TRAINYARD_STATE_DIR") == 0 ? "from-env" : nullptr; };
  EXPECT_EQ(ResolveSetting("state-dir", std::string("from-flag"), env, file), "from-flag");
  EXPECT_EQ(ResolveSetting("state-dir", std::nullopt, env, file), "from-env");
  EXPECT_EQ(ResolveSetting("workers", std::nullopt, env, file), "2");
  EXPECT_EQ(ResolveSetting("listen", std::nullopt, env, file), std::nullopt);
}

TEST(Settings, GpusAreFoundOrListed) {
  testing::TempDir driver;
  EXPECT_TRUE(ParseGpus("auto", driver.path() / "absent").empty());
  driver.Write("0000:17:00.0/information", "Model: H200");
  driver.Write("0000:65:00.0/information", "Model: H200");
  EXPECT_EQ(ParseGpus("auto", driver.path()), (std::vector<std::string>{"cuda:0", "cuda:1"}));
  EXPECT_TRUE(ParseGpus("none", driver.path()).empty());
  EXPECT_EQ(ParseGpus("2,0"), (std::vector<std::string>{"cuda:2", "cuda:0"}));
  for (const char* bad : {"", "yes", "0,", "0,0", "-1", "1,x"}) EXPECT_THROW(ParseGpus(bad), util::Error) << bad;
}

// The driver lists GPUs that a CPU-only libtorch cannot use: "auto" trains on
// the CPU and says so; indices libtorch does not see are refused.
TEST(Settings, GpusLibtorchCannotSeeAreLeftOutOrRefused) {
  const std::vector<std::string> two{"cuda:0", "cuda:1"};
  std::string warning;
  EXPECT_EQ(UsableGpus("auto", two, 2, &warning), two);
  EXPECT_EQ(warning, "");
  EXPECT_TRUE(UsableGpus("auto", two, 0, &warning).empty());
  EXPECT_EQ(warning, "the NVIDIA driver lists 2 GPU(s), libtorch sees 0: jobs share the CPU cores");
  EXPECT_EQ(UsableGpus("auto", two, 1, &warning), (std::vector<std::string>{"cuda:0"}));
  EXPECT_EQ(UsableGpus("0", {"cuda:0"}, 1, nullptr), (std::vector<std::string>{"cuda:0"}));
  try {
    UsableGpus("0", {"cuda:0"}, 0, nullptr);
    ADD_FAILURE() << "no error";
  } catch (const util::Error& e) {
    EXPECT_EQ(e.code(), util::ErrorCode::kInvalidArgument);
    EXPECT_EQ(std::string(e.what()), "gpus lists cuda:0, but libtorch sees 0 CUDA device(s) (a CPU-only libtorch?).");
  }
  EXPECT_THROW(UsableGpus("1,0", {"cuda:1", "cuda:0"}, 1, nullptr), util::Error);
}

}  // namespace
}  // namespace trainyard::server
