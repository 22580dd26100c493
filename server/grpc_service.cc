#include "server/grpc_service.h"

#include "server/log.h"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "core/storage/archive.h"
#include "core/util/errors.h"
#include "core/util/sha256.h"
#include "core/util/strings.h"
#include "server/status.h"

namespace trainyard::server {

struct GrpcTrainingService::Pool {
  boost::asio::thread_pool pool{4};
};

std::map<std::string, std::string> ReadTokensFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw util::NotFoundError("Cannot read the tokens file '" + path + "'.");
  std::map<std::string, std::string> out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    line = util::Strip(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.find_first_of(" \t");
    if (space == std::string::npos)
      throw util::InvalidDataError({path, number, 0}, "Expected '<token> <tenant>'.");
    out[line.substr(0, space)] = util::Strip(line.substr(space));
  }
  return out;
}

namespace {

// Runs `fn` (which may throw util::Error) and finishes the unary call.
template <typename Fn>
grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context, const grpc::Status& auth, Fn&& fn) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!auth.ok()) {
    reactor->Finish(auth);
    return reactor;
  }
  try {
    fn();
    reactor->Finish(grpc::Status::OK);
  } catch (const util::Error& e) {
    reactor->Finish(ToGrpcStatus(e));
  } catch (const std::exception& e) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, e.what()));
  }
  return reactor;
}

}  // namespace

// Streams a job's events: fetches on the pool, writes from the pool, one write
// in flight at a time; ends after the terminal event (or on cancel).
class GrpcTrainingService::Watcher : public grpc::ServerWriteReactor<v1::JobEvent> {
 public:
  Watcher(GrpcTrainingService& service, std::string tenant, std::string job_id, int64_t after)
      : service_(service), tenant_(std::move(tenant)), job_id_(std::move(job_id)), after_(after) {
    Fetch();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "The watcher went away."));
      return;
    }
    if (++next_ < batch_.size()) {
      StartWrite(&batch_[next_]);
      return;
    }
    if (finished_) {
      Finish(grpc::Status::OK);
      return;
    }
    Fetch();
  }

  void OnCancel() override { cancelled_ = true; }
  void OnDone() override { delete this; }

 private:
  void Fetch() {
    boost::asio::post(service_.pool_->pool, [this] {
      if (cancelled_) {
        Finish(grpc::Status(grpc::StatusCode::CANCELLED, "Cancelled."));
        return;
      }
      try {
        // Short waits keep the pool's threads free for other watchers.
        batch_ = service_.jobs_.WaitEvents(tenant_, job_id_, after_, std::chrono::milliseconds(200), &finished_);
      } catch (const util::Error& e) {
        Finish(ToGrpcStatus(e));
        return;
      }
      if (batch_.empty()) {
        if (finished_) {
          Finish(grpc::Status::OK);
          return;
        }
        if (std::chrono::steady_clock::now() - last_write_ < std::chrono::seconds(5)) {
          Fetch();
          return;
        }
        v1::JobEvent heartbeat;  // idle for 5 s: tell the client the stream is alive
        heartbeat.set_job_id(job_id_);
        heartbeat.set_sequence(after_);
        heartbeat.set_heartbeat(true);
        batch_.push_back(heartbeat);
      } else {
        after_ = batch_.back().sequence();
        finished_ = false;  // events came: check again after writing them
      }
      next_ = 0;
      last_write_ = std::chrono::steady_clock::now();
      StartWrite(&batch_[0]);
    });
  }

  GrpcTrainingService& service_;
  const std::string tenant_;
  const std::string job_id_;
  int64_t after_;
  std::vector<v1::JobEvent> batch_;
  size_t next_ = 0;
  bool finished_ = false;
  std::chrono::steady_clock::time_point last_write_ = std::chrono::steady_clock::now();
  std::atomic<bool> cancelled_{false};
};

GrpcTrainingService::GrpcTrainingService(JobService& jobs, AuthOptions auth)
    : jobs_(jobs), auth_(std::move(auth)), pool_(std::make_unique<Pool>()) {}

GrpcTrainingService::~GrpcTrainingService() { pool_->pool.join(); }

