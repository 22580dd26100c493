// The SQLite job store: every SQL statement of the service lives in this file.

#include <sqlite3.h>

#include <mutex>

#include <nlohmann/json.hpp>

#include "core/util/errors.h"
#include "core/util/sqlite.h"
#include "server/job_store.h"

namespace trainyard::server {
namespace {

using util::SqliteExec;
using util::SqliteStatement;

constexpr const char* kColumns =
    "id, tenant, request_id, request_hash, state, priority, labels, created_ms, started_ms, finished_ms, attempts, "
    "spec, result, failure";

JobRecord ReadJob(const SqliteStatement& s) {
  JobRecord j;
  j.id = s.Text(0);
  j.tenant = s.Text(1);
  j.request_id = s.Text(2);
  j.request_hash = s.Text(3);
  j.state = static_cast<JobState>(s.Int(4));
  j.priority = static_cast<int>(s.Int(5));
  const auto labels = nlohmann::json::parse(s.Text(6), nullptr, false);
  if (labels.is_object())
    for (const auto& [k, v] : labels.items()) j.labels[k] = v.get<std::string>();
  j.created_ms = s.Int(7);
  j.started_ms = s.Int(8);
  j.finished_ms = s.Int(9);
  j.attempts = static_cast<int>(s.Int(10));
  j.spec = s.Text(11);
  j.result = s.Text(12);
  j.failure = s.Text(13);
  return j;
}

class SqliteJobStore : public JobStore {
 public:
  explicit SqliteJobStore(sqlite3* db) : db_(db) {
    SqliteExec(db_,
               "CREATE TABLE IF NOT EXISTS jobs ("
               " id TEXT PRIMARY KEY, tenant TEXT NOT NULL, request_id TEXT NOT NULL, request_hash TEXT NOT NULL,"
               " state INTEGER NOT NULL, priority INTEGER NOT NULL, labels TEXT NOT NULL,"
               " created_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL DEFAULT 0,"
               " finished_ms INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
               " spec BLOB NOT NULL, result BLOB NOT NULL DEFAULT '', failure BLOB NOT NULL DEFAULT '',"
               " seq INTEGER NOT NULL DEFAULT 0)");
    SqliteExec(db_, "CREATE UNIQUE INDEX IF NOT EXISTS jobs_request ON jobs(tenant, request_id) WHERE request_id <> ''");
    SqliteExec(db_, "CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(state, priority DESC, created_ms, id)");
    SqliteExec(db_, "CREATE INDEX IF NOT EXISTS jobs_tenant ON jobs(tenant, created_ms DESC, id)");
    SqliteExec(db_,
               "CREATE TABLE IF NOT EXISTS events (job_id TEXT NOT NULL, seq INTEGER NOT NULL, time_ms INTEGER NOT "
               "NULL, payload BLOB NOT NULL, PRIMARY KEY (job_id, seq))");
  }
  ~SqliteJobStore() override { sqlite3_close(db_); }

  JobRecord CreateOrGet(const JobRecord& job, bool* created, const std::function<std::string(int)>& first_event) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Transaction t(db_);
    if (!job.request_id.empty()) {
      SqliteStatement s(db_, (std::string("SELECT ") + kColumns + " FROM jobs WHERE tenant = ? AND request_id = ?").c_str());
      s.Bind(1, job.tenant).Bind(2, job.request_id);
      if (s.Step()) {
        JobRecord existing = ReadJob(s);
        if (existing.request_hash != job.request_hash)
          throw util::Error(util::ErrorCode::kAlreadyExists,
                            "request_id '" + job.request_id + "' was already used for a different request (job " +
                                existing.id + ").");
        if (created) *created = false;
        t.Commit();
        return existing;
      }
    }
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& [k, v] : job.labels) labels[k] = v;
    SqliteStatement insert(db_,
                           "INSERT INTO jobs (id, tenant, request_id, request_hash, state, priority, labels, "
                           "created_ms, spec) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    insert.Bind(1, job.id).Bind(2, job.tenant).Bind(3, job.request_id).Bind(4, job.request_hash);
    insert.Bind(5, static_cast<int64_t>(JobState::kQueued)).Bind(6, static_cast<int64_t>(job.priority));
    insert.Bind(7, labels.dump()).Bind(8, job.created_ms).BindBlob(9, job.spec);
    insert.Step();
    if (first_event) {
      const std::string payload = first_event(QueuePositionLocked(job.id));
      SqliteStatement u(db_, "UPDATE jobs SET seq = 1 WHERE id = ?");
      u.Bind(1, job.id);
      u.Step();
      SqliteStatement e(db_, "INSERT INTO events (job_id, seq, time_ms, payload) VALUES (?, 1, ?, ?)");
      e.Bind(1, job.id).Bind(2, job.created_ms).BindBlob(3, payload);
      e.Step();
    }
    t.Commit();
    if (created) *created = true;
    JobRecord out = job;
    out.state = JobState::kQueued;
    return out;
  }

