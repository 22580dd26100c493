#pragma once

// The durable record of jobs and their event logs. The interface admits a
// PostgreSQL implementation for several replicas sharing one queue: claims
// are atomic, and all SQL lives in the implementation's one file.
//
// Implementations are thread-safe: any thread may call any method.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace trainyard::server {

// Mirrors trainyard.v1.JobState 1:1 (same order, minus UNSPECIFIED).
enum class JobState {
  kQueued,      // waiting for a worker
  kRunning,     // a worker trains it
  kCancelling,  // cancel requested while running; the worker is stopping
  kSucceeded,   // terminal: the model is stored
  kFailed,      // terminal: see failure
  kCancelled,   // terminal: stopped on request, no model
};

const char* JobStateName(JobState state);
bool IsTerminal(JobState state);

struct JobRecord {
  std::string id;
  std::string tenant;
  std::string request_id;    // empty when the client gave none
  std::string request_hash;  // SHA-256 of the request body, for idempotency checks
  JobState state = JobState::kQueued;
  int priority = 0;
  std::map<std::string, std::string> labels;
  int64_t created_ms = 0, started_ms = 0, finished_ms = 0;  // Unix epoch, 0 = not yet
  int attempts = 0;
  std::string spec;     // the serialized TrainRequest (opaque to the store)
  std::string result;   // serialized JobResult once succeeded
  std::string failure;  // serialized JobFailure once failed
};

struct StoredEvent {
  int64_t sequence = 0;  // 1, 2, 3, ... per job
  int64_t time_ms = 0;
  std::string payload;   // serialized JobEvent (opaque to the store)
};

struct ListFilter {
  std::string tenant;                          // required
  std::optional<JobState> state;
  std::map<std::string, std::string> labels;   // all must match
  int page_size = 50;
  std::string page_token;                      // from the previous page
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Inserts `job` (QUEUED) unless (tenant, request_id) exists: then returns
  // the existing job when its request_hash matches, else throws
  // util::Error(kAlreadyExists). `created` tells which happened. When a job
  // is created and `first_event` is given, the job's event 1 (at
  // job.created_ms) is first_event(queue position), written in the same
  // transaction: no worker can claim the job before it exists.
  virtual JobRecord CreateOrGet(const JobRecord& job, bool* created,
                                const std::function<std::string(int)>& first_event = {}) = 0;
  virtual std::optional<JobRecord> Get(const std::string& id) = 0;
  // Jobs of the filter's tenant, newest first; `next_page_token` empty at the end.
  virtual std::vector<JobRecord> List(const ListFilter& filter, std::string* next_page_token) = 0;
  // Atomically takes the next QUEUED job by priority (high first) then age,
  // skipping tenants that already run `per_tenant_limit` jobs (0 = no
  // limit); marks it RUNNING and counts the attempt.
  virtual std::optional<JobRecord> ClaimNext(int per_tenant_limit, int64_t now_ms) = 0;
  // Moves a job from `from` to `to` (terminal states set finished_ms);
  // false when the job is not in `from` (someone else moved it).
  virtual bool Transition(const std::string& id, JobState from, JobState to, int64_t now_ms,
                          const std::string& result = "", const std::string& failure = "") = 0;
  // Appends an event and returns its sequence number.
  virtual int64_t AppendEvent(const std::string& id, int64_t time_ms, const std::string& payload) = 0;
  // Events with sequence > `after`, oldest first, at most `limit`.
  virtual std::vector<StoredEvent> EventsAfter(const std::string& id, int64_t after, int limit) = 0;
  virtual int64_t LastSequence(const std::string& id) = 0;
  // QUEUED jobs ahead of `id` (1-based position), or 0 when it is not queued.
  virtual int QueuePosition(const std::string& id) = 0;
  virtual std::map<JobState, int64_t> CountByState() = 0;
  // After a crash: RUNNING jobs go back to QUEUED while they have attempts
  // left, else FAILED (with `failure`); CANCELLING jobs become CANCELLED.
  // Returns how many were re-queued.
  virtual int Recover(int max_attempts, int64_t now_ms, const std::string& failure) = 0;
  // Deletes a terminal job and its events; false when missing or not terminal.
  virtual bool Delete(const std::string& id) = 0;
};

// The embedded default: SQLite in WAL mode at `path` (created if missing).
// Several processes may share the file.
std::unique_ptr<JobStore> OpenSqliteJobStore(const std::filesystem::path& path);

}  // namespace trainyard::server
