#include "server/job_service.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/time_util.h>

#include <dlfcn.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>

#include "core/storage/archive.h"
#include "core/training/train.h"
#include "core/util/cpus.h"
#include "core/util/errors.h"
#include "core/util/sha256.h"
#include "core/util/strings.h"
#include "server/log.h"
#include "server/status.h"

namespace fs = std::filesystem;

namespace trainyard::server {
namespace {

// Memory in use on a GPU, from NVIDIA's management library loaded at run time
// (no build dependency; absent on machines without the driver). Jobs own
// their GPU (one worker per GPU), so the device's use is the job's.
std::optional<uint64_t> GpuMemoryUsed(const std::string& device) {
  if (device.rfind("cuda", 0) != 0) return std::nullopt;
  struct Nvml {
    struct Memory {
      unsigned long long total, free, used;
    };
    int (*init)() = nullptr;
    int (*handle_by_index)(unsigned, void**) = nullptr;
    int (*memory_info)(void*, Memory*) = nullptr;
    bool ok = false;
    Nvml() {
      void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
      if (!lib) return;
      init = reinterpret_cast<int (*)()>(dlsym(lib, "nvmlInit_v2"));
      handle_by_index = reinterpret_cast<int (*)(unsigned, void**)>(dlsym(lib, "nvmlDeviceGetHandleByIndex_v2"));
      memory_info = reinterpret_cast<int (*)(void*, Memory*)>(dlsym(lib, "nvmlDeviceGetMemoryInfo"));
      ok = init && handle_by_index && memory_info && init() == 0;
    }
  };
  static Nvml nvml;
  if (!nvml.ok) return std::nullopt;
  const size_t colon = device.find(':');
  const unsigned index = colon == std::string::npos ? 0u : static_cast<unsigned>(std::atoi(device.c_str() + colon + 1));
  void* handle = nullptr;
  Nvml::Memory memory{};
  if (nvml.handle_by_index(index, &handle) != 0 || nvml.memory_info(handle, &memory) != 0) return std::nullopt;
  return memory.used;
}

// Process-wide resource use: the CPU the server used since the previous
// sample (100 = one core busy) and its resident memory. Jobs share the
// process, so with several workers the figures cover all of them.
class TelemetrySampler {
 public:
  explicit TelemetrySampler(std::string device)
      : device_(std::move(device)), last_wall_(std::chrono::steady_clock::now()), last_cpu_(CpuSeconds()) {}

  v1::Telemetry Sample() {
    v1::Telemetry t;
    const auto wall = std::chrono::steady_clock::now();
    const double cpu = CpuSeconds();
    const double elapsed = std::chrono::duration<double>(wall - last_wall_).count();
    t.set_cpu_percent(elapsed > 0 ? 100.0 * (cpu - last_cpu_) / elapsed : 0.0);
    last_wall_ = wall;
    last_cpu_ = cpu;
    t.set_rss_bytes(RssBytes());
    t.set_device(device_);
    if (const auto gpu = GpuMemoryUsed(device_)) t.set_gpu_memory_bytes(*gpu);
    return t;
  }

 private:
  static double CpuSeconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
  }
  static uint64_t RssBytes() {
    std::ifstream statm("/proc/self/statm");
    uint64_t pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  }

