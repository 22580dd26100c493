// The S3 artifact store against a real S3-compatible server (s3rver, started
// by .ci/run on loopback; TRAINYARD_TEST_S3_ENDPOINT names it). Skipped when
// no server is given.

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "core/util/errors.h"
#include "core/util/fs.h"
#include "core/util/sha256.h"
#include "server/artifact_store.h"
#include "tests/support/test_helpers.h"

namespace trainyard::server {
namespace {

bool HaveTestServer() {
  const char* endpoint = std::getenv("TRAINYARD_TEST_S3_ENDPOINT");
  return endpoint && *endpoint;
}

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
  if (!HaveTestServer()) GTEST_SKIP() << "TRAINYARD_TEST_S3_ENDPOINT is not set";
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
  if (!HaveTestServer()) GTEST_SKIP() << "TRAINYARD_TEST_S3_ENDPOINT is not set";
  testing::TempDir dir;
  S3Options o = TestServer();
  o.access_key = "NOT-A-KNOWN-KEY";
  EXPECT_THROW(OpenS3ArtifactStore(o)->Put(dir.Write("m", "x"), "k"), util::Error);
}

TEST(S3ArtifactStore, EveryRequestCarriesAValidSignatureV4) {
  testing::TempDir dir;
  // An S3 endpoint that recomputes every request's Signature V4 from the
  // secret (s3rver only checks the key id).
  const testing::ListeningProcess server({"python3", TRAINYARD_SOURCE_DIR "/tests/server/sigv4_s3_server.py",
                                          (dir.path() / "port").string(), "AKIDTRAINYARD", "s3cr3t/key+with=chars",
                                          "eu-west-3"},
                                         dir.path() / "port");
  if (server.port() == 0) GTEST_SKIP() << "python3 could not start the verifying S3 server";
  S3Options o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(server.port());
  o.bucket = "models";
  o.prefix = "team a/run 1";  // spaces must be encoded the same way on both sides
  o.region = "eu-west-3";
  o.access_key = "AKIDTRAINYARD";
  o.secret_key = "s3cr3t/key+with=chars";
  std::string content(2 * 1024 * 1024 + 5, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * 7) % 253);
  const auto model = dir.Write("model.tar.gz", content);
  auto store = OpenS3ArtifactStore(o);
  const StoredArtifact stored = store->Put(model, "job-7.tar.gz");
  store->Get("job-7.tar.gz", dir.path() / "back.tar.gz");
  EXPECT_EQ(util::Sha256File(dir.path() / "back.tar.gz"), stored.sha256);
  store->Remove("job-7.tar.gz");
  EXPECT_THROW(store->Get("job-7.tar.gz", dir.path() / "gone"), util::NotFoundError);
  // The same key id with a wrong secret is refused: the signature is really checked.
  o.secret_key = "wrong";
  EXPECT_THROW(OpenS3ArtifactStore(o)->Put(model, "job-8.tar.gz"), util::Error);
  o.secret_key = "s3cr3t/key+with=chars";
  o.region = "us-east-1";  // signed for another region
  EXPECT_THROW(OpenS3ArtifactStore(o)->Put(model, "job-9.tar.gz"), util::Error);
}

}  // namespace
}  // namespace trainyard::server
