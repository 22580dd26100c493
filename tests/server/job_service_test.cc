#include "server/job_service.h"

#include <nlohmann/json.hpp>

#include <sstream>

#include <gtest/gtest.h>

#include "core/storage/archive.h"
#include "core/util/errors.h"
#include "core/util/sha256.h"
#include "server/log.h"
#include "tests/core/data/project_fixture.h"

namespace fs = std::filesystem;

namespace trainyard::server {
namespace {

constexpr const char* kConfig =
    "recipe: default.v1\nlanguage: en\nassistant_id: svc\npipeline:\n  - name: WhitespaceTokenizer\n"
    "  - name: KeywordIntentClassifier\npolicies:\n  - name: MemoizationPolicy\n";

v1::TrainRequest Request(const std::string& nlu = data::kFixtureNlu) {
  v1::TrainRequest r;
  auto add = [&](const std::string& path, const std::string& content) {
    auto* f = r.mutable_files()->add_files();
    f->set_path(path);
    f->set_content(content);
  };
  add("config.yml", kConfig);
  add("domain.yml", data::kFixtureDomain);
  add("data/nlu.yml", nlu);
  add("data/stories.yml", data::kFixtureStories);
  return r;
}

class JobServiceTest : public ::testing::Test {
 protected:
  std::unique_ptr<JobService> Start(ServiceOptions options = {}) {
    options.state_dir = dir_.path() / "state";
    return std::make_unique<JobService>(options, OpenSqliteJobStore(options.state_dir / "jobs.db"),
                                        OpenLocalArtifactStore(dir_.path() / "models"));
  }
  // Follows a job's events until it finishes (at most 30 s).
  std::vector<v1::JobEvent> Follow(JobService& s, const std::string& id, int64_t after = 0) {
    std::vector<v1::JobEvent> all;
    bool finished = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!finished && std::chrono::steady_clock::now() < deadline) {
      for (auto& e : s.WaitEvents("t1", id, after, std::chrono::milliseconds(500), &finished)) {
        after = e.sequence();
        all.push_back(std::move(e));
      }
    }
    EXPECT_TRUE(finished);
    return all;
  }
  testing::TempDir dir_;
};

TEST_F(JobServiceTest, SubmitTrainsAndStoresTheModelWithItsChecksum) {
  auto service = Start();
  const v1::Job job = service->Submit("t1", Request());
  EXPECT_EQ(job.state(), v1::JOB_STATE_QUEUED);
  const auto events = Follow(*service, job.id());
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(events.front().has_queued_position());
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].sequence(), static_cast<int64_t>(i + 1));
  bool node_finished = false;
  for (const auto& e : events)
    node_finished |= e.has_node_finished() && e.node_finished().component() == "KeywordIntentClassifier";
  EXPECT_TRUE(node_finished);
  ASSERT_TRUE(events.back().has_succeeded()) << events.back().DebugString();
  const v1::Job done = service->Get("t1", job.id());
  EXPECT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED);
  const std::string uri = done.result().model_uri();
  ASSERT_EQ(uri.rfind("file://", 0), 0u);
  const fs::path model = uri.substr(7);
  EXPECT_EQ(util::Sha256File(model), done.result().model_sha256());
  EXPECT_EQ(storage::ReadArchiveMetadata(model).training_type, 3);
  EXPECT_EQ(done.result().training_type(), "BOTH");
  // No fingerprint sent: none, not the server's own working directory's (a trainyard checkout here).
  EXPECT_FALSE(storage::ReadArchiveMetadata(model).project_fingerprint);
}

// `trainyard submit` sends its checkout's project_fingerprint; the archive
// carries it as `trainyard train` there would. Anything but a SHA-256 is refused.
TEST_F(JobServiceTest, TheClientsProjectFingerprintGoesIntoTheArchive) {
  auto service = Start();
  const std::vector<std::string> malformed = {"abc", std::string(64, 'G'), std::string(64, 'A'), std::string(65, 'a')};
  for (const std::string& bad : malformed) {
    v1::TrainRequest r = Request();
    r.mutable_options()->set_project_fingerprint(bad);
    try {
      service->Submit("t1", r);
      FAIL() << bad;
    } catch (const util::Error& e) {
      EXPECT_EQ(e.code(), util::ErrorCode::kInvalidArgument) << bad;
      EXPECT_NE(std::string(e.what()).find("project_fingerprint"), std::string::npos) << e.what();
    }
  }
  const std::string fingerprint = util::Sha256Hex("https://example.com/team/bot.git\n");
  v1::TrainRequest r = Request();
  r.mutable_options()->set_project_fingerprint(fingerprint);
  const v1::Job job = service->Submit("t1", r);
  ASSERT_TRUE(Follow(*service, job.id()).back().has_succeeded());
  const std::string uri = service->Get("t1", job.id()).result().model_uri();
  EXPECT_EQ(storage::ReadArchiveMetadata(uri.substr(7)).project_fingerprint, fingerprint);
}

