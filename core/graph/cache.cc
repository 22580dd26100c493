#include "core/graph/cache.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "core/util/errors.h"
#include "core/util/sqlite.h"
#include "core/util/strings.h"

namespace fs = std::filesystem;

namespace trainyard::graph {
namespace {

constexpr const char* kDatabase = "cache.db";
constexpr const char* kTempPrefix = ".tmp-";

using Statement = util::SqliteStatement;

// Strictly increasing within a process, so LRU order is exact even for
// operations in the same microsecond.
double Now() {
  static std::atomic<double> last{0};
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  double prev = last.load();
  while (true) {
    const double next = now > prev ? now : prev + 1e-6;
    if (last.compare_exchange_weak(prev, next)) return next;
  }
}

std::string UniqueName(const std::string& prefix) {
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  return prefix + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(rd());
}

uint64_t DirectoryBytes(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  return total;
}

}  // namespace

CacheOptions CacheOptionsFromEnvironment() {
  CacheOptions options;
  if (const char* dir = std::getenv("TRAINYARD_CACHE_DIR"); dir && *dir) options.directory = dir;
  if (const char* size = std::getenv("TRAINYARD_MAX_CACHE_SIZE")) {
    char* end = nullptr;
    const double mb = std::strtod(size, &end);
    if (end != size && mb >= 0) options.max_size_mb = mb;
  }
  return options;
}

std::unique_ptr<TrainingCache> TrainingCache::Open(const CacheOptions& options, std::string* warning) {
  auto disabled = [&](const std::string& why) {
    if (warning && !why.empty()) *warning = why;
    return std::unique_ptr<TrainingCache>(new TrainingCache(options, nullptr));
  };
  if (options.max_size_mb <= 0) return disabled("");
  std::error_code ec;
  fs::create_directories(options.directory, ec);
  if (ec)
    return disabled("The training cache directory '" + options.directory.string() +
                    "' cannot be created (" + ec.message() + "); training continues without a cache.");
  sqlite3* db = nullptr;
  const fs::path file = options.directory / kDatabase;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return disabled("The training cache '" + file.string() + "' cannot be opened (" + why +
                    "); training continues without a cache.");
  }
  sqlite3_busy_timeout(db, 30000);
  std::unique_ptr<TrainingCache> cache(new TrainingCache(options, db));
  try {
    cache->Exec("PRAGMA journal_mode=WAL");
    cache->Exec("PRAGMA synchronous=NORMAL");
    cache->Exec(
        "CREATE TABLE IF NOT EXISTS cache_entry ("
        " fingerprint_key TEXT PRIMARY KEY,"
        " output_fingerprint_key TEXT NOT NULL,"
        " last_used REAL NOT NULL,"
        " version TEXT NOT NULL,"
        " result_location TEXT,"
        " size_bytes INTEGER NOT NULL DEFAULT 0)");
    cache->Exec("CREATE INDEX IF NOT EXISTS cache_entry_output ON cache_entry(output_fingerprint_key)");
    cache->Exec("BEGIN IMMEDIATE");
    cache->DeleteVersionsBelow(options.min_compatible_version);
    cache->Exec("COMMIT");
    cache->Exec("BEGIN IMMEDIATE");  // no other writer may rename a resource in meanwhile
    cache->RemoveOrphans();
    cache->Exec("COMMIT");
  } catch (const util::Error& e) {
    sqlite3_close(cache->db_);
    cache->db_ = nullptr;
    if (warning) *warning = std::string(e.what()) + "; training continues without a cache.";
    return cache;
  }
  // Temp directories left by a crashed writer (older than an hour, so that a
  // concurrent writer's are left alone) are never referenced by a row.
  const auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& entry : fs::directory_iterator(options.directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (util::StartsWith(name, kTempPrefix) && entry.last_write_time(ec) < cutoff) fs::remove_all(entry.path(), ec);
  }
  return cache;
}

TrainingCache::~TrainingCache() {
  if (db_) sqlite3_close(db_);
}

void TrainingCache::Exec(const std::string& sql) { util::SqliteExec(db_, sql); }

void TrainingCache::DeleteVersionsBelow(const std::string& version) {
  std::vector<std::pair<std::string, std::string>> old;  // key, location
  {
    Statement s(db_, "SELECT fingerprint_key, version, result_location FROM cache_entry");
    while (s.Step())
      if (util::CompareVersions(s.Text(1), version) < 0) old.emplace_back(s.Text(0), s.Text(2));
  }
  // Only the rows; their directories become orphans that RemoveOrphans deletes
  // once this is committed.
  for (const auto& entry : old)
    Statement(db_, "DELETE FROM cache_entry WHERE fingerprint_key = ?").Bind(1, entry.first).Step();
}

uint64_t TrainingCache::UsedBytes() {
  if (disabled()) return 0;
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, "SELECT COALESCE(SUM(size_bytes), 0) FROM cache_entry WHERE result_location IS NOT NULL");
  s.Step();
  return static_cast<uint64_t>(s.Int(0));
}

// Bytes on disk in the cache folder, without the database and in-flight writes.
static uint64_t FolderBytes(const fs::path& folder) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (util::StartsWith(name, kDatabase) || util::StartsWith(name, kTempPrefix)) continue;
    total += entry.is_directory(ec) ? DirectoryBytes(entry.path()) : entry.file_size(ec);
  }
  return total;
}