grpc::Status GrpcTrainingService::Authenticate(grpc::CallbackServerContext* context, std::string* tenant) const {
  if (auth_.tenants_by_token.empty()) {
    *tenant = "default";
    return grpc::Status::OK;
  }
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("authorization");
  if (it != metadata.end()) {
    const std::string value(it->second.data(), it->second.size());
    if (util::StartsWith(value, "Bearer ")) {
      auto t = auth_.tenants_by_token.find(value.substr(7));
      if (t != auth_.tenants_by_token.end()) {
        *tenant = t->second;
        return grpc::Status::OK;
      }
    }
  }
  log::Warning("unauthenticated call refused", {{"peer", context->peer()}, {"has_authorization", it != metadata.end()}});
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "A valid 'authorization: Bearer <token>' is required.");
}

grpc::ServerUnaryReactor* GrpcTrainingService::SubmitTraining(grpc::CallbackServerContext* c, const v1::TrainRequest* r,
                                                              v1::Job* response) {
  std::string tenant;
  const grpc::Status auth = Authenticate(c, &tenant);
  return Unary(c, auth, [&] { *response = jobs_.Submit(tenant, *r); });
}

grpc::ServerUnaryReactor* GrpcTrainingService::GetJob(grpc::CallbackServerContext* c, const v1::GetJobRequest* r,
                                                      v1::Job* response) {
  std::string tenant;
  const grpc::Status auth = Authenticate(c, &tenant);
  return Unary(c, auth, [&] { *response = jobs_.Get(tenant, r->job_id()); });
}

grpc::ServerUnaryReactor* GrpcTrainingService::ListJobs(grpc::CallbackServerContext* c, const v1::ListJobsRequest* r,
                                                        v1::ListJobsResponse* response) {
  std::string tenant;
  const grpc::Status auth = Authenticate(c, &tenant);
  return Unary(c, auth, [&] { *response = jobs_.List(tenant, *r); });
}

grpc::ServerUnaryReactor* GrpcTrainingService::CancelJob(grpc::CallbackServerContext* c, const v1::CancelJobRequest* r,
                                                         v1::Job* response) {
  std::string tenant;
  const grpc::Status auth = Authenticate(c, &tenant);
  return Unary(c, auth, [&] { *response = jobs_.Cancel(tenant, r->job_id()); });
}

grpc::ServerUnaryReactor* GrpcTrainingService::DeleteJob(grpc::CallbackServerContext* c, const v1::DeleteJobRequest* r,
                                                         v1::DeleteJobResponse*) {
  std::string tenant;
  const grpc::Status auth = Authenticate(c, &tenant);
  return Unary(c, auth, [&] { jobs_.Delete(tenant, r->job_id()); });
}

namespace {

// Writes prepared chunks one after the other (or finishes with an error).
class ChunkWriter : public grpc::ServerWriteReactor<v1::ModelChunk> {
 public:
  explicit ChunkWriter(std::vector<v1::ModelChunk> chunks) : chunks_(std::move(chunks)) { Next(); }
  explicit ChunkWriter(const grpc::Status& error) { Finish(error); }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "The client went away."));
      return;
    }
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (next_ == chunks_.size()) {
      Finish(grpc::Status::OK);
      return;
    }
    StartWrite(&chunks_[next_++]);
  }
  std::vector<v1::ModelChunk> chunks_;
  size_t next_ = 0;
};

}  // namespace