TEST_F(JobServiceTest, ResubmittingTheSameRequestIdIsIdempotent) {
  auto service = Start();
  v1::TrainRequest r = Request();
  r.set_request_id("retry-1");
  const v1::Job a = service->Submit("t1", r);
  const v1::Job b = service->Submit("t1", r);
  EXPECT_EQ(a.id(), b.id());
  r.set_priority(9);  // same id, different request
  try {
    service->Submit("t1", r);
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_EQ(e.code(), util::ErrorCode::kAlreadyExists);
  }
}

TEST_F(JobServiceTest, BadRequestsAreRefusedAndStoreNothing) {
  auto service = Start();
  for (const char* path : {"../evil.yml", "/etc/passwd", "data/../../x", ""}) {
    v1::TrainRequest r = Request();
    r.mutable_files()->add_files()->set_path(path);
    try {
      service->Submit("t1", r);
      FAIL() << path;
    } catch (const util::Error& e) {
      EXPECT_EQ(e.code(), util::ErrorCode::kInvalidArgument) << path;
    }
  }
  v1::TrainRequest nul = Request();
  nul.mutable_files()->add_files()->set_path(std::string("a\0b", 3));
  EXPECT_THROW(service->Submit("t1", nul), util::Error);
  ServiceOptions small;
  small.max_project_bytes = 100;
  service.reset();
  service = Start(small);
  EXPECT_THROW(service->Submit("t1", Request()), util::Error);
  v1::ListJobsRequest list;
  EXPECT_EQ(service->List("t1", list).jobs_size(), 0);
  EXPECT_TRUE(fs::is_empty(dir_.path() / "state" / "projects"));
}

TEST_F(JobServiceTest, TenantsSeeOnlyTheirJobs) {
  auto service = Start();
  const v1::Job job = service->Submit("t1", Request());
  EXPECT_THROW(service->Get("t2", job.id()), util::NotFoundError);
  EXPECT_THROW(service->Cancel("t2", job.id()), util::NotFoundError);
  EXPECT_EQ(service->List("t2", {}).jobs_size(), 0);
  EXPECT_EQ(service->List("t1", {}).jobs_size(), 1);
}

TEST_F(JobServiceTest, InvalidProjectsFailWithTheirDiagnostics) {
  auto service = Start();
  const v1::Job job = service->Submit("t1", Request("nlu:\n- intent: greet\n  examples: [\n"));
  const auto events = Follow(*service, job.id());
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().has_failed()) << events.back().DebugString();
  const v1::JobFailure& failure = events.back().failed();
  EXPECT_EQ(failure.code(), "INVALID_ARGUMENT");
  const v1::Diagnostic* error = nullptr;
  for (const auto& d : failure.details())
    if (d.severity() == v1::SEVERITY_ERROR && !error) error = &d;
  ASSERT_NE(error, nullptr) << failure.DebugString();
  EXPECT_EQ(error->location().file(), "data/nlu.yml") << failure.DebugString();
  EXPECT_GT(error->location().line(), 1);
  EXPECT_EQ(failure.message().find(dir_.path().string()), std::string::npos)
      << "server paths must not leak to clients";
  EXPECT_EQ(service->Get("t1", job.id()).state(), v1::JOB_STATE_FAILED);
}

TEST_F(JobServiceTest, QueueLimitCancellationAndRestartLoseNothing) {
  ServiceOptions options;
  options.max_queue = 2;
  options.workers = 1;
  auto service = Start(options);
  service->Shutdown();  // no worker: jobs stay queued
  const v1::Job a = service->Submit("t1", Request());
  const v1::Job b = service->Submit("t1", Request());
  try {
    service->Submit("t1", Request());
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_EQ(e.code(), util::ErrorCode::kResourceExhausted);
  }
  EXPECT_EQ(service->Cancel("t1", b.id()).state(), v1::JOB_STATE_CANCELLED);
  // "Restart": a new service over the same state trains the queued job.
  service.reset();
  service = Start(options);
  const auto events = Follow(*service, a.id());
  EXPECT_TRUE(events.back().has_succeeded());
  EXPECT_EQ(service->Get("t1", b.id()).state(), v1::JOB_STATE_CANCELLED);
  // Watching again from a sequence returns exactly the rest.
  const auto tail = Follow(*service, a.id(), events[events.size() - 3].sequence());
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail.back().sequence(), events.back().sequence());
  service->Delete("t1", a.id());
  EXPECT_THROW(service->Get("t1", a.id()), util::NotFoundError);
}

}  // namespace
}  // namespace trainyard::server

