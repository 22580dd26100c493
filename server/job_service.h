#pragma once

// The training service without its transport: jobs are validated and stored
// on submit, queued durably, trained by a worker pool, and observed through
// their event log. The gRPC layer (server/grpc_service) and tests call it.
//
// Thread-safe. Destruction stops the workers: running jobs are cancelled and
// left for recovery to re-queue (see Shutdown).

#include <chrono>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/graph/component.h"
#include "server/artifact_store.h"
#include "server/job_store.h"
#include "trainyard/v1/training_service.pb.h"

namespace trainyard::server {

struct ServiceOptions {
  // Projects of jobs (projects/<job>/), the shared training cache (cache/).
  std::filesystem::path state_dir = "state";
  // Worker threads training jobs at once.
  size_t workers = 1;
  // Queued jobs accepted at most; beyond, Submit fails with RESOURCE_EXHAUSTED.
  size_t max_queue = 1000;
  // Running jobs per tenant at most (0: no limit).
  int per_tenant_running = 0;
  // Attempts per job across crashes before it fails.
  int max_attempts = 3;
  // Request limits.
  size_t max_project_bytes = size_t{64} << 20;
  size_t max_files = 10000;
  // Largest project upload (.tar.gz) accepted.
  size_t max_upload_bytes = size_t{1} << 30;
  // A job running longer than this fails with DEADLINE_EXCEEDED (0: no limit).
  std::chrono::seconds job_timeout{0};
  // A telemetry event (CPU, RSS, device) when a job starts and then every
  // this often while it runs (0: none).
  std::chrono::milliseconds telemetry_interval{5000};
  // Graph runner threads per job (0: cores / workers).
  size_t runner_threads = 0;
  // Accelerators, one worker each ("cuda:0", "cuda:1"): a GPU trains one
  // job at a time and `workers` is ignored. Empty: `workers` share the CPU.
  std::vector<std::string> devices;
};

// Sees every event the service records (for metrics). Called from worker
// and RPC threads; implementations must be thread-safe and quick.
class JobObserver {
 public:
  virtual ~JobObserver() = default;
  virtual void OnEvent(const v1::JobEvent& event) = 0;
  // A job ended (SUCCEEDED, FAILED, CANCELLED) after `seconds` of training.
  virtual void OnJobFinished(JobState state, double seconds) = 0;
};

class JobService {
 public:
  JobService(ServiceOptions options, std::unique_ptr<JobStore> store, std::unique_ptr<ArtifactStore> artifacts);
  ~JobService();
  JobService(const JobService&) = delete;
  JobService& operator=(const JobService&) = delete;

  // Validates and stores the request, queues the job, returns it at once.
  // Throws util::Error: INVALID_ARGUMENT (paths, sizes), ALREADY_EXISTS
  // (request_id reused with another request), RESOURCE_EXHAUSTED (queue full).
  v1::Job Submit(const std::string& tenant, const v1::TrainRequest& request);
  // Takes an uploaded project archive (a temp file the caller wrote): checks
  // its size and SHA-256 against what the client declared and keeps it for
  // a later Submit with the returned upload_id. INVALID_ARGUMENT on mismatch.
  v1::UploadReference AcceptUpload(const std::string& tenant, const std::filesystem::path& file, uint64_t size,
                                   const std::string& sha256);
  size_t max_upload_bytes() const { return options_.max_upload_bytes; }
  const std::filesystem::path& state_dir() const { return options_.state_dir; }

  // NOT_FOUND also when the job belongs to another tenant.
  v1::Job Get(const std::string& tenant, const std::string& id);
  v1::ListJobsResponse List(const std::string& tenant, const v1::ListJobsRequest& request);
  v1::Job Cancel(const std::string& tenant, const std::string& id);
  void Delete(const std::string& tenant, const std::string& id);
  // Copies the model of a succeeded job to `local`. FAILED_PRECONDITION when
  // the job has no model (yet).
  void FetchModel(const std::string& tenant, const std::string& id, const std::filesystem::path& local);

  // Events after `after`, waiting up to `wait` for at least one. `finished`
  // is set when the job reached a terminal state and every event was returned.
  std::vector<v1::JobEvent> WaitEvents(const std::string& tenant, const std::string& id, int64_t after,
                                       std::chrono::milliseconds wait, bool* finished);

  // Counts (queued, running, ...) for gauges.
  std::map<JobState, int64_t> CountByState() { return store_->CountByState(); }
  // Sets the observer; call before jobs run. Not owned; must outlive the service.
  void SetObserver(JobObserver* observer) { observer_ = observer; }

  // Stops taking jobs, lets running ones finish for up to `grace`, then
  // cancels them and joins the workers. Jobs cancelled this way go back to
  // QUEUED (not FAILED): a restart trains them again.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(0));

 private:
  void WorkerLoop(const std::string& device);
  void RunJob(const JobRecord& job, const std::string& device);
  int64_t Emit(const std::string& job_id, v1::JobEvent event);
  v1::Job ToProto(const JobRecord& record);
  JobRecord OwnedJob(const std::string& tenant, const std::string& id);

  const ServiceOptions options_;
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<ArtifactStore> artifacts_;

  std::mutex mutex_;
  std::condition_variable work_;    // a job was queued, or shutdown
  std::condition_variable events_;  // an event was appended
  bool stopping_ = false;           // guarded by mutex_
  bool work_pending_ = false;       // a job was queued since a worker last looked; guarded by mutex_
  std::map<std::string, std::shared_ptr<graph::CancellationToken>> running_;  // guarded by mutex_
  std::vector<std::thread> workers_;
  std::atomic<JobObserver*> observer_{nullptr};
};

}  // namespace trainyard::server