namespace {

// Receives an upload into a temp file: the header first, then data chunks;
// checked and kept by JobService::AcceptUpload when the client is done.
class UploadReader : public grpc::ServerReadReactor<v1::UploadChunk> {
 public:
  UploadReader(JobService& jobs, std::string tenant, v1::UploadReference* response)
      : jobs_(&jobs), tenant_(std::move(tenant)), response_(response) {
    const std::filesystem::path dir = jobs_->state_dir() / "uploads";
    std::filesystem::create_directories(dir);
    path_ = dir / (".tmp-" + storage::NewModelId());
    out_.open(path_, std::ios::binary);
    StartRead(&chunk_);
  }
  explicit UploadReader(const grpc::Status& error) { Finish(error); }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client finished sending
      out_.close();
      if (!header_) return Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "The upload has no header."));
      try {
        *response_ = jobs_->AcceptUpload(tenant_, path_, header_->size(), header_->sha256());
        Finish(grpc::Status::OK);
      } catch (const util::Error& e) {
        Fail(ToGrpcStatus(e));
      }
      return;
    }
    if (chunk_.has_header()) {
      if (header_) return Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "The upload has two headers."));
      if (chunk_.header().size() > jobs_->max_upload_bytes())
        return Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "The upload is larger than the limit of " +
                                                                         std::to_string(jobs_->max_upload_bytes()) +
                                                                         " bytes."));
      header_ = chunk_.header();
    } else {
      if (!header_) return Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "The upload must start with its header."));
      received_ += chunk_.data().size();
      if (received_ > header_->size())
        return Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "The upload is larger than its header says."));
      out_.write(chunk_.data().data(), static_cast<std::streamsize>(chunk_.data().size()));
    }
    StartRead(&chunk_);
  }
  void OnDone() override { delete this; }

 private:
  void Fail(const grpc::Status& status) {
    out_.close();
    std::error_code ec;
    std::filesystem::remove(path_, ec);
    Finish(status);
  }

  JobService* jobs_ = nullptr;  // null for a refused call
  std::string tenant_;
  v1::UploadReference* response_ = nullptr;
  std::filesystem::path path_;
  std::ofstream out_;
  v1::UploadChunk chunk_;
  std::optional<v1::UploadHeader> header_;
  uint64_t received_ = 0;
};

}  // namespace

grpc::ServerReadReactor<v1::UploadChunk>* GrpcTrainingService::UploadProject(grpc::CallbackServerContext* c,
                                                                            v1::UploadReference* response) {
  std::string tenant;
  const grpc::Status auth = Authenticate(c, &tenant);
  if (!auth.ok()) return new UploadReader(auth);
  return new UploadReader(jobs_, tenant, response);
}

grpc::ServerWriteReactor<v1::ModelChunk>* GrpcTrainingService::DownloadModel(grpc::CallbackServerContext* c,
                                                                            const v1::DownloadModelRequest* r) {
  std::string tenant;
  const grpc::Status auth = Authenticate(c, &tenant);
  if (!auth.ok()) return new ChunkWriter(auth);
  try {
    char pattern[] = "/tmp/trainyard-download-XXXXXX";
    const int fd = ::mkstemp(pattern);
    if (fd < 0) throw util::Error(util::ErrorCode::kInternal, "Cannot create a temporary file.");
    ::close(fd);
    const std::filesystem::path local = pattern;
    jobs_.FetchModel(tenant, r->job_id(), local);
    std::vector<v1::ModelChunk> chunks;
    std::ifstream in(local, std::ios::binary);
    std::string whole((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::filesystem::remove(local);
    constexpr size_t kChunk = 1 << 20;
    for (size_t pos = 0; pos < whole.size() || chunks.empty(); pos += kChunk) {
      chunks.emplace_back();
      chunks.back().set_data(whole.substr(pos, kChunk));
      if (pos + kChunk >= whole.size()) break;
    }
    chunks.back().set_sha256(util::Sha256Hex(whole));
    return new ChunkWriter(std::move(chunks));
  } catch (const util::Error& e) {
    return new ChunkWriter(ToGrpcStatus(e));
  }
}

grpc::ServerWriteReactor<v1::JobEvent>* GrpcTrainingService::WatchJob(grpc::CallbackServerContext* c,
                                                                      const v1::WatchJobRequest* r) {
  std::string tenant;
  const grpc::Status auth = Authenticate(c, &tenant);
  if (!auth.ok()) {
    class Refused : public grpc::ServerWriteReactor<v1::JobEvent> {
     public:
      explicit Refused(const grpc::Status& s) { Finish(s); }
      void OnDone() override { delete this; }
    };
    return new Refused(auth);
  }
  return new Watcher(*this, tenant, r->job_id(), r->after_sequence());
}

}  // namespace trainyard::server
