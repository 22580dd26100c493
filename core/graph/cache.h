#pragma once

// The training cache (SPEC §5.3): node fingerprint key → output fingerprint,
// plus, for outputs that are resources, a copy of the resource directory, so
// that an unchanged node is restored instead of retrained.
//
// Layout: <directory>/cache.db (SQLite, WAL) and one directory per cached
// resource. A resource is first written into a temp directory inside the cache
// folder and renamed into place before its row is committed, so a crash never
// leaves a row pointing at a partial directory; stray temp directories are
// removed when the cache is opened.
//
// Thread-safe: one connection per TrainingCache guarded by a mutex. Several
// processes may use one directory at once (SQLite locking; busy timeout).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace trainyard::graph {

struct CacheOptions {
  // Where the cache lives. Default: $TRAINYARD_CACHE_DIR or ".trainyard/cache".
  std::filesystem::path directory = ".trainyard/cache";
  // Limit on cached resource bytes, in MB. 0 disables the cache completely:
  // nothing is written and every lookup misses.
  double max_size_mb = 1000;
  // Version written with each entry; entries older than
  // `min_compatible_version` are deleted when the cache opens.
  std::string version;
  std::string min_compatible_version = "0.1.0";
};

// Options from TRAINYARD_CACHE_DIR and TRAINYARD_MAX_CACHE_SIZE (MB).
CacheOptions CacheOptionsFromEnvironment();

class TrainingCache {
 public:
  // Opens (creating if needed) the cache. An unusable directory does not fail
  // training: it is reported through `warning` and the cache is disabled.
  static std::unique_ptr<TrainingCache> Open(const CacheOptions& options, std::string* warning = nullptr);
  ~TrainingCache();
  TrainingCache(const TrainingCache&) = delete;
  TrainingCache& operator=(const TrainingCache&) = delete;

  bool disabled() const { return db_ == nullptr; }

  // Records `key` → `output_fingerprint`. When `resource_dir` is given, copies
  // it into the cache (unless it alone exceeds the size limit, in which case
  // only the fingerprint is stored), evicting least recently used entries to
  // make room. Re-storing a key overwrites its output fingerprint.
  void CacheOutput(const std::string& key, const std::string& output_fingerprint,
                   const std::filesystem::path* resource_dir);

  // The output fingerprint cached for `key`, refreshing its last use.
  std::optional<std::string> GetCachedOutputFingerprint(const std::string& key);

  // The cached resource directory of an entry with this output fingerprint,
  // if one exists on disk.
  std::optional<std::filesystem::path> GetCachedResult(const std::string& output_fingerprint);

  // Bytes used by cached resources.
  uint64_t UsedBytes();

 private:
  TrainingCache(CacheOptions options, sqlite3* db) : options_(std::move(options)), db_(db) {}
  void Exec(const std::string& sql);
  void EvictUntilFits(uint64_t incoming, std::vector<std::filesystem::path>& doomed);
  // Removes resource directories no row refers to (left by a crash).
  void RemoveOrphans();
  void DeleteVersionsBelow(const std::string& version);

  const CacheOptions options_;
  std::mutex mutex_;
  sqlite3* db_;  // null when disabled; guarded by mutex_
};

}  // namespace trainyard::graph