  std::string device_;
  std::chrono::steady_clock::time_point last_wall_;
  double last_cpu_;
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

google::protobuf::Timestamp ToTimestamp(int64_t ms) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(ms);
}

// Deterministic bytes of a message (map order fixed), for request hashing.
std::string DeterministicBytes(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

// A project file path must stay inside the project: relative, no "..", no NUL.
void CheckPath(const std::string& path) {
  auto bad = [&](const std::string& why) {
    // An InvalidDataError, so that the status names the path as the bad field.
    throw util::InvalidDataError({path, 0, 0}, "Invalid project file path '" + path + "': " + why + ".");
  };
  if (path.empty()) bad("empty");
  if (path.find('\0') != std::string::npos) bad("contains NUL");
  if (path[0] == '/' || path[0] == '\\') bad("absolute paths are not allowed");
  for (const std::string& part : util::Split(path, '/'))
    if (part == "..") bad("'..' is not allowed");
}

// Diagnostics name files as the client sent them, not where the server keeps them.
v1::Diagnostic ClientDiagnostic(util::Diagnostic d, const fs::path& project) {
  const std::string prefix = project.string() + "/";
  if (util::StartsWith(d.location.file, prefix)) d.location.file = d.location.file.substr(prefix.size());
  std::string& m = d.message;
  for (size_t pos; (pos = m.find(prefix)) != std::string::npos;) m.erase(pos, prefix.size());
  return ToProto(d);
}

v1::JobState ToProtoState(JobState s) { return static_cast<v1::JobState>(static_cast<int>(s) + 1); }

}  // namespace

JobService::JobService(ServiceOptions options, std::unique_ptr<JobStore> store, std::unique_ptr<ArtifactStore> artifacts)
    : options_(std::move(options)), store_(std::move(store)), artifacts_(std::move(artifacts)) {
  fs::create_directories(options_.state_dir / "projects");
  fs::create_directories(options_.state_dir / "work");
  // Jobs that were running when the process died train again (bounded attempts).
  const int recovered = store_->Recover(options_.max_attempts, NowMs(), "The job was interrupted too many times.");
  if (recovered > 0) log::Info("re-queued interrupted jobs", {{"jobs", recovered}});
  if (!options_.devices.empty())
    for (const std::string& device : options_.devices) workers_.emplace_back([this, device] { WorkerLoop(device); });
  else
    for (size_t i = 0; i < std::max<size_t>(1, options_.workers); ++i) workers_.emplace_back([this] { WorkerLoop("cpu"); });
}

JobService::~JobService() { Shutdown(); }

void JobService::Shutdown(std::chrono::milliseconds grace) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    // Running jobs may finish within the grace period...
    events_.wait_for(lock, grace, [this] { return running_.empty(); });
    // ...then they stop between nodes and RunJob puts them back in the queue.
    for (auto& [id, token] : running_) token->Cancel();
  }
  work_.notify_all();
  events_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

int64_t JobService::Emit(const std::string& job_id, v1::JobEvent event) {
  const int64_t now = NowMs();
  event.set_job_id(job_id);
  *event.mutable_time() = ToTimestamp(now);
  // The sequence is assigned by the store; it is also written into the event
  // when read back (see WaitEvents).
  const int64_t seq = store_->AppendEvent(job_id, now, event.SerializeAsString());
  events_.notify_all();
  if (JobObserver* o = observer_.load()) o->OnEvent(event);
  return seq;
}

