// The gRPC service on a real server on a loopback port, called through the
// generated client stub.

#include "server/grpc_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

#include "tests/core/data/project_fixture.h"

namespace trainyard::server {
namespace {

v1::TrainRequest Request() {
  v1::TrainRequest r;
  auto add = [&](const std::string& path, const std::string& content) {
    auto* f = r.mutable_files()->add_files();
    f->set_path(path);
    f->set_content(content);
  };
  add("config.yml", "recipe: default.v1\nlanguage: en\nassistant_id: g\npipeline:\n  - name: WhitespaceTokenizer\n"
                    "  - name: KeywordIntentClassifier\npolicies:\n  - name: MemoizationPolicy\n");
  add("domain.yml", data::kFixtureDomain);
  add("data/nlu.yml", data::kFixtureNlu);
  add("data/stories.yml", data::kFixtureStories);
  return r;
}

class GrpcServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServiceOptions options;
    options.state_dir = dir_.path() / "state";
    jobs_ = std::make_unique<JobService>(options, OpenSqliteJobStore(options.state_dir / "jobs.db"),
                                         OpenLocalArtifactStore(dir_.path() / "models"));
    AuthOptions auth;
    auth.tenants_by_token = {{"secret-a", "team-a"}, {"secret-b", "team-b"}};
    service_ = std::make_unique<GrpcTrainingService>(*jobs_, auth);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(port_, 0);
    stub_ = v1::TrainingService::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    jobs_->Shutdown();
  }
  std::unique_ptr<grpc::ClientContext> Context(const std::string& token = "secret-a") {
    auto c = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) c->AddMetadata("authorization", "Bearer " + token);
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return c;
  }
  // Reads a watch stream to its end.
  std::vector<v1::JobEvent> Watch(const std::string& id, int64_t after, grpc::Status* status) {
    auto c = Context();
    v1::WatchJobRequest request;
    request.set_job_id(id);
    request.set_after_sequence(after);
    auto reader = stub_->WatchJob(c.get(), request);
    std::vector<v1::JobEvent> events;
    v1::JobEvent e;
    while (reader->Read(&e))
      if (!e.heartbeat()) events.push_back(e);
    *status = reader->Finish();
    return events;
  }

  testing::TempDir dir_;
  std::unique_ptr<JobService> jobs_;
  std::unique_ptr<GrpcTrainingService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::TrainingService::Stub> stub_;
  int port_ = 0;
};

TEST_F(GrpcServiceTest, SubmitWatchAndResumeFromASequence) {
  v1::Job job;
  ASSERT_TRUE(stub_->SubmitTraining(Context().get(), Request(), &job).ok());
  grpc::Status status;
  const auto events = Watch(job.id(), 0, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_GE(events.size(), 4u);
  EXPECT_TRUE(events.back().has_succeeded());
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].sequence(), static_cast<int64_t>(i + 1));
  // A client that reconnects with its last sequence gets exactly what it missed.
  const auto rest = Watch(job.id(), events[1].sequence(), &status);
  ASSERT_EQ(rest.size(), events.size() - 2);
  EXPECT_EQ(rest.front().sequence(), events[2].sequence());
  v1::GetJobRequest get;
  get.set_job_id(job.id());
  v1::Job done;
  ASSERT_TRUE(stub_->GetJob(Context().get(), get, &done).ok());
  EXPECT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(done.result().model_sha256().size(), 64u);
}

TEST_F(GrpcServiceTest, AuthenticationAndTenantsAreEnforced) {
  v1::Job job;
  EXPECT_EQ(stub_->SubmitTraining(Context("").get(), Request(), &job).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stub_->SubmitTraining(Context("wrong").get(), Request(), &job).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(stub_->SubmitTraining(Context("secret-a").get(), Request(), &job).ok());
  v1::GetJobRequest get;
  get.set_job_id(job.id());
  v1::Job seen;
  EXPECT_EQ(stub_->GetJob(Context("secret-b").get(), get, &seen).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::CancelJobRequest cancel;
  cancel.set_job_id(job.id());
  EXPECT_EQ(stub_->CancelJob(Context("secret-b").get(), cancel, &seen).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ListJobsResponse list;
  ASSERT_TRUE(stub_->ListJobs(Context("secret-b").get(), {}, &list).ok());
  EXPECT_EQ(list.jobs_size(), 0);
}

TEST_F(GrpcServiceTest, BadRequestsAreInvalidArgumentAndIdempotencyConflictsAlreadyExists) {
  v1::TrainRequest bad = Request();
  bad.mutable_files()->add_files()->set_path("../../etc/passwd");
  v1::Job job;
  const grpc::Status refused = stub_->SubmitTraining(Context().get(), bad, &job);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // The standard rich error names the offending path (google.rpc.BadRequest).
  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(refused.error_details()));
  google::rpc::BadRequest violations;
  ASSERT_GE(rich.details_size(), 1);
  ASSERT_TRUE(rich.details(0).UnpackTo(&violations));
  ASSERT_EQ(violations.field_violations_size(), 1);
  EXPECT_EQ(violations.field_violations(0).field(), "../../etc/passwd");
  EXPECT_NE(violations.field_violations(0).description().find(".."), std::string::npos);
  v1::TrainRequest r = Request();
  r.set_request_id("once");
  v1::Job first, second;
  ASSERT_TRUE(stub_->SubmitTraining(Context().get(), r, &first).ok());
  ASSERT_TRUE(stub_->SubmitTraining(Context().get(), r, &second).ok());
  EXPECT_EQ(first.id(), second.id());
  r.set_priority(3);
  EXPECT_EQ(stub_->SubmitTraining(Context().get(), r, &job).error_code(), grpc::StatusCode::ALREADY_EXISTS);
}

}  // namespace
}  // namespace trainyard::server