namespace trainyard::server {
namespace {

// A project big enough that featurizing it takes several seconds.
v1::TrainRequest BigRequest() {
  std::string nlu = "nlu:\n";
  for (const char* intent : {"greet", "goodbye", "mood_great"}) {
    nlu += std::string("- intent: ") + intent + "\n  examples: |\n";
    for (int i = 0; i < 30000; ++i)
      nlu += std::string("    - ") + intent + " example number " + std::to_string(i) + " with some more words\n";
  }
  v1::TrainRequest request = Request(nlu);
  request.mutable_files()->mutable_files(0)->set_content(
      "recipe: default.v1\nlanguage: en\nassistant_id: big\npipeline:\n  - name: WhitespaceTokenizer\n"
      "  - name: CountVectorsFeaturizer\n    analyzer: char_wb\n    min_ngram: 1\n    max_ngram: 5\n"
      "  - name: KeywordIntentClassifier\npolicies: []\n");
  return request;
}

TEST_F(JobServiceTest, CancellingARunningJobStopsItWithinTwoSecondsAndLeavesNoModel) {
  const v1::TrainRequest request = BigRequest();
  auto service = Start();
  const v1::Job job = service->Submit("t1", request);
  // Wait until the featurizer is being trained, then cancel.
  int64_t after = 0;
  bool training = false, finished = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!training && !finished && std::chrono::steady_clock::now() < deadline)
    for (const auto& e : service->WaitEvents("t1", job.id(), after, std::chrono::milliseconds(200), &finished)) {
      after = e.sequence();
      training |= e.has_node_started() && e.node_started().component() == "CountVectorsFeaturizer";
    }
  ASSERT_TRUE(training) << "the job finished before it could be cancelled";
  const auto cancelled_at = std::chrono::steady_clock::now();
  EXPECT_EQ(service->Cancel("t1", job.id()).state(), v1::JOB_STATE_CANCELLING);
  const auto events = Follow(*service, job.id(), after);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - cancelled_at).count();
  EXPECT_LT(seconds, 2.0);
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(events.back().has_cancelled()) << events.back().DebugString();
  const v1::Job done = service->Get("t1", job.id());
  EXPECT_EQ(done.state(), v1::JOB_STATE_CANCELLED);
  EXPECT_TRUE(done.result().model_uri().empty());
  EXPECT_FALSE(fs::exists(dir_.path() / "models" / (job.id() + ".tar.gz")));
}

}  // namespace
}  // namespace trainyard::server

namespace trainyard::server {
namespace {

TEST_F(JobServiceTest, JobsRunningPastTheTimeoutFailWithDeadlineExceeded) {
  ServiceOptions options;
  options.job_timeout = std::chrono::seconds(1);
  auto service = Start(options);
  const v1::Job job = service->Submit("t1", BigRequest());
  const auto events = Follow(*service, job.id());
  ASSERT_TRUE(events.back().has_failed()) << events.back().DebugString();
  EXPECT_EQ(events.back().failed().code(), "DEADLINE_EXCEEDED");
  EXPECT_EQ(service->Get("t1", job.id()).state(), v1::JOB_STATE_FAILED);
}

TEST_F(JobServiceTest, ShutdownLetsRunningJobsFinishWithinTheGracePeriod) {
  auto service = Start();
  const v1::Job job = service->Submit("t1", Request());
  // Wait until it runs, then shut down with a generous grace period.
  bool finished = false;
  int64_t after = 0;
  bool started = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!started && !finished && std::chrono::steady_clock::now() < deadline)
    for (const auto& e : service->WaitEvents("t1", job.id(), after, std::chrono::milliseconds(100), &finished)) {
      after = e.sequence();
      started |= e.has_started();
    }
  service->Shutdown(std::chrono::seconds(30));
  EXPECT_EQ(service->Get("t1", job.id()).state(), v1::JOB_STATE_SUCCEEDED);
}

TEST_F(JobServiceTest, RunningJobsReportTelemetryAtTheConfiguredInterval) {
  ServiceOptions options;
  options.telemetry_interval = std::chrono::milliseconds(200);
  options.job_timeout = std::chrono::seconds(2);  // the job would run for over 10 s
  auto service = Start(options);
  const v1::Job job = service->Submit("t1", BigRequest());
  const auto events = Follow(*service, job.id());
  ASSERT_TRUE(events.back().has_failed()) << events.back().DebugString();
  std::vector<v1::Telemetry> samples;
  bool started_first = false;
  for (const auto& e : events) {
    if (e.has_started()) started_first = samples.empty();
    if (e.has_telemetry()) samples.push_back(e.telemetry());
  }
  EXPECT_TRUE(started_first);
  // One sample at the start, then one per interval for two seconds.
  ASSERT_GE(samples.size(), 5u);
  for (const auto& t : samples) {
    EXPECT_GT(t.rss_bytes(), 1u << 20);
    EXPECT_EQ(t.device(), "cpu");
    EXPECT_GE(t.cpu_percent(), 0.0);
  }
  // Training keeps a core busy for most of an interval.
  double busiest = 0;
  for (const auto& t : samples) busiest = std::max(busiest, t.cpu_percent());
  EXPECT_GT(busiest, 20.0);
}

TEST_F(JobServiceTest, LogsAreJsonLinesCarryingJobAndRequestIds) {
  std::ostringstream out;
  log::SetOutput(&out);
  auto service = Start();
  v1::TrainRequest request = Request();
  request.set_request_id("req-42");
  const v1::Job job = service->Submit("t1", request);
  Follow(*service, job.id());
  service.reset();
  log::Write(log::Level::kError, "odd \"text\" {} \xff", {{"path", "a\\b"}});
  log::SetOutput(nullptr);

  std::vector<nlohmann::json> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) {
    ASSERT_TRUE(nlohmann::json::accept(line)) << line;
    lines.push_back(nlohmann::json::parse(line));
  }
  auto find = [&](const std::string& msg) -> const nlohmann::json* {
    for (const auto& l : lines)
      if (l.value("msg", "") == msg) return &l;
    return nullptr;
  };
  for (const char* msg : {"job submitted", "job started", "job finished"}) {
    const nlohmann::json* l = find(msg);
    ASSERT_NE(l, nullptr) << msg << " not in:\n" << out.str();
    EXPECT_EQ(l->value("job_id", ""), job.id());
    EXPECT_EQ(l->value("request_id", ""), "req-42");
    EXPECT_EQ(l->value("level", ""), "info");
    EXPECT_EQ(l->value("time", "").size(), std::string("2026-11-28T19:00:00.123456Z").size()) << *l;
  }
  EXPECT_EQ(find("job finished")->value("state", ""), "SUCCEEDED");
  const nlohmann::json* odd = find("odd \"text\" {} \xef\xbf\xbd");
  ASSERT_NE(odd, nullptr) << out.str();
  EXPECT_EQ(odd->value("level", ""), "error");
  EXPECT_EQ(odd->value("path", ""), "a\\b");
}