v1::Job JobService::Submit(const std::string& tenant, const v1::TrainRequest& request) {
  if (tenant.empty()) throw util::Error(util::ErrorCode::kInvalidArgument, "No tenant.");
  if (!request.has_upload_id() && (!request.has_files() || request.files().files_size() == 0))
    throw util::Error(util::ErrorCode::kInvalidArgument, "The request has no project files.");
  if (request.has_upload_id()) {
    const std::string& upload = request.upload_id();
    std::ifstream owner(options_.state_dir / "uploads" / (upload + ".tenant"));
    std::string who;
    if (upload.find('/') != std::string::npos || !(owner >> who) || who != tenant)
      throw util::NotFoundError("No upload '" + upload + "'.");
  } else if (static_cast<size_t>(request.files().files_size()) > options_.max_files)
    throw util::Error(util::ErrorCode::kInvalidArgument, "The project has " + std::to_string(request.files().files_size()) +
                                                             " files; the limit is " + std::to_string(options_.max_files) + ".");
  const std::string& fingerprint = request.options().project_fingerprint();
  if (!fingerprint.empty() &&
      (fingerprint.size() != 64 || fingerprint.find_first_not_of("0123456789abcdef") != std::string::npos))
    throw util::Error(util::ErrorCode::kInvalidArgument,
                      "options.project_fingerprint must be a SHA-256: 64 lowercase hexadecimal digits.");
  size_t bytes = 0;
  for (const v1::ProjectFile& f : request.files().files()) {
    CheckPath(f.path());
    bytes += f.content().size();
  }
  if (bytes > options_.max_project_bytes)
    throw util::Error(util::ErrorCode::kInvalidArgument, "The project has " + std::to_string(bytes) +
                                                             " bytes; the limit is " +
                                                             std::to_string(options_.max_project_bytes) + ".");
  const auto counts = store_->CountByState();
  const auto queued = counts.count(JobState::kQueued) ? counts.at(JobState::kQueued) : 0;
  if (static_cast<size_t>(queued) >= options_.max_queue)
    throw util::Error(util::ErrorCode::kResourceExhausted,
                      "The queue is full (" + std::to_string(queued) + " jobs); retry later.");

  JobRecord job;
  job.id = storage::NewModelId();
  job.tenant = tenant;
  job.request_id = request.request_id();
  job.request_hash = util::Sha256Hex(DeterministicBytes(request));
  job.priority = request.priority();
  for (const auto& [k, v] : request.labels()) job.labels[k] = v;
  job.created_ms = NowMs();
  v1::TrainRequest spec = request;
  spec.clear_files();  // the files live in the project directory
  job.spec = spec.SerializeAsString();

  // Files first, under a temp name; the job exists only once they are whole.
  const fs::path temp = options_.state_dir / "projects" / (".tmp-" + job.id);
  if (request.has_upload_id()) {
    try {
      storage::UnpackProjectArchive(options_.state_dir / "uploads" / (request.upload_id() + ".tar.gz"), temp,
                                    options_.max_files, options_.max_project_bytes);
    } catch (...) {
      fs::remove_all(temp);
      throw;
    }
  }
  for (const v1::ProjectFile& f : request.files().files()) {
    const fs::path target = temp / f.path();
    fs::create_directories(target.parent_path());
    std::ofstream(target, std::ios::binary) << f.content();
  }
  // The files are in place before the job exists (a worker may claim it at
  // once); its queued event is written with it, so it is always event 1.
  const fs::path project = options_.state_dir / "projects" / job.id;
  fs::rename(temp, project);
  bool created = false;
  JobRecord stored;
  v1::JobEvent queued_event;
  try {
    stored = store_->CreateOrGet(job, &created, [&](int position) {
      queued_event.set_queued_position(position);
      queued_event.set_job_id(job.id);
      *queued_event.mutable_time() = ToTimestamp(job.created_ms);
      return queued_event.SerializeAsString();
    });
  } catch (...) {
    fs::remove_all(project);
    throw;
  }
  if (!created) {
    fs::remove_all(project);
    return ToProto(stored);
  }
  log::Info("job submitted", {{"job_id", job.id}, {"request_id", job.request_id}, {"tenant", tenant},
                              {"priority", job.priority}, {"files", request.files().files_size()}});
  events_.notify_all();
  if (JobObserver* o = observer_.load()) o->OnEvent(queued_event);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    work_pending_ = true;  // a worker busy claiming would otherwise miss the notification
  }
  work_.notify_one();
  return ToProto(stored);
}

v1::UploadReference JobService::AcceptUpload(const std::string& tenant, const fs::path& file, uint64_t size,
                                             const std::string& sha256) {
  const uint64_t actual = fs::file_size(file);
  const std::string digest = util::Sha256File(file);
  if (actual != size || digest != sha256) {
    fs::remove(file);
    throw util::Error(util::ErrorCode::kInvalidArgument,
                      "The upload does not match its header: " + std::to_string(actual) + " bytes with SHA-256 " +
                          digest + ", declared " + std::to_string(size) + " bytes with " + sha256 + ".");
  }
  const std::string id = storage::NewModelId();
  const fs::path dir = options_.state_dir / "uploads";
  fs::create_directories(dir);
  std::ofstream(dir / (id + ".tenant")) << tenant << "\n";
  fs::rename(file, dir / (id + ".tar.gz"));
  v1::UploadReference ref;
  ref.set_upload_id(id);
  ref.set_size(actual);
  ref.set_sha256(digest);
  return ref;
}

