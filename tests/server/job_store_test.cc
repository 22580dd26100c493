#include "server/job_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "core/util/errors.h"
#include "tests/support/test_helpers.h"

namespace trainyard::server {
namespace {

JobRecord Job(const std::string& id, const std::string& tenant = "t1", int priority = 0, int64_t created = 1,
              const std::string& request_id = "", const std::string& hash = "h") {
  JobRecord j;
  j.id = id;
  j.tenant = tenant;
  j.priority = priority;
  j.created_ms = created;
  j.request_id = request_id;
  j.request_hash = hash;
  j.spec = std::string("spec\0with nul", 13);
  j.labels = {{"team", "a"}};
  return j;
}

class JobStoreTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::unique_ptr<JobStore> store_ = OpenSqliteJobStore(dir_.path() / "state" / "jobs.db");
};

TEST_F(JobStoreTest, CreateGetAndIdempotentRequestIds) {
  bool created = false;
  store_->CreateOrGet(Job("j1", "t1", 0, 1, "req-1", "hash-a"), &created);
  EXPECT_TRUE(created);
  const JobRecord again = store_->CreateOrGet(Job("j2", "t1", 0, 2, "req-1", "hash-a"), &created);
  EXPECT_FALSE(created);
  EXPECT_EQ(again.id, "j1");
  try {
    store_->CreateOrGet(Job("j3", "t1", 0, 3, "req-1", "hash-b"), &created);
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_EQ(e.code(), util::ErrorCode::kAlreadyExists);
  }
  store_->CreateOrGet(Job("j4", "t2", 0, 4, "req-1", "hash-b"), &created);  // other tenant: its own ids
  EXPECT_TRUE(created);
  const auto j1 = store_->Get("j1");
  ASSERT_TRUE(j1);
  EXPECT_EQ(j1->state, JobState::kQueued);
  EXPECT_EQ(j1->spec.size(), 13u);  // binary-safe
  EXPECT_EQ(j1->labels.at("team"), "a");
  EXPECT_FALSE(store_->Get("nope"));
}

TEST_F(JobStoreTest, ClaimsByPriorityThenAgeWithPerTenantLimits) {
  store_->CreateOrGet(Job("old-low", "t1", 0, 1), nullptr);
  store_->CreateOrGet(Job("new-high", "t1", 5, 3), nullptr);
  store_->CreateOrGet(Job("mid-high", "t2", 5, 2), nullptr);
  EXPECT_EQ(store_->QueuePosition("old-low"), 3);
  EXPECT_EQ(store_->ClaimNext(0, 10)->id, "mid-high");
  EXPECT_EQ(store_->ClaimNext(1, 10)->id, "new-high");
  // t1 already runs one job: with a limit of 1 nothing is claimable for it.
  EXPECT_FALSE(store_->ClaimNext(1, 10));
  const auto last = store_->ClaimNext(2, 10);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->id, "old-low");
  EXPECT_EQ(last->attempts, 1);
  EXPECT_EQ(store_->Get("old-low")->state, JobState::kRunning);
}

TEST_F(JobStoreTest, TransitionsAreConditional) {
  store_->CreateOrGet(Job("j"), nullptr);
  EXPECT_FALSE(store_->Transition("j", JobState::kRunning, JobState::kSucceeded, 5));
  ASSERT_TRUE(store_->ClaimNext(0, 5));
  EXPECT_TRUE(store_->Transition("j", JobState::kRunning, JobState::kSucceeded, 9, "result-bytes"));
  const auto j = store_->Get("j");
  EXPECT_EQ(j->state, JobState::kSucceeded);
  EXPECT_EQ(j->finished_ms, 9);
  EXPECT_EQ(j->result, "result-bytes");
  EXPECT_EQ(store_->CountByState()[JobState::kSucceeded], 1);
}

TEST_F(JobStoreTest, EventsAreNumberedAndReadAfterASequence) {
  store_->CreateOrGet(Job("j"), nullptr);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(store_->AppendEvent("j", i, "e" + std::to_string(i)), i + 1);
  const auto tail = store_->EventsAfter("j", 3, 100);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].sequence, 4);
  EXPECT_EQ(tail[1].payload, "e4");
  EXPECT_EQ(store_->EventsAfter("j", 0, 2).size(), 2u);
  EXPECT_EQ(store_->LastSequence("j"), 5);
  EXPECT_THROW(store_->AppendEvent("missing", 0, "x"), util::NotFoundError);
}

TEST_F(JobStoreTest, AJobsFirstEventIsWrittenWithItAndKnowsItsQueuePosition) {
  store_->CreateOrGet(Job("ahead", "t1", 0, 1), nullptr);
  bool created = false;
  store_->CreateOrGet(Job("j", "t1", 0, 2), &created, [](int position) { return "queued " + std::to_string(position); });
  ASSERT_TRUE(created);
  const auto events = store_->EventsAfter("j", 0, 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].sequence, 1);
  EXPECT_EQ(events[0].time_ms, 2);
  EXPECT_EQ(events[0].payload, "queued 2");
  EXPECT_EQ(store_->AppendEvent("j", 3, "next"), 2);
  // A repeated request id returns the job and writes no second first event.
  store_->CreateOrGet(Job("k", "t1", 0, 3, "req", "h"), nullptr, [](int) { return std::string("k1"); });
  store_->CreateOrGet(Job("k2", "t1", 0, 4, "req", "h"), &created, [](int) { return std::string("k2"); });
  EXPECT_FALSE(created);
  EXPECT_EQ(store_->LastSequence("k"), 1);
  EXPECT_TRUE(store_->EventsAfter("k2", 0, 10).empty());
}