void TrainingCache::EvictUntilFits(uint64_t incoming, std::vector<fs::path>& doomed) {
  const auto limit = static_cast<uint64_t>(options_.max_size_mb * 1024 * 1024);
  uint64_t used = FolderBytes(options_.directory);
  while (used + incoming > limit) {
    Statement lru(db_,
                  "SELECT fingerprint_key, result_location, size_bytes FROM cache_entry WHERE "
                  "result_location IS NOT NULL ORDER BY last_used ASC LIMIT 1");
    if (!lru.Step()) break;
    const std::string key = lru.Text(0);
    // The row goes now, the directory only after the commit: a crash in
    // between leaves an unreferenced directory, never a row without its data.
    doomed.push_back(options_.directory / lru.Text(1));
    const auto size = static_cast<uint64_t>(lru.Int(2));
    used = used > size ? used - size : 0;
    Statement(db_, "DELETE FROM cache_entry WHERE fingerprint_key = ?").Bind(1, key).Step();
  }
  if (used + incoming <= limit) return;
  // No entry left to evict but still no room: files that are not ours are
  // taking the space. Nothing references them (renames into the folder only
  // happen under the write lock we hold), so they go at once.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (util::StartsWith(name, kDatabase) || util::StartsWith(name, kTempPrefix)) continue;
    if (std::find(doomed.begin(), doomed.end(), entry.path()) != doomed.end()) continue;
    fs::remove_all(entry.path(), ec);
  }
}

void TrainingCache::RemoveOrphans() {
  std::set<std::string> referenced;
  {
    Statement s(db_, "SELECT result_location FROM cache_entry WHERE result_location IS NOT NULL");
    while (s.Step()) referenced.insert(s.Text(0));
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (util::StartsWith(name, "res-") && !referenced.count(name)) fs::remove_all(entry.path(), ec);
  }
}

void TrainingCache::CacheOutput(const std::string& key, const std::string& output_fingerprint,
                                const fs::path* resource_dir) {
  if (disabled()) return;
  const auto limit = static_cast<uint64_t>(options_.max_size_mb * 1024 * 1024);
  std::string location;
  uint64_t size = 0;
  fs::path temp;
  if (resource_dir) {
    size = DirectoryBytes(*resource_dir);
    if (size <= limit) {
      // Copy outside the lock: it is the slow part and touches only our temp dir.
      temp = options_.directory / UniqueName(kTempPrefix);
      std::error_code ec;
      fs::copy(*resource_dir, temp, fs::copy_options::recursive, ec);
      if (ec) {
        fs::remove_all(temp, ec);
        temp.clear();
      } else {
        location = UniqueName("res-");
      }
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<fs::path> doomed;
  Exec("BEGIN IMMEDIATE");
  try {
    std::string previous;
    {
      Statement s(db_, "SELECT result_location FROM cache_entry WHERE fingerprint_key = ?");
      s.Bind(1, key);
      if (s.Step() && !s.IsNull(0)) previous = s.Text(0);
    }
    if (!location.empty()) {
      EvictUntilFits(size, doomed);
      fs::rename(temp, options_.directory / location);
    }
    Statement upsert(db_,
                     "INSERT INTO cache_entry (fingerprint_key, output_fingerprint_key, last_used, version, "
                     "result_location, size_bytes) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(fingerprint_key) DO "
                     "UPDATE SET output_fingerprint_key = excluded.output_fingerprint_key, last_used = "
                     "excluded.last_used, version = excluded.version, result_location = "
                     "excluded.result_location, size_bytes = excluded.size_bytes");
    upsert.Bind(1, key).Bind(2, output_fingerprint).Bind(3, Now()).Bind(4, options_.version);
    if (location.empty()) upsert.BindNull(5); else upsert.Bind(5, location);
    upsert.Bind(6, static_cast<int64_t>(location.empty() ? 0 : size));
    upsert.Step();
    Exec("COMMIT");
    std::error_code ec;
    if (!previous.empty() && previous != location) fs::remove_all(options_.directory / previous, ec);
    for (const fs::path& dir : doomed) fs::remove_all(dir, ec);
  } catch (...) {
    std::error_code ec;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    if (!location.empty()) fs::remove_all(options_.directory / location, ec);
    if (!temp.empty()) fs::remove_all(temp, ec);
    throw;
  }
}

std::optional<std::string> TrainingCache::GetCachedOutputFingerprint(const std::string& key) {
  if (disabled()) return std::nullopt;
  std::lock_guard<std::mutex> lock(mutex_);
  std::optional<std::string> out;
  {
    Statement s(db_, "SELECT output_fingerprint_key FROM cache_entry WHERE fingerprint_key = ?");
    s.Bind(1, key);
    if (s.Step()) out = s.Text(0);
  }
  if (out)
    Statement(db_, "UPDATE cache_entry SET last_used = ? WHERE fingerprint_key = ?").Bind(1, Now()).Bind(2, key).Step();
  return out;
}

std::optional<fs::path> TrainingCache::GetCachedResult(const std::string& output_fingerprint) {
  if (disabled()) return std::nullopt;
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_,
              "SELECT result_location FROM cache_entry WHERE output_fingerprint_key = ? AND "
              "result_location IS NOT NULL");
  s.Bind(1, output_fingerprint);
  while (s.Step()) {
    const fs::path dir = options_.directory / s.Text(0);
    std::error_code ec;
    if (fs::is_directory(dir, ec)) return dir;
  }
  return std::nullopt;
}

}  // namespace trainyard::graph