JobRecord JobService::OwnedJob(const std::string& tenant, const std::string& id) {
  auto job = store_->Get(id);
  if (!job || job->tenant != tenant) throw util::NotFoundError("No job '" + id + "'.");
  return *job;
}

v1::Job JobService::Get(const std::string& tenant, const std::string& id) { return ToProto(OwnedJob(tenant, id)); }

v1::ListJobsResponse JobService::List(const std::string& tenant, const v1::ListJobsRequest& request) {
  ListFilter filter;
  filter.tenant = tenant;
  if (request.state() != v1::JOB_STATE_UNSPECIFIED) filter.state = static_cast<JobState>(request.state() - 1);
  for (const auto& [k, v] : request.labels()) filter.labels[k] = v;
  filter.page_size = request.page_size();
  filter.page_token = request.page_token();
  v1::ListJobsResponse out;
  std::string next;
  for (const JobRecord& j : store_->List(filter, &next)) *out.add_jobs() = ToProto(j);
  out.set_next_page_token(next);
  return out;
}

v1::Job JobService::Cancel(const std::string& tenant, const std::string& id) {
  const JobRecord job = OwnedJob(tenant, id);
  if (job.state == JobState::kQueued && store_->Transition(id, JobState::kQueued, JobState::kCancelled, NowMs())) {
    v1::JobEvent e;
    e.set_cancelled("Cancelled while queued.");
    Emit(id, e);
  } else if (job.state == JobState::kRunning &&
             store_->Transition(id, JobState::kRunning, JobState::kCancelling, NowMs())) {
    v1::JobEvent e;
    e.set_state_changed(v1::JOB_STATE_CANCELLING);
    Emit(id, e);
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = running_.find(id); it != running_.end()) it->second->Cancel();
  }
  return Get(tenant, id);
}

void JobService::Delete(const std::string& tenant, const std::string& id) {
  const JobRecord job = OwnedJob(tenant, id);
  if (!IsTerminal(job.state))
    throw util::Error(util::ErrorCode::kFailedPrecondition, "Job '" + id + "' is " + JobStateName(job.state) +
                                                                "; cancel it before deleting it.");
  store_->Delete(id);
  artifacts_->Remove(id + ".tar.gz");
  std::error_code ec;
  fs::remove_all(options_.state_dir / "projects" / id, ec);
}

void JobService::FetchModel(const std::string& tenant, const std::string& id, const fs::path& local) {
  const JobRecord job = OwnedJob(tenant, id);
  v1::JobResult result;
  result.ParseFromString(job.result);
  if (job.state != JobState::kSucceeded || result.model_uri().empty())
    throw util::Error(util::ErrorCode::kFailedPrecondition,
                      "Job '" + id + "' has no model (it is " + JobStateName(job.state) + ").");
  artifacts_->Get(id + ".tar.gz", local);
}

std::vector<v1::JobEvent> JobService::WaitEvents(const std::string& tenant, const std::string& id, int64_t after,
                                                 std::chrono::milliseconds wait, bool* finished) {
  OwnedJob(tenant, id);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  *finished = false;
  while (true) {
    std::vector<v1::JobEvent> out;
    for (const StoredEvent& stored : store_->EventsAfter(id, after, 1000)) {
      v1::JobEvent e;
      e.ParseFromString(stored.payload);
      e.set_sequence(stored.sequence);
      out.push_back(std::move(e));
    }
    if (!out.empty()) return out;
    const auto job = store_->Get(id);
    if (!job || IsTerminal(job->state)) {
      *finished = true;
      return out;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopping_ || events_.wait_until(lock, deadline) == std::cv_status::timeout) return out;
  }
}