TEST_F(JobStoreTest, ConcurrentAppendsGetDistinctSequences) {
  store_->CreateOrGet(Job("j"), nullptr);
  std::vector<std::thread> threads;
  std::mutex m;
  std::set<int64_t> seen;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        const int64_t s = store_->AppendEvent("j", 0, "x");
        std::lock_guard<std::mutex> l(m);
        seen.insert(s);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_EQ(*seen.rbegin(), 200);
}

TEST_F(JobStoreTest, RecoveryAfterACrashLosesNoJob) {
  store_->CreateOrGet(Job("queued", "t1", 0, 1), nullptr);
  store_->CreateOrGet(Job("running", "t1", 1, 2), nullptr);
  store_->CreateOrGet(Job("stopping", "t1", 2, 3), nullptr);
  store_->CreateOrGet(Job("tired", "t1", 3, 4), nullptr);
  ASSERT_EQ(store_->ClaimNext(0, 1)->id, "tired");
  ASSERT_EQ(store_->ClaimNext(0, 1)->id, "stopping");
  ASSERT_EQ(store_->ClaimNext(0, 1)->id, "running");
  ASSERT_TRUE(store_->Transition("stopping", JobState::kRunning, JobState::kCancelling, 1));
  // "tired" has used its attempts: a crash again would loop forever.
  store_->Transition("tired", JobState::kRunning, JobState::kQueued, 1);
  ASSERT_EQ(store_->ClaimNext(0, 2)->id, "tired");  // attempt 2
  // Simulate kill -9: drop the store without finishing anything, reopen.
  store_.reset();
  store_ = OpenSqliteJobStore(dir_.path() / "state" / "jobs.db");
  EXPECT_EQ(store_->Recover(2, 50, "too many attempts"), 1);
  EXPECT_EQ(store_->Get("queued")->state, JobState::kQueued);
  EXPECT_EQ(store_->Get("running")->state, JobState::kQueued);
  EXPECT_EQ(store_->Get("stopping")->state, JobState::kCancelled);
  EXPECT_EQ(store_->Get("tired")->state, JobState::kFailed);
  EXPECT_EQ(store_->Get("tired")->failure, "too many attempts");
}

TEST_F(JobStoreTest, ListPagesByTenantStateAndLabels) {
  for (int i = 0; i < 7; ++i) store_->CreateOrGet(Job("j" + std::to_string(i), "t1", 0, i), nullptr);
  store_->CreateOrGet(Job("other", "t2", 0, 100), nullptr);
  ListFilter f;
  f.tenant = "t1";
  f.page_size = 3;
  std::string token;
  std::vector<std::string> ids;
  do {
    f.page_token = token;
    for (const auto& j : store_->List(f, &token)) ids.push_back(j.id);
  } while (!token.empty());
  EXPECT_EQ(ids, (std::vector<std::string>{"j6", "j5", "j4", "j3", "j2", "j1", "j0"}));
  f.page_token.clear();
  f.labels = {{"team", "b"}};
  EXPECT_TRUE(store_->List(f, &token).empty());
  f.labels.clear();
  f.state = JobState::kRunning;
  EXPECT_TRUE(store_->List(f, &token).empty());
}

TEST_F(JobStoreTest, OnlyTerminalJobsAreDeletedWithTheirEvents) {
  store_->CreateOrGet(Job("j"), nullptr);
  store_->AppendEvent("j", 0, "x");
  EXPECT_FALSE(store_->Delete("j"));
  store_->ClaimNext(0, 1);
  store_->Transition("j", JobState::kRunning, JobState::kFailed, 2);
  EXPECT_TRUE(store_->Delete("j"));
  EXPECT_FALSE(store_->Get("j"));
  EXPECT_TRUE(store_->EventsAfter("j", 0, 10).empty());
}

TEST_F(JobStoreTest, TwoProcessesNeverClaimTheSameJob) {
  for (int i = 0; i < 40; ++i) store_->CreateOrGet(Job("j" + std::to_string(i), "t1", 0, i), nullptr);
  const auto path = dir_.path() / "state" / "jobs.db";
  int pipes[2];
  ASSERT_EQ(pipe(pipes), 0);
  const pid_t child = fork();
  if (child == 0) {
    close(pipes[0]);
    auto store = OpenSqliteJobStore(path);
    while (auto j = store->ClaimNext(0, 1)) {
      const std::string line = j->id + "\n";
      if (write(pipes[1], line.data(), line.size()) < 0) _exit(1);
    }
    _exit(0);
  }
  close(pipes[1]);
  std::multiset<std::string> claimed;
  while (auto j = store_->ClaimNext(0, 1)) claimed.insert(j->id);
  int status = 0;
  waitpid(child, &status, 0);
  char buffer[4096];
  std::string text;
  for (ssize_t n; (n = read(pipes[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<size_t>(n));
  close(pipes[0]);
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    claimed.insert(text.substr(start, end - start));
  EXPECT_EQ(claimed.size(), 40u);
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()).size(), 40u) << "a job was claimed twice";
}

}  // namespace
}  // namespace trainyard::server
