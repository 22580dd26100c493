#include "core/graph/cache.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "core/util/errors.h"
#include "tests/support/test_helpers.h"

namespace fs = std::filesystem;

namespace trainyard::graph {
namespace {

// A resource directory holding `bytes` bytes.
fs::path MakeResource(const testing::TempDir& dir, const std::string& name, size_t bytes) {
  const fs::path p = dir.path() / "resources" / name;
  fs::create_directories(p);
  std::ofstream(p / "data.bin", std::ios::binary) << std::string(bytes, 'x');
  return p;
}

CacheOptions Options(const testing::TempDir& dir, double mb) {
  CacheOptions o;
  o.directory = dir.path() / "cache";
  o.max_size_mb = mb;
  o.version = "0.1.0";
  return o;
}

constexpr size_t kMB = 1024 * 1024;

TEST(TrainingCache, StoresAndLooksUpByKey) {
  testing::TempDir dir;
  auto cache = TrainingCache::Open(Options(dir, 10));
  ASSERT_FALSE(cache->disabled());
  EXPECT_FALSE(cache->GetCachedOutputFingerprint("k1"));
  const fs::path res = MakeResource(dir, "a", 100);
  cache->CacheOutput("k1", "out1", &res);
  EXPECT_EQ(*cache->GetCachedOutputFingerprint("k1"), "out1");
  const auto restored = cache->GetCachedResult("out1");
  ASSERT_TRUE(restored);
  EXPECT_EQ(fs::file_size(*restored / "data.bin"), 100u);
  EXPECT_FALSE(cache->GetCachedResult("unknown"));
}

TEST(TrainingCache, NonResourceOutputsStoreOnlyTheFingerprint) {
  testing::TempDir dir;
  auto cache = TrainingCache::Open(Options(dir, 10));
  cache->CacheOutput("k", "fp", nullptr);
  EXPECT_EQ(*cache->GetCachedOutputFingerprint("k"), "fp");
  EXPECT_FALSE(cache->GetCachedResult("fp"));
  cache->CacheOutput("k", "fp2", nullptr);  // re-storing overwrites
  EXPECT_EQ(*cache->GetCachedOutputFingerprint("k"), "fp2");
}

TEST(TrainingCache, SizeZeroDisablesAndCreatesNothing) {
  testing::TempDir dir;
  auto cache = TrainingCache::Open(Options(dir, 0));
  EXPECT_TRUE(cache->disabled());
  const fs::path res = MakeResource(dir, "a", 10);
  cache->CacheOutput("k", "fp", &res);
  EXPECT_FALSE(cache->GetCachedOutputFingerprint("k"));
  EXPECT_FALSE(fs::exists(dir.path() / "cache"));
}

TEST(TrainingCache, OutputLargerThanTheLimitKeepsOnlyItsFingerprint) {
  testing::TempDir dir;
  auto cache = TrainingCache::Open(Options(dir, 1));
  const fs::path big = MakeResource(dir, "big", 2 * kMB);
  cache->CacheOutput("k", "fp", &big);
  EXPECT_EQ(*cache->GetCachedOutputFingerprint("k"), "fp");
  EXPECT_FALSE(cache->GetCachedResult("fp"));
  EXPECT_EQ(cache->UsedBytes(), 0u);
}

TEST(TrainingCache, EvictsLeastRecentlyUsed) {
  testing::TempDir dir;
  auto cache = TrainingCache::Open(Options(dir, 5));
  const fs::path a = MakeResource(dir, "a", 2 * kMB), b = MakeResource(dir, "b", 10),
                 c = MakeResource(dir, "c", 2 * kMB), d = MakeResource(dir, "d", 2 * kMB);
  cache->CacheOutput("A", "fa", &a);
  cache->CacheOutput("B", "fb", &b);
  cache->CacheOutput("C", "fc", &c);
  ASSERT_TRUE(cache->GetCachedOutputFingerprint("A"));  // refreshes A
  cache->CacheOutput("D", "fd", &d);                    // needs room: B then C go
  EXPECT_TRUE(cache->GetCachedResult("fa"));
  EXPECT_TRUE(cache->GetCachedResult("fd"));
  EXPECT_FALSE(cache->GetCachedResult("fb"));
  EXPECT_FALSE(cache->GetCachedResult("fc"));
  EXPECT_LE(cache->UsedBytes(), 5 * kMB);
}

TEST(TrainingCache, ForeignFilesArePurgedWhenSpaceIsNeeded) {
  testing::TempDir dir;
  auto cache = TrainingCache::Open(Options(dir, 3));
  std::ofstream(dir.path() / "cache" / "junk.bin", std::ios::binary) << std::string(2 * kMB, 'j');
  const fs::path a = MakeResource(dir, "a", 2 * kMB);
  cache->CacheOutput("A", "fa", &a);  // 2 MB of junk + 2 MB > 3 MB and no entry to evict
  EXPECT_TRUE(cache->GetCachedResult("fa"));
  EXPECT_FALSE(fs::exists(dir.path() / "cache" / "junk.bin"));
  EXPECT_TRUE(fs::exists(dir.path() / "cache" / "cache.db"));
}

TEST(TrainingCache, EntriesOfIncompatibleVersionsAreDeletedOnOpen) {
  testing::TempDir dir;
  CacheOptions old = Options(dir, 10);
  old.version = "0.0.9";
  old.min_compatible_version = "0.0.1";
  const fs::path a = MakeResource(dir, "a", 10);
  TrainingCache::Open(old)->CacheOutput("old", "f_old", &a);
  CacheOptions newer = Options(dir, 10);
  newer.version = "0.2.0";
  newer.min_compatible_version = "0.0.1";
  TrainingCache::Open(newer)->CacheOutput("new", "f_new", &a);
  CacheOptions now = Options(dir, 10);
  now.min_compatible_version = "0.1.0";
  auto cache = TrainingCache::Open(now);
  EXPECT_FALSE(cache->GetCachedOutputFingerprint("old"));
  EXPECT_TRUE(cache->GetCachedOutputFingerprint("new"));
  size_t dirs = 0;
  for (const auto& e : fs::directory_iterator(dir.path() / "cache")) dirs += e.is_directory();
  EXPECT_EQ(dirs, 1u);
}

TEST(TrainingCache, UnwritableDirectoryDisablesWithAWarning) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "file") << "x";
  CacheOptions o = Options(dir, 10);
  o.directory = dir.path() / "file" / "cache";  // a path below a regular file
  std::string warning;
  auto cache = TrainingCache::Open(o, &warning);
  EXPECT_TRUE(cache->disabled());
  EXPECT_NE(warning.find("without a cache"), std::string::npos) << warning;
}