  std::optional<JobRecord> Get(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    SqliteStatement s(db_, (std::string("SELECT ") + kColumns + " FROM jobs WHERE id = ?").c_str());
    s.Bind(1, id);
    if (!s.Step()) return std::nullopt;
    return ReadJob(s);
  }

  std::vector<JobRecord> List(const ListFilter& f, std::string* next_page_token) override {
    std::lock_guard<std::mutex> lock(mutex_);
    // The page token is "<created_ms>/<id>" of the last job of the previous page.
    int64_t before_ms = INT64_MAX;
    std::string before_id;
    if (const size_t slash = f.page_token.find('/'); slash != std::string::npos) {
      before_ms = std::stoll(f.page_token.substr(0, slash));
      before_id = f.page_token.substr(slash + 1);
    }
    const int page = std::max(1, std::min(f.page_size > 0 ? f.page_size : 50, 500));
    SqliteStatement s(db_, (std::string("SELECT ") + kColumns +
                            " FROM jobs WHERE tenant = ? AND (state = ? OR ? < 0) AND (created_ms < ? OR (created_ms = ? "
                            "AND id < ?) OR ? = '') ORDER BY created_ms DESC, id DESC")
                               .c_str());
    const int64_t state = f.state ? static_cast<int64_t>(*f.state) : -1;
    s.Bind(1, f.tenant).Bind(2, state).Bind(3, state).Bind(4, before_ms).Bind(5, before_ms).Bind(6, before_id);
    s.Bind(7, f.page_token);
    std::vector<JobRecord> out;
    if (next_page_token) next_page_token->clear();
    while (s.Step()) {
      JobRecord j = ReadJob(s);
      bool match = true;
      for (const auto& [k, v] : f.labels) {
        auto it = j.labels.find(k);
        match = match && it != j.labels.end() && it->second == v;
      }
      if (!match) continue;
      if (static_cast<int>(out.size()) == page) {
        if (next_page_token) *next_page_token = std::to_string(out.back().created_ms) + "/" + out.back().id;
        break;
      }
      out.push_back(std::move(j));
    }
    return out;
  }

  std::optional<JobRecord> ClaimNext(int per_tenant_limit, int64_t now_ms) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Transaction t(db_);  // BEGIN IMMEDIATE: replicas sharing the file serialize here
    SqliteStatement s(db_, (std::string("SELECT ") + kColumns +
                            " FROM jobs WHERE state = 0 AND (? <= 0 OR (SELECT COUNT(*) FROM jobs r WHERE r.tenant = "
                            "jobs.tenant AND r.state IN (1, 2)) < ?) ORDER BY priority DESC, created_ms, id LIMIT 1")
                               .c_str());
    s.Bind(1, static_cast<int64_t>(per_tenant_limit)).Bind(2, static_cast<int64_t>(per_tenant_limit));
    if (!s.Step()) return std::nullopt;
    JobRecord job = ReadJob(s);
    SqliteStatement u(db_, "UPDATE jobs SET state = 1, started_ms = ?, attempts = attempts + 1 WHERE id = ? AND state = 0");
    u.Bind(1, now_ms).Bind(2, job.id);
    u.Step();
    t.Commit();
    job.state = JobState::kRunning;
    job.started_ms = now_ms;
    ++job.attempts;
    return job;
  }

  bool Transition(const std::string& id, JobState from, JobState to, int64_t now_ms, const std::string& result,
                  const std::string& failure) override {
    std::lock_guard<std::mutex> lock(mutex_);
    SqliteStatement u(db_,
                      "UPDATE jobs SET state = ?, finished_ms = CASE WHEN ? THEN ? ELSE finished_ms END, "
                      "result = CASE WHEN ? <> '' THEN ? ELSE result END, failure = CASE WHEN ? <> '' THEN ? ELSE "
                      "failure END WHERE id = ? AND state = ?");
    u.Bind(1, static_cast<int64_t>(to)).Bind(2, static_cast<int64_t>(IsTerminal(to))).Bind(3, now_ms);
    u.BindBlob(4, result).BindBlob(5, result).BindBlob(6, failure).BindBlob(7, failure);
    u.Bind(8, id).Bind(9, static_cast<int64_t>(from));
    u.Step();
    return sqlite3_changes(db_) == 1;
  }

