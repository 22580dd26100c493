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

struct S3Options {
  std::string endpoint = "https://s3.amazonaws.com";  // scheme://host[:port], path-style requests
  std::string bucket;
  std::string prefix;                                 // key prefix inside the bucket
  std::string region = "us-east-1";
  std::string access_key, secret_key;                 // AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
};

// Artifacts in an S3-compatible object store.
std::unique_ptr<ArtifactStore> OpenS3ArtifactStore(const S3Options& options);

// "s3://bucket/prefix" with endpoint, region and credentials from the usual
// AWS_* variables (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY), or a directory path.
std::unique_ptr<ArtifactStore> OpenArtifactStore(const std::string& uri);

// Artifacts as files in `directory` (created if missing).
std::unique_ptr<ArtifactStore> OpenLocalArtifactStore(const std::filesystem::path& directory);

}  // namespace trainyard::server