void JobService::WorkerLoop(const std::string& device) {
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      work_pending_ = false;
    }
    std::optional<JobRecord> job;
    try {
      job = store_->ClaimNext(options_.per_tenant_running, NowMs());
    } catch (const util::Error&) {
      job.reset();  // a busy database: try again shortly
    }
    if (!job) {
      std::unique_lock<std::mutex> lock(mutex_);
      // Queued jobs of other replicas are picked up within a second.
      work_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_ || work_pending_; });
      continue;
    }
    RunJob(*job, device);
  }
}

void JobService::RunJob(const JobRecord& job, const std::string& device) {
  const auto job_start = std::chrono::steady_clock::now();
  auto token = std::make_shared<graph::CancellationToken>();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_[job.id] = token;
  }
  // A watchdog thread per job: samples telemetry every telemetry_interval and
  // cancels the token when the per-job timeout is up.
  std::atomic<bool> timed_out{false};
  std::mutex watchdog_mutex;
  std::condition_variable watchdog_wake;
  bool job_done = false;
  std::thread watchdog;
  auto stop_watchdog = [&] {
    if (!watchdog.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(watchdog_mutex);
      job_done = true;
    }
    watchdog_wake.notify_all();
    watchdog.join();
  };
  v1::JobEvent started;
  started.set_started(true);
  Emit(job.id, started);
  log::Info("job started", {{"job_id", job.id}, {"request_id", job.request_id}, {"tenant", job.tenant},
                            {"attempt", job.attempts}, {"device", device}});
  const bool sample = options_.telemetry_interval.count() > 0;
  if (sample || options_.job_timeout.count() > 0)
    watchdog = std::thread([&, sample] {
      using Clock = std::chrono::steady_clock;
      const auto deadline = options_.job_timeout.count() > 0 ? Clock::now() + options_.job_timeout : Clock::time_point::max();
      TelemetrySampler sampler(device);
      std::unique_lock<std::mutex> lock(watchdog_mutex);
      while (!job_done) {
        if (sample) {
          lock.unlock();
          v1::JobEvent e;
          *e.mutable_telemetry() = sampler.Sample();
          Emit(job.id, e);
          lock.lock();
        }
        auto wake = deadline;
        if (sample && Clock::now() + options_.telemetry_interval < deadline) wake = Clock::now() + options_.telemetry_interval;
        if (watchdog_wake.wait_until(lock, wake, [&] { return job_done; })) break;
        if (Clock::now() >= deadline) {
          timed_out = true;
          token->Cancel();
          break;
        }
      }
    });

  v1::TrainRequest spec;
  spec.ParseFromString(job.spec);
  const v1::TrainingOptions& o = spec.options();
  const fs::path project = options_.state_dir / "projects" / job.id;
  const fs::path work = options_.state_dir / "work" / job.id;
  training::TrainOptions train;
  train.config = project / (o.config_path().empty() ? "config.yml" : o.config_path());
  train.domain = project / (o.domain_path().empty() ? "domain.yml" : o.domain_path());
  train.training_files.clear();
  for (const std::string& d : o.data_paths()) train.training_files.push_back(project / d);
  if (train.training_files.empty()) train.training_files.push_back(project / "data");
  train.output = work;
  train.dry_run = o.dry_run();
  train.force_training = o.force();
  if (!o.fixed_model_name().empty()) train.fixed_model_name = o.fixed_model_name();
  if (!o.project_fingerprint().empty()) train.project_fingerprint = o.project_fingerprint();
  train.persist_nlu_training_data = o.persist_nlu_data();
  if (o.has_epoch_fraction()) train.finetuning_epoch_fraction = o.epoch_fraction();
  train.cache_directory = options_.state_dir / "cache";
  // Jobs share the cores: each gets its part unless told otherwise.
  const size_t concurrent = options_.devices.empty() ? std::max<size_t>(1, options_.workers) : options_.devices.size();
  train.runner_threads = options_.runner_threads > 0
                             ? options_.runner_threads
                             : std::max<size_t>(1, util::AvailableCores() / concurrent);
  train.device = device;
  train.compute_threads = std::max<size_t>(1, util::AvailableCores() / concurrent);
  train.cancel = token.get();
  train.on_event = [this, &job](const graph::TrainingEvent& te) {
    v1::JobEvent e;
    v1::NodeEvent* node = nullptr;
    switch (te.kind) {
      case graph::TrainingEvent::Kind::kNodeStarted: node = e.mutable_node_started(); break;
      case graph::TrainingEvent::Kind::kNodeFinished: node = e.mutable_node_finished(); break;
      case graph::TrainingEvent::Kind::kNodeRestored: node = e.mutable_node_restored(); break;
      case graph::TrainingEvent::Kind::kProgress: {
        auto* p = e.mutable_progress();
        p->set_node(te.node);
        p->set_epoch(te.progress.step);
        p->set_total(te.progress.total);
        for (const auto& [k, v] : te.progress.metrics.items())
          if (v.is_number()) (*p->mutable_metrics())[k] = v.get<double>();
        break;
      }
      case graph::TrainingEvent::Kind::kWarning:
        e.mutable_warning()->set_severity(v1::SEVERITY_WARNING);
        e.mutable_warning()->set_message(te.node + ": " + te.message);
        break;
    }
    if (node) {
      node->set_node(te.node);
      node->set_component(te.component);
      node->set_seconds(te.seconds);
    }
    Emit(job.id, e);
  };
  train.on_warning = [this, &job, &project](const util::Diagnostic& d) {
    v1::JobEvent e;
    *e.mutable_warning() = ClientDiagnostic(d, project);
    Emit(job.id, e);
  };

  v1::JobEvent final_event;
  JobState final_state = JobState::kFailed;
  std::string result_bytes, failure_bytes;
  bool requeue = false;
  try {
    const training::TrainingResult r = o.kind() == v1::TRAINING_KIND_NLU    ? training::TrainNlu(train)
                                       : o.kind() == v1::TRAINING_KIND_CORE ? training::TrainCore(train)
                                                                            : training::Train(train);
    token->ThrowIfCancelled();
    v1::JobResult result;
    result.set_code(r.code);
    result.set_training_type(data::TrainingTypeName(r.training_type));
    if (r.model) {
      const StoredArtifact stored = artifacts_->Put(*r.model, job.id + ".tar.gz");
      result.set_model_uri(stored.uri);
      result.set_model_size(stored.size);
      result.set_model_sha256(stored.sha256);
    } else if (!o.dry_run()) {
      v1::JobFailure failure;
      failure.set_code("FAILED_PRECONDITION");
      failure.set_message(r.messages.empty() ? "No model was trained." : util::Join(r.messages, " "));
      failure_bytes = failure.SerializeAsString();
      *final_event.mutable_failed() = failure;
    }
    if (failure_bytes.empty()) {
      final_state = JobState::kSucceeded;
      result_bytes = result.SerializeAsString();
      *final_event.mutable_succeeded() = result;
    }
  } catch (const util::CancelledError&) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (timed_out) {
      v1::JobFailure failure;
      failure.set_code("DEADLINE_EXCEEDED");
      failure.set_message("The job ran longer than the per-job timeout of " +
                          std::to_string(options_.job_timeout.count()) + " s.");
      failure_bytes = failure.SerializeAsString();
      *final_event.mutable_failed() = failure;
    } else {
      requeue = stopping_ && store_->Get(job.id)->state == JobState::kRunning;
      final_state = JobState::kCancelled;
      final_event.set_cancelled("Cancelled while running.");
    }
  } catch (const util::Error& e) {
    v1::JobFailure failure;
    failure.set_code(util::ErrorCodeName(e.code()));
    std::string message = e.what();
    const std::string prefix = project.string() + "/";
    for (size_t pos; (pos = message.find(prefix)) != std::string::npos;) message.erase(pos, prefix.size());
    failure.set_message(message);
    if (const auto* invalid = dynamic_cast<const util::InvalidDataError*>(&e))
      for (const util::Diagnostic& d : invalid->details()) *failure.add_details() = ClientDiagnostic(d, project);
    failure_bytes = failure.SerializeAsString();
    *final_event.mutable_failed() = failure;
  } catch (const std::exception& e) {
    v1::JobFailure failure;
    failure.set_code("INTERNAL");
    failure.set_message(e.what());
    failure_bytes = failure.SerializeAsString();
    *final_event.mutable_failed() = failure;
  }
  stop_watchdog();
  std::error_code ec;
  fs::remove_all(work, ec);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_.erase(job.id);
  }
  events_.notify_all();  // Shutdown may be waiting for running jobs
  if (requeue) {
    // Shutdown, not the user, stopped it: it trains again after a restart.
    store_->Transition(job.id, JobState::kRunning, JobState::kQueued, NowMs());
    v1::JobEvent e;
    e.set_state_changed(v1::JOB_STATE_QUEUED);
    Emit(job.id, e);
    log::Warning("job stopped by shutdown, re-queued", {{"job_id", job.id}, {"request_id", job.request_id}});
    return;
  }
  Emit(job.id, final_event);
  if (!store_->Transition(job.id, JobState::kRunning, final_state, NowMs(), result_bytes, failure_bytes)) {
    // Cancel arrived while finishing: the job ends cancelled and keeps no model.
    store_->Transition(job.id, JobState::kCancelling, JobState::kCancelled, NowMs());
    artifacts_->Remove(job.id + ".tar.gz");
    if (final_state != JobState::kCancelled) {
      v1::JobEvent e;
      e.set_cancelled("Cancelled while finishing.");
      Emit(job.id, e);
    }
  }
  const JobState ended = store_->Get(job.id)->state;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - job_start).count();
  nlohmann::ordered_json fields = {{"job_id", job.id}, {"request_id", job.request_id}, {"tenant", job.tenant},
                                   {"state", JobStateName(ended)}, {"seconds", seconds}};
  if (final_event.has_failed()) {
    fields["error_code"] = final_event.failed().code();
    fields["error"] = final_event.failed().message();
  }
  if (final_event.has_succeeded()) fields["model_uri"] = final_event.succeeded().model_uri();
  if (ended == JobState::kSucceeded || ended == JobState::kCancelled) log::Info("job finished", fields);
  else log::Warning("job finished", fields);
  if (JobObserver* o = observer_.load()) o->OnJobFinished(ended, seconds);
  events_.notify_all();
}

v1::Job JobService::ToProto(const JobRecord& r) {
  v1::Job j;
  j.set_id(r.id);
  j.set_tenant(r.tenant);
  j.set_state(ToProtoState(r.state));
  j.set_priority(r.priority);
  for (const auto& [k, v] : r.labels) (*j.mutable_labels())[k] = v;
  j.set_request_id(r.request_id);
  *j.mutable_created_at() = ToTimestamp(r.created_ms);
  if (r.started_ms) *j.mutable_started_at() = ToTimestamp(r.started_ms);
  if (r.finished_ms) *j.mutable_finished_at() = ToTimestamp(r.finished_ms);
  j.set_attempts(r.attempts);
  if (r.state == JobState::kQueued) j.set_queue_position(store_->QueuePosition(r.id));
  if (!r.result.empty()) j.mutable_result()->ParseFromString(r.result);
  if (!r.failure.empty()) j.mutable_failure()->ParseFromString(r.failure);
  j.set_last_sequence(store_->LastSequence(r.id));
  return j;
}

}  // namespace trainyard::server
