// The S3 artifact store against a real S3-compatible server (s3rver, started
// by .ci/run on loopback; TRAINYARD_TEST_S3_ENDPOINT names it). Skipped when
// no server is given.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "core/util/errors.h"
#include "core/util/fs.h"
#include "core/util/sha256.h"
#include "server/artifact_store.h"
#include "tests/support/test_helpers.h"

namespace trainyard::server {
namespace {

S3Options TestServer() {
  S3Options o;
  const char* endpoint = std::getenv("TRAINYARD_TEST_S3_ENDPOINT");
  if (endpoint) o.endpoint = endpoint;
  o.bucket = "trainyard";
  o.prefix = "test-" + std::to_string(::getpid());
  o.access_key = "S3RVER";  // s3rver's default credentials
  o.secret_key = "S3RVER";
  return o;
}

TEST(S3ArtifactStore, RoundTripWithChecksumAndMissingObjects) {
  if (!std::getenv("TRAINYARD_TEST_S3_ENDPOINT")) GTEST_SKIP() << "TRAINYARD_TEST_S3_ENDPOINT is not set";
  testing::TempDir dir;
  std::string content(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * 131) % 251);
  const auto model = dir.Write("model.tar.gz", content);
  auto store = OpenS3ArtifactStore(TestServer());
  const StoredArtifact stored = store->Put(model, "job1.tar.gz");
  EXPECT_EQ(stored.size, content.size());
  EXPECT_EQ(stored.sha256, util::Sha256Hex(content));
  EXPECT_EQ(stored.uri, "s3://trainyard/" + TestServer().prefix + "/job1.tar.gz");
  store->Get("job1.tar.gz", dir.path() / "back.tar.gz");
  EXPECT_EQ(util::Sha256File(dir.path() / "back.tar.gz"), stored.sha256);
  store->Remove("job1.tar.gz");
  EXPECT_THROW(store->Get("job1.tar.gz", dir.path() / "gone"), util::NotFoundError);
  EXPECT_THROW(store->Put(model, "../escape"), util::Error);
}

TEST(S3ArtifactStore, UnknownAccessKeysAreRefusedByTheServer) {
  if (!std::getenv("TRAINYARD_TEST_S3_ENDPOINT")) GTEST_SKIP() << "TRAINYARD_TEST_S3_ENDPOINT is not set";
  testing::TempDir dir;
  S3Options o = TestServer();
  o.access_key = "NOT-A-KNOWN-KEY";
  EXPECT_THROW(OpenS3ArtifactStore(o)->Put(dir.Write("m", "x"), "k"), util::Error);
}

}  // namespace
}  // namespace trainyard::server