TEST(TrainingCache, ThreadsAndProcessesShareOneCache) {
  testing::TempDir dir;
  const CacheOptions options = Options(dir, 50);
  const fs::path res = MakeResource(dir, "r", 1000);
  // Two processes and two threads each write 30 entries, interleaved.
  const pid_t child = fork();
  if (child == 0) {
    auto cache = TrainingCache::Open(options);
    if (cache->disabled()) _exit(1);
    for (int i = 0; i < 30; ++i) cache->CacheOutput("p" + std::to_string(i), "fp" + std::to_string(i), &res);
    _exit(0);
  }
  auto cache = TrainingCache::Open(options);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i)
        cache->CacheOutput("t" + std::to_string(t) + "-" + std::to_string(i), "tf" + std::to_string(i), &res);
    });
  for (auto& th : threads) th.join();
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(cache->GetCachedOutputFingerprint("p" + std::to_string(i)).value_or(""), "fp" + std::to_string(i));
    EXPECT_TRUE(cache->GetCachedOutputFingerprint("t1-" + std::to_string(i)));
  }
  EXPECT_EQ(cache->UsedBytes(), 90u * 1000u);
}

TEST(TrainingCache, ACrashedWriterLeavesNothingThatIsServed) {
  testing::TempDir dir;
  const CacheOptions options = Options(dir, 50);
  const fs::path res = MakeResource(dir, "r", 4 * kMB);
  const pid_t child = fork();
  if (child == 0) {
    // Die in the middle of copying a resource into the cache.
    std::thread([] {
      std::this_thread::sleep_for(std::chrono::milliseconds(40));
      kill(getpid(), SIGKILL);
    }).detach();
    auto cache = TrainingCache::Open(options);
    for (int i = 0;; ++i) cache->CacheOutput("k" + std::to_string(i), "f" + std::to_string(i), &res);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto cache = TrainingCache::Open(options);
  // Some entries were written before the kill (older ones were evicted: 50 MB
  // hold 12); every entry that is served is whole.
  int served = 0;
  for (int i = 0; i < 2000; ++i) {
    const auto fp = cache->GetCachedOutputFingerprint("k" + std::to_string(i));
    if (!fp) continue;
    const auto result = cache->GetCachedResult(*fp);
    ASSERT_TRUE(result) << i;
    EXPECT_EQ(fs::file_size(*result / "data.bin"), 4 * kMB);
    ++served;
  }
  EXPECT_GT(served, 0);
  EXPECT_LE(cache->UsedBytes(), 50 * kMB);
}

}  // namespace
}  // namespace trainyard::graph

#include <sqlite3.h>

namespace trainyard::graph {
namespace {

TEST(TrainingCache, AFailedDatabaseWriteRemovesTheMovedDirectoryAndSurfaces) {
  testing::TempDir dir;
  auto cache = TrainingCache::Open(Options(dir, 10));
  // Make every insert fail, from another connection, as a broken disk would.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() / "cache" / "cache.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TRIGGER fail BEFORE INSERT ON cache_entry BEGIN SELECT RAISE(ABORT, 'disk "
                             "broke'); END;", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  const fs::path res = MakeResource(dir, "a", 1000);
  EXPECT_THROW(cache->CacheOutput("k", "fp", &res), util::Error);
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path() / "cache"))
    entries += e.path().filename().string().rfind("cache.db", 0) != 0;
  EXPECT_EQ(entries, 0u) << "the resource copy must not stay behind";
  EXPECT_FALSE(cache->GetCachedOutputFingerprint("k"));
}

}  // namespace
}  // namespace trainyard::graph
