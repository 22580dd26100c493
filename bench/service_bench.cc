// bench/service: the service's overhead and throughput, in one process over
// loopback gRPC. Prints:
//  - submit→archive time of sara ÷ direct training::Train time (goal ≤ 1.05)
//  - submissions accepted per second for 1,000 small jobs (goal ≥ 1,000/s)
//  - event latency from the trainer's hook to a watcher (p50 / p99)
//  - RSS of the process with 50 watchers attached
// usage: service_bench PROJECT_DIR CONFIG

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include <google/protobuf/util/time_util.h>

#include "core/training/train.h"
#include "core/util/fs.h"
#include "server/grpc_service.h"
#include "server/job_service.h"

namespace fs = std::filesystem;
using namespace trainyard;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

long RssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

void AddTree(v1::TrainRequest& r, const fs::path& root, const fs::path& path, const std::string& as) {
  if (fs::is_regular_file(path)) {
    auto* f = r.mutable_files()->add_files();
    f->set_path(as);
    f->set_content(util::ReadFile(path));
    return;
  }
  for (const auto& e : fs::recursive_directory_iterator(path))
    if (e.is_regular_file()) AddTree(r, root, e.path(), as + "/" + fs::relative(e.path(), path).generic_string());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: service_bench PROJECT_DIR CONFIG\n";
    return 2;
  }
  const fs::path project = argv[1], config = argv[2];
  const fs::path work = fs::temp_directory_path() / ("trainyard-service-bench-" + std::to_string(::getpid()));
  fs::remove_all(work);

  // Direct training (its own cache, empty).
  training::TrainOptions direct;
  direct.config = config;
  direct.domain = project / "domain.yml";
  direct.training_files = {project / "data"};
  direct.output = work / "direct";
  direct.cache_directory = work / "direct-cache";
  auto start = Clock::now();
  training::Train(direct);
  const double direct_s = Seconds(start);

  server::ServiceOptions options;
  options.state_dir = work / "state";
  options.workers = 1;
  options.max_queue = 100000;
  server::JobService jobs(options, server::OpenSqliteJobStore(options.state_dir / "jobs.db"),
                          server::OpenLocalArtifactStore(work / "models"));
  server::GrpcTrainingService service(jobs, {});
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(256 << 20);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(256 << 20);
  auto stub = v1::TrainingService::NewStub(
      grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args));

  // 1. Submit → archive of the same project (empty service cache), with a watcher measuring latency.
  v1::TrainRequest big;
  AddTree(big, project, config, "config.yml");
  AddTree(big, project, project / "domain.yml", "domain.yml");
  AddTree(big, project, project / "data", "data");
  start = Clock::now();
  v1::Job job;
  {
    grpc::ClientContext c;
    if (!stub->SubmitTraining(&c, big, &job).ok()) return 1;
  }
  std::vector<double> latencies_ms;
  {
    grpc::ClientContext c;
    v1::WatchJobRequest w;
    w.set_job_id(job.id());
    auto reader = stub->WatchJob(&c, w);
    v1::JobEvent e;
    while (reader->Read(&e)) {
      if (e.heartbeat()) continue;
      const auto sent = google::protobuf::util::TimeUtil::TimestampToMilliseconds(e.time());
      const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
      latencies_ms.push_back(static_cast<double>(now - sent));
      if (e.has_succeeded() || e.has_failed()) break;
    }
  }
  const double service_s = Seconds(start);
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) { return latencies_ms.empty() ? 0 : latencies_ms[static_cast<size_t>(p * (latencies_ms.size() - 1))]; };

  // 2. 1,000 small submissions, 4 client threads.
  v1::TrainRequest small;
  auto* f = small.mutable_files()->add_files();
  f->set_path("config.yml");
  f->set_content("language: en\npipeline: []\n");
  jobs.Shutdown();  // measure acceptance only, not training
  start = Clock::now();
  std::vector<std::thread> clients;
  std::atomic<int> accepted{0};
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&] {
      for (int i = 0; i < 250; ++i) {
        grpc::ClientContext c;
        v1::Job j;
        if (stub->SubmitTraining(&c, small, &j).ok()) ++accepted;
      }
    });
  for (auto& t : clients) t.join();
  const double submit_s = Seconds(start);

  // 3. RSS with 50 watchers on a queued job.
  const long rss_before = RssKb();
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::JobEvent>>> readers;
  grpc::ClientContext lc;
  v1::Job queued;
  stub->SubmitTraining(&lc, small, &queued);
  for (int i = 0; i < 50; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    v1::WatchJobRequest w;
    w.set_job_id(queued.id());
    readers.push_back(stub->WatchJob(contexts.back().get(), w));
    v1::JobEvent e;
    readers.back()->Read(&e);  // the queued event: the stream is established
  }
  const long rss_watchers = RssKb();
  for (auto& c : contexts) c->TryCancel();
  for (auto& r : readers) r->Finish();

  std::printf("direct train:            %.3f s\n", direct_s);
  std::printf("submit -> archive:       %.3f s (ratio %.3f, goal <= 1.05)\n", service_s, service_s / direct_s);
  std::printf("submissions accepted:    %d in %.3f s = %.0f /s (goal >= 1000/s)\n", accepted.load(), submit_s,
              accepted / submit_s);
  std::printf("event latency:           p50 %.1f ms, p99 %.1f ms (%zu events)\n", pct(0.5), pct(0.99),
              latencies_ms.size());
  std::printf("RSS:                     %ld MB, with 50 watchers %ld MB\n", rss_before / 1024, rss_watchers / 1024);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  fs::remove_all(work);
  return 0;
}