#include "core/storage/archive.h"
#include "core/util/fs.h"
#include "core/util/sha256.h"

namespace trainyard::server {
namespace {

// Streams `archive` as an upload with the given declared digest.
grpc::Status Upload(v1::TrainingService::Stub& stub, grpc::ClientContext* c, const std::string& archive,
                    const std::string& sha, v1::UploadReference* ref) {
  auto writer = stub.UploadProject(c, ref);
  v1::UploadChunk header;
  header.mutable_header()->set_size(archive.size());
  header.mutable_header()->set_sha256(sha);
  writer->Write(header);
  for (size_t pos = 0; pos < archive.size(); pos += 1000) {
    v1::UploadChunk chunk;
    chunk.set_data(archive.substr(pos, 1000));
    writer->Write(chunk);
  }
  writer->WritesDone();
  return writer->Finish();
}

TEST_F(GrpcServiceTest, UploadedProjectsTrainAndBadUploadsAreRefused) {
  std::vector<std::pair<std::string, std::string>> files;
  const v1::TrainRequest project = Request();
  for (const auto& f : project.files().files()) files.emplace_back(f.path(), f.content());
  const std::filesystem::path tar = dir_.path() / "project.tar.gz";
  storage::WriteProjectArchive(files, tar);
  const std::string archive = util::ReadFile(tar);
  v1::UploadReference ref;
  ASSERT_TRUE(Upload(*stub_, Context().get(), archive, util::Sha256Hex(archive), &ref).ok());
  EXPECT_EQ(ref.size(), archive.size());
  v1::TrainRequest request;
  request.set_upload_id(ref.upload_id());
  v1::Job job;
  ASSERT_TRUE(stub_->SubmitTraining(Context().get(), request, &job).ok());
  grpc::Status status;
  EXPECT_TRUE(Watch(job.id(), 0, &status).back().has_succeeded());
  // Another tenant cannot use this upload.
  EXPECT_EQ(stub_->SubmitTraining(Context("secret-b").get(), request, &job).error_code(), grpc::StatusCode::NOT_FOUND);
  // A corrupted upload does not match its digest.
  std::string corrupt = archive;
  corrupt[corrupt.size() / 2] ^= 0x55;
  EXPECT_EQ(Upload(*stub_, Context().get(), corrupt, util::Sha256Hex(archive), &ref).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // An archive whose entries leave the project is refused at submit.
  storage::WriteProjectArchive({{"../escape.yml", "x"}}, tar);
  const std::string evil = util::ReadFile(tar);
  ASSERT_TRUE(Upload(*stub_, Context().get(), evil, util::Sha256Hex(evil), &ref).ok());
  request.set_upload_id(ref.upload_id());
  EXPECT_EQ(stub_->SubmitTraining(Context().get(), request, &job).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace trainyard::server

namespace trainyard::server {
namespace {

TEST_F(GrpcServiceTest, OversizedRequestsAreRefusedByTheTransport) {
  v1::TrainRequest r = Request();
  r.mutable_files()->add_files()->set_path("data/huge.yml");
  r.mutable_files()->mutable_files(r.files().files_size() - 1)->set_content(std::string(5 << 20, 'x'));
  v1::Job job;
  EXPECT_EQ(stub_->SubmitTraining(Context().get(), r, &job).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  v1::ListJobsResponse list;
  ASSERT_TRUE(stub_->ListJobs(Context().get(), {}, &list).ok());
  EXPECT_EQ(list.jobs_size(), 0);
}

}  // namespace
}  // namespace trainyard::server
