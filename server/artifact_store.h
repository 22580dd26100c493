#pragma once

// Where finished models go. Writes are atomic: a reader never sees a partial
// model under its final key. Implementations are thread-safe.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace trainyard::server {

struct StoredArtifact {
  std::string uri;     // "file:///…/models/<key>" or "s3://bucket/prefix/<key>"
  uint64_t size = 0;
  std::string sha256;  // hex
};

class ArtifactStore {
 public:
  virtual ~ArtifactStore() = default;
  // Stores the file at `local` under `key` (a plain file name).
  virtual StoredArtifact Put(const std::filesystem::path& local, const std::string& key) = 0;
  // Copies the artifact `key` to `local`; util::NotFoundError when missing.
  virtual void Get(const std::string& key, const std::filesystem::path& local) = 0;
  virtual void Remove(const std::string& key) = 0;
};

// Artifacts as files in `directory` (created if missing).
std::unique_ptr<ArtifactStore> OpenLocalArtifactStore(const std::filesystem::path& directory);

}  // namespace trainyard::server
