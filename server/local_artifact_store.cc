#include <unistd.h>

#include "core/util/errors.h"
#include "core/util/sha256.h"
#include "server/artifact_store.h"

namespace fs = std::filesystem;

namespace trainyard::server {
namespace {

void CheckKey(const std::string& key) {
  if (key.empty() || key.find('/') != std::string::npos || key == "." || key == ".." || key[0] == '.')
    throw util::Error(util::ErrorCode::kInvalidArgument, "Invalid artifact key '" + key + "'.");
}

class LocalArtifactStore : public ArtifactStore {
 public:
  explicit LocalArtifactStore(fs::path directory) : directory_(std::move(directory)) {
    fs::create_directories(directory_);
  }

  StoredArtifact Put(const fs::path& local, const std::string& key) override {
    CheckKey(key);
    const fs::path temp = directory_ / (".tmp-" + key + "-" + std::to_string(::getpid()));
    fs::copy_file(local, temp, fs::copy_options::overwrite_existing);
    const std::string sha = util::Sha256File(temp);
    const uint64_t size = fs::file_size(temp);
    fs::rename(temp, directory_ / key);  // atomic: never partial under the final name
    return {"file://" + fs::absolute(directory_ / key).string(), size, sha};
  }

  void Get(const std::string& key, const fs::path& local) override {
    CheckKey(key);
    std::error_code ec;
    if (!fs::exists(directory_ / key, ec)) throw util::NotFoundError("No artifact '" + key + "'.");
    fs::copy_file(directory_ / key, local, fs::copy_options::overwrite_existing);
  }

  void Remove(const std::string& key) override {
    CheckKey(key);
    std::error_code ec;
    fs::remove(directory_ / key, ec);
  }

 private:
  fs::path directory_;
};

}  // namespace

std::unique_ptr<ArtifactStore> OpenLocalArtifactStore(const fs::path& directory) {
  return std::make_unique<LocalArtifactStore>(directory);
}

std::unique_ptr<ArtifactStore> OpenArtifactStore(const std::string& uri) {
  if (uri.rfind("s3://", 0) != 0) return OpenLocalArtifactStore(uri.rfind("file://", 0) == 0 ? uri.substr(7) : uri);
  auto env = [](const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return std::string(v && *v ? v : fallback);
  };
  S3Options o;
  const std::string rest = uri.substr(5);
  const size_t slash = rest.find('/');
  o.bucket = rest.substr(0, slash);
  if (slash != std::string::npos) o.prefix = rest.substr(slash + 1);
  if (o.bucket.empty()) throw util::Error(util::ErrorCode::kInvalidArgument, "No bucket in '" + uri + "'.");
  o.endpoint = env("AWS_ENDPOINT_URL", "https://s3.amazonaws.com");
  o.region = env("AWS_REGION", env("AWS_DEFAULT_REGION", "us-east-1").c_str());
  o.access_key = env("AWS_ACCESS_KEY_ID", "");
  o.secret_key = env("AWS_SECRET_ACCESS_KEY", "");
  return OpenS3ArtifactStore(o);
}

}  // namespace trainyard::server