TEST_F(JobServiceTest, EachGpuTrainsOneJobAtATime) {
  ServiceOptions options;
  options.devices = {"cuda:0", "cuda:1"};
  options.workers = 5;  // ignored: one worker per device
  options.job_timeout = std::chrono::seconds(1);
  options.telemetry_interval = std::chrono::milliseconds(100);
  auto service = Start(options);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(service->Submit("t1", BigRequest()).id());
  std::vector<std::vector<v1::JobEvent>> events;
  for (const auto& id : ids) events.push_back(Follow(*service, id));
  auto device_of = [](const std::vector<v1::JobEvent>& job) {
    for (const auto& e : job)
      if (e.has_telemetry()) return e.telemetry().device();
    return std::string();
  };
  auto millis = [](const v1::JobEvent& e) { return e.time().seconds() * 1000 + e.time().nanos() / 1000000; };
  auto started_at = [&](const std::vector<v1::JobEvent>& job) {
    for (const auto& e : job)
      if (e.has_started()) return millis(e);
    return int64_t{-1};
  };
  // The first two run at once, on different GPUs; the third waits for one of them.
  const std::string a = device_of(events[0]), b = device_of(events[1]), c = device_of(events[2]);
  EXPECT_TRUE((a == "cuda:0" && b == "cuda:1") || (a == "cuda:1" && b == "cuda:0")) << a << " " << b;
  EXPECT_TRUE(c == "cuda:0" || c == "cuda:1") << c;
  EXPECT_LT(started_at(events[1]), millis(events[0].back()));
  EXPECT_GE(started_at(events[2]), std::min(millis(events[0].back()), millis(events[1].back())));
}

TEST_F(JobServiceTest, AProjectSubmittedTwiceTrainsOnceThroughTheSharedCache) {
  ServiceOptions options;
  options.workers = 2;
  auto service = Start(options);
  auto trained_and_restored = [&](const std::string& id) {
    int trained = 0, restored = 0;
    for (const auto& e : Follow(*service, id)) {
      trained += e.has_node_finished() && e.node_finished().component() == "KeywordIntentClassifier";
      restored += e.has_node_restored() && e.node_restored().component() == "KeywordIntentClassifier";
      if (e.has_failed()) ADD_FAILURE() << e.DebugString();
    }
    return std::make_pair(trained, restored);
  };
  EXPECT_EQ(trained_and_restored(service->Submit("t1", Request()).id()), std::make_pair(1, 0));
  // A second job (maybe on the other worker), same project: restored, not retrained.
  EXPECT_EQ(trained_and_restored(service->Submit("t1", Request()).id()), std::make_pair(0, 1));
}

}  // namespace
}  // namespace trainyard::server