  int64_t AppendEvent(const std::string& id, int64_t time_ms, const std::string& payload) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Transaction t(db_);
    SqliteStatement u(db_, "UPDATE jobs SET seq = seq + 1 WHERE id = ?");
    u.Bind(1, id);
    u.Step();
    if (sqlite3_changes(db_) != 1) throw util::NotFoundError("No job '" + id + "'.");
    SqliteStatement q(db_, "SELECT seq FROM jobs WHERE id = ?");
    q.Bind(1, id);
    q.Step();
    const int64_t seq = q.Int(0);
    SqliteStatement insert(db_, "INSERT INTO events (job_id, seq, time_ms, payload) VALUES (?, ?, ?, ?)");
    insert.Bind(1, id).Bind(2, seq).Bind(3, time_ms).BindBlob(4, payload);
    insert.Step();
    t.Commit();
    return seq;
  }

  std::vector<StoredEvent> EventsAfter(const std::string& id, int64_t after, int limit) override {
    std::lock_guard<std::mutex> lock(mutex_);
    SqliteStatement s(db_, "SELECT seq, time_ms, payload FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?");
    s.Bind(1, id).Bind(2, after).Bind(3, static_cast<int64_t>(limit));
    std::vector<StoredEvent> out;
    while (s.Step()) out.push_back({s.Int(0), s.Int(1), s.Text(2)});
    return out;
  }

  int64_t LastSequence(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    SqliteStatement s(db_, "SELECT seq FROM jobs WHERE id = ?");
    s.Bind(1, id);
    return s.Step() ? s.Int(0) : 0;
  }

  int QueuePosition(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return QueuePositionLocked(id);
  }

  int QueuePositionLocked(const std::string& id) {
    SqliteStatement s(db_,
                      "SELECT COUNT(*) FROM jobs q, jobs j WHERE j.id = ? AND j.state = 0 AND q.state = 0 AND "
                      "(q.priority > j.priority OR (q.priority = j.priority AND (q.created_ms < j.created_ms OR "
                      "(q.created_ms = j.created_ms AND q.id <= j.id))))");
    s.Bind(1, id);
    s.Step();
    return static_cast<int>(s.Int(0));
  }

  std::map<JobState, int64_t> CountByState() override {
    std::lock_guard<std::mutex> lock(mutex_);
    SqliteStatement s(db_, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
    std::map<JobState, int64_t> out;
    while (s.Step()) out[static_cast<JobState>(s.Int(0))] = s.Int(1);
    return out;
  }

  int Recover(int max_attempts, int64_t now_ms, const std::string& failure) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Transaction t(db_);
    // A job being cancelled when the process died is cancelled; a running one
    // runs again while it has attempts left.
    SqliteStatement cancel(db_, "UPDATE jobs SET state = 5, finished_ms = ? WHERE state = 2");
    cancel.Bind(1, now_ms);
    cancel.Step();
    SqliteStatement fail(db_, "UPDATE jobs SET state = 4, finished_ms = ?, failure = ? WHERE state = 1 AND attempts >= ?");
    fail.Bind(1, now_ms).BindBlob(2, failure).Bind(3, static_cast<int64_t>(max_attempts));
    fail.Step();
    SqliteStatement requeue(db_, "UPDATE jobs SET state = 0 WHERE state = 1");
    requeue.Step();
    const int n = sqlite3_changes(db_);
    t.Commit();
    return n;
  }

  bool Delete(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Transaction t(db_);
    SqliteStatement d(db_, "DELETE FROM jobs WHERE id = ? AND state IN (3, 4, 5)");
    d.Bind(1, id);
    d.Step();
    if (sqlite3_changes(db_) != 1) return false;
    SqliteStatement e(db_, "DELETE FROM events WHERE job_id = ?");
    e.Bind(1, id);
    e.Step();
    t.Commit();
    return true;
  }

 private:
  // BEGIN IMMEDIATE ... COMMIT, rolled back if not committed.
  class Transaction {
   public:
    explicit Transaction(sqlite3* db) : db_(db) { SqliteExec(db_, "BEGIN IMMEDIATE"); }
    ~Transaction() {
      if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    void Commit() {
      SqliteExec(db_, "COMMIT");
      done_ = true;
    }

   private:
    sqlite3* db_;
    bool done_ = false;
  };

  std::mutex mutex_;
  sqlite3* db_;  // guarded by mutex_
};

}  // namespace

const char* JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued: return "QUEUED";
    case JobState::kRunning: return "RUNNING";
    case JobState::kCancelling: return "CANCELLING";
    case JobState::kSucceeded: return "SUCCEEDED";
    case JobState::kFailed: return "FAILED";
    case JobState::kCancelled: return "CANCELLED";
  }
  return "UNKNOWN";
}

bool IsTerminal(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed || state == JobState::kCancelled;
}

std::unique_ptr<JobStore> OpenSqliteJobStore(const std::filesystem::path& path) {
  if (!path.parent_path().empty()) std::filesystem::create_directories(path.parent_path());
  return std::make_unique<SqliteJobStore>(util::SqliteOpen(path.string()));
}

}  // namespace trainyard::server
