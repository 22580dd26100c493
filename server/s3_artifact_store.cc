// Artifacts in an S3-compatible store, over HTTP(S) with libcurl, requests
// signed by libcurl's own AWS SigV4 support (CURLOPT_AWS_SIGV4). A single PUT
// makes an object visible only once it is whole; the SHA-256 travels as
// x-amz-content-sha256 (checked by the store) and x-amz-meta-sha256.

#include <curl/curl.h>

#include <cctype>

#include <fstream>
#include <mutex>

#include "core/util/errors.h"
#include "core/util/fs.h"
#include "core/util/sha256.h"
#include "server/artifact_store.h"

namespace fs = std::filesystem;

namespace trainyard::server {
namespace {

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

class S3ArtifactStore : public ArtifactStore {
 public:
  explicit S3ArtifactStore(S3Options options) : options_(std::move(options)) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    while (!options_.prefix.empty() && options_.prefix.back() == '/') options_.prefix.pop_back();
  }

  StoredArtifact Put(const fs::path& local, const std::string& key) override {
    const std::string body = util::ReadFile(local, size_t{1} << 34);
    const std::string sha = util::Sha256Hex(body);
    long status = Request("PUT", key, &body, sha, nullptr);
    if (status != 200) throw util::Error(util::ErrorCode::kUnavailable, "S3 PUT of '" + key + "' failed with HTTP " +
                                                                            std::to_string(status) + ".");
    return {"s3://" + options_.bucket + "/" + ObjectKey(key), body.size(), sha};
  }

  void Get(const std::string& key, const fs::path& local) override {
    std::string body;
    const long status = Request("GET", key, nullptr, "", &body);
    if (status == 404) throw util::NotFoundError("No artifact '" + key + "' in s3://" + options_.bucket + ".");
    if (status != 200) throw util::Error(util::ErrorCode::kUnavailable, "S3 GET of '" + key + "' failed with HTTP " +
                                                                            std::to_string(status) + ".");
    util::WriteFileAtomic(local, body);
  }

  void Remove(const std::string& key) override { Request("DELETE", key, nullptr, "", nullptr); }

 private:
  // Percent-encodes everything but RFC 3986's unreserved characters and the
  // '/' between key segments, as S3's canonical URI expects.
  static std::string UriEncode(const std::string& path) {
    static const char* kHex = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : path) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
        out += static_cast<char>(c);
      } else {
        out += '%';
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    }
    return out;
  }

  std::string ObjectKey(const std::string& key) const {
    return options_.prefix.empty() ? key : options_.prefix + "/" + key;
  }

  // Returns the HTTP status (0 when the request could not be made).
  long Request(const char* method, const std::string& key, const std::string* body, const std::string& sha,
               std::string* response) const {
    if (key.empty() || key.find('/') != std::string::npos || key[0] == '.')
      throw util::Error(util::ErrorCode::kInvalidArgument, "Invalid artifact key '" + key + "'.");
    CURL* h = curl_easy_init();
    if (!h) throw util::Error(util::ErrorCode::kInternal, "curl_easy_init failed.");
    const std::string url = options_.endpoint + "/" + UriEncode(options_.bucket) + "/" + UriEncode(ObjectKey(key));
    const std::string sigv4 = "aws:amz:" + options_.region + ":s3";
    const std::string credentials = options_.access_key + ":" + options_.secret_key;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(h, CURLOPT_USERPWD, credentials.c_str());
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 600L);
    std::string sink;
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, response ? response : &sink);
    curl_slist* headers = nullptr;
    const std::string payload_hash = "x-amz-content-sha256: " + (body ? sha : util::Sha256Hex(""));
    headers = curl_slist_append(headers, payload_hash.c_str());
    if (body) {
      const std::string meta = "x-amz-meta-sha256: " + sha;
      headers = curl_slist_append(headers, meta.c_str());
      headers = curl_slist_append(headers, "Content-Type: application/gzip");
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    const CURLcode rc = curl_easy_perform(h);
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK)
      throw util::Error(util::ErrorCode::kUnavailable, "S3 request to " + url + " failed: " + curl_easy_strerror(rc));
    return status;
  }

  S3Options options_;
};

}  // namespace

std::unique_ptr<ArtifactStore> OpenS3ArtifactStore(const S3Options& options) {
  return std::make_unique<S3ArtifactStore>(options);
}

}  // namespace trainyard::server
