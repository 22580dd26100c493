// The remote commands: `trainyard submit | watch | jobs | cancel | download`
// against a trainyard-server.

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>
#include <thread>

#include "client/args.h"
#include "client/cli.h"
#include "core/storage/archive.h"
#include "core/util/fs.h"
#include "core/util/sha256.h"
#include "core/util/strings.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "trainyard/v1/training_service.grpc.pb.h"

namespace fs = std::filesystem;

namespace trainyard::client {
namespace {

const ArgSpec kServer{{"--server"}, ArgKind::kValue};
const ArgSpec kToken{{"--token"}, ArgKind::kValue};
const ArgSpec kTlsCa{{"--tls-ca"}, ArgKind::kValue};

struct Remote {
  std::unique_ptr<v1::TrainingService::Stub> stub;
  std::string token;

  std::unique_ptr<grpc::ClientContext> Context(std::chrono::seconds timeout = std::chrono::seconds(60)) const {
    auto c = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) c->AddMetadata("authorization", "Bearer " + token);
    if (timeout.count() > 0) c->set_deadline(std::chrono::system_clock::now() + timeout);
    return c;
  }
};

Remote Connect(const ParsedArgs& args) {
  auto env = [](const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return std::string(v && *v ? v : fallback);
  };
  Remote r;
  const std::string server = args.Value("--server").value_or(env("TRAINYARD_SERVER", "127.0.0.1:50051"));
  r.token = args.Value("--token").value_or(env("TRAINYARD_TOKEN", ""));
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxSendMessageSize(256 << 20);
  // TLS when a CA is given (--tls-ca or TRAINYARD_TLS_CA).
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  const std::string ca = args.Value("--tls-ca").value_or(env("TRAINYARD_TLS_CA", ""));
  if (!ca.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = util::ReadFile(ca);
    credentials = grpc::SslCredentials(ssl);
  }
  r.stub = v1::TrainingService::NewStub(grpc::CreateCustomChannel(server, credentials, channel_args));
  return r;
}

// Prints the error and the standard details the server attaches: each
// problem of an invalid project at its file:line, and when to retry.
int Fail(const grpc::Status& status, std::ostream& err) {
  err << "error: " << status.error_message() << " (" << status.error_code() << ")\n";
  google::rpc::Status rich;
  if (status.error_details().empty() || !rich.ParseFromString(status.error_details())) return kExitFailure;
  for (const auto& any : rich.details()) {
    google::rpc::BadRequest bad;
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&bad))
      for (const auto& v : bad.field_violations()) err << "  " << v.field() << ": " << v.description() << "\n";
    else if (any.UnpackTo(&retry))
      err << "  retry in " << retry.retry_delay().seconds() + retry.retry_delay().nanos() / 1e9 << " s\n";
  }
  return kExitFailure;
}

const char* StateName(v1::JobState s) {
  return v1::JobState_Name(s).c_str() + std::strlen("JOB_STATE_");
}

}  // namespace

void RenderJobEvent(const v1::JobEvent& e, std::ostream& out) {
  if (e.heartbeat()) return;
  std::ostringstream line;  // formatting flags stay on this line
  line << "[" << std::setw(4) << e.sequence() << "] ";
  if (e.has_queued_position())
    line << "queued (position " << e.queued_position() << ")";
  else if (e.has_started())
    line << "started";
  else if (e.has_node_started())
    line << "training " << e.node_started().component() << " (" << e.node_started().node() << ")";
  else if (e.has_node_finished())
    line << "finished " << e.node_finished().component() << " in " << std::fixed
         << std::setprecision(2) << e.node_finished().seconds() << " s";
  else if (e.has_node_restored())
    line << "restored " << e.node_restored().component() << " from cache";
  else if (e.has_progress()) {
    const auto& p = e.progress();
    const int width = 20;
    const int filled = p.total() > 0 ? width * p.epoch() / p.total() : width;
    line << p.node() << " [" << std::string(filled, '#') << std::string(width - filled, '.') << "] "
         << p.epoch() << "/" << p.total();
    // In name order: a protobuf map's order changes from event to event.
    const std::map<std::string, double> metrics(p.metrics().begin(), p.metrics().end());
    for (const auto& [k, v] : metrics) line << " " << k << "=" << std::setprecision(3) << v;
  } else if (e.has_warning())
    line << "warning: " << e.warning().location().file() << ":" << e.warning().location().line()
         << " " << e.warning().message();
  else if (e.has_succeeded())
    line << "succeeded: " << e.succeeded().model_uri() << " (" << e.succeeded().model_size()
         << " bytes, sha256 " << e.succeeded().model_sha256() << ")";
  else if (e.has_failed()) {
    line << "failed: " << e.failed().code() << ": " << e.failed().message();
    for (const auto& d : e.failed().details())
      line << "\n       " << d.location().file() << ":" << d.location().line() << ":"
           << d.location().column() << " " << d.message();
  } else if (e.has_cancelled())
    line << "cancelled: " << e.cancelled();
  else if (e.has_state_changed())
    line << "state " << StateName(e.state_changed());
  else if (e.has_telemetry()) {
    const auto& t = e.telemetry();
    line << "telemetry: " << (t.device().empty() ? "cpu" : t.device()) << ", cpu "
         << std::lround(t.cpu_percent()) << " %, RSS " << t.rss_bytes() / (1024 * 1024) << " MiB";
    if (t.gpu_memory_bytes() > 0)
      line << ", GPU memory " << t.gpu_memory_bytes() / (1024 * 1024) << " MiB";
  }
  out << line.str() << "\n";
  out.flush();
}

namespace {

// Follows a job to its end, reconnecting (from the last sequence seen) when
// the connection drops. Exit status: 0 succeeded, 1 otherwise.
int Follow(const Remote& remote, const std::string& job_id, std::ostream& out, std::ostream& err) {
  int64_t last = 0;
  int outcome = -1;
  for (int attempt = 0; attempt < 30 && outcome < 0; ++attempt) {
    auto context = remote.Context(std::chrono::seconds(0));
    v1::WatchJobRequest request;
    request.set_job_id(job_id);
    request.set_after_sequence(last);
    auto reader = remote.stub->WatchJob(context.get(), request);
    v1::JobEvent e;
    while (reader->Read(&e)) {
      attempt = 0;
      if (!e.heartbeat()) last = e.sequence();
      RenderJobEvent(e, out);
      if (e.has_succeeded()) outcome = kExitOk;
      if (e.has_failed() || e.has_cancelled()) outcome = kExitFailure;
    }
    const grpc::Status status = reader->Finish();
    if (outcome >= 0) break;
    if (status.ok()) break;  // ended without a terminal event we saw: the job was already done
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return Fail(status, err);
    err << "connection lost; reconnecting from event " << last << "\n";
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  if (outcome >= 0) return outcome;
  v1::GetJobRequest get;
  get.set_job_id(job_id);
  v1::Job job;
  const grpc::Status s = remote.stub->GetJob(remote.Context().get(), get, &job);
  if (!s.ok()) return Fail(s, err);
  out << "job " << job_id << " is " << StateName(job.state()) << "\n";
  return job.state() == v1::JOB_STATE_SUCCEEDED ? kExitOk : kExitFailure;
}

// The project files `rasa train` would read, as relative paths.
void AddFiles(const fs::path& path, v1::ProjectFiles& files, std::ostream& err) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    err << "warning: '" << path.string() << "' does not exist; not sent\n";
    return;
  }
  util::Diagnostics ignored;
  for (const fs::path& file : util::ListFilesRecursive(path, {}, ignored)) {
    const fs::path relative = fs::relative(file, fs::current_path(), ec);
    if (ec || relative.empty() || util::StartsWith(relative.string(), ".."))
      throw util::Error(util::ErrorCode::kInvalidArgument,
                        "'" + file.string() + "' is outside the project folder (run submit from the project root).");
    auto* f = files.add_files();
    f->set_path(relative.generic_string());
    f->set_content(util::ReadFile(file));
  }
}

}  // namespace

int RunRemote(const std::string& command, const std::vector<std::string>& args, std::ostream& out,
              std::ostream& err) {
  if (command == "submit") {
    constexpr const char* kHelp =
        "usage: trainyard submit [nlu|core] [-c CONFIG] [-d DOMAIN] [--data DATA ...] [--fixed-model-name NAME]\n"
        "                        [--dry-run] [--force] [--persist-nlu-data] [--priority N] [--label K=V ...]\n"
        "                        [--request-id ID] [--watch] [--upload] [--server HOST:PORT] [--token TOKEN]\n"
        "Sends the project in the current folder to a trainyard-server and prints the job id.\n";
    std::vector<std::string> rest = args;
    v1::TrainingKind kind = v1::TRAINING_KIND_AUTO;
    if (!rest.empty() && (rest[0] == "nlu" || rest[0] == "core")) {
      kind = rest[0] == "nlu" ? v1::TRAINING_KIND_NLU : v1::TRAINING_KIND_CORE;
      rest.erase(rest.begin());
    }
    const auto parsed = ParseArgs(rest,
                                  {{{"-c", "--config"}, ArgKind::kValue}, {{"-d", "--domain"}, ArgKind::kValue},
                                   {{"--data"}, ArgKind::kValues}, {{"--fixed-model-name"}, ArgKind::kValue},
                                   {{"--dry-run"}, ArgKind::kFlag}, {{"--force"}, ArgKind::kFlag},
                                   {{"--persist-nlu-data"}, ArgKind::kFlag}, {{"--priority"}, ArgKind::kValue},
                                   {{"--label"}, ArgKind::kValues}, {{"--request-id"}, ArgKind::kValue},
                                   {{"--watch"}, ArgKind::kFlag}, {{"--upload"}, ArgKind::kFlag}, kServer, kToken, kTlsCa},
                                  "trainyard submit", err);
    if (const auto status = HandleUsage(parsed, kHelp, out, err)) return *status;
    v1::TrainRequest request;
    auto* o = request.mutable_options();
    o->set_kind(kind);
    o->set_config_path(parsed->Value("--config").value_or("config.yml"));
    o->set_domain_path(parsed->Value("--domain").value_or("domain.yml"));
    std::vector<std::string> data = parsed->Has("--data") ? parsed->Values("--data") : std::vector<std::string>{"data"};
    for (const std::string& d : data) o->add_data_paths(d);
    o->set_dry_run(parsed->Has("--dry-run"));
    o->set_force(parsed->Has("--force"));
    o->set_persist_nlu_data(parsed->Has("--persist-nlu-data"));
    if (auto v = parsed->Value("--fixed-model-name")) o->set_fixed_model_name(*v);
    // As `trainyard train` here: the archive carries this checkout's fingerprint.
    if (const auto fingerprint = WorkingDirectoryFingerprint()) o->set_project_fingerprint(*fingerprint);
    if (auto v = parsed->Value("--request-id")) request.set_request_id(*v);
    try {
      if (auto v = parsed->Value("--priority")) request.set_priority(std::stoi(*v));
      for (const std::string& label : parsed->Values("--label")) {
        const size_t eq = label.find('=');
        if (eq == std::string::npos) throw util::Error(util::ErrorCode::kInvalidArgument, "--label takes KEY=VALUE");
        (*request.mutable_labels())[label.substr(0, eq)] = label.substr(eq + 1);
      }
      AddFiles(o->config_path(), *request.mutable_files(), err);
      AddFiles(o->domain_path(), *request.mutable_files(), err);
      for (const std::string& d : data) AddFiles(d, *request.mutable_files(), err);
    } catch (const util::Error& e) {
      return ReportError(e, err);
    } catch (const std::exception&) {
      err << "trainyard submit: --priority takes a number\n";
      return kExitUsage;
    }
    const Remote remote = Connect(*parsed);
    if (parsed->Has("--upload")) {
      // Large projects: send a .tar.gz in chunks, then submit by reference.
      std::vector<std::pair<std::string, std::string>> entries;
      for (const v1::ProjectFile& f : request.files().files()) entries.emplace_back(f.path(), f.content());
      char pattern[] = "/tmp/trainyard-upload-XXXXXX";
      const int fd = ::mkstemp(pattern);
      if (fd < 0) {
        err << "error: cannot create a temporary file\n";
        return kExitFailure;
      }
      ::close(fd);
      storage::WriteProjectArchive(entries, pattern);
      const std::string archive = util::ReadFile(pattern, size_t{1} << 32);
      fs::remove(pattern);
      auto context = remote.Context(std::chrono::seconds(600));
      v1::UploadReference ref;
      auto writer = remote.stub->UploadProject(context.get(), &ref);
      v1::UploadChunk header;
      header.mutable_header()->set_size(archive.size());
      header.mutable_header()->set_sha256(util::Sha256Hex(archive));
      writer->Write(header);
      for (size_t pos = 0; pos < archive.size(); pos += 1 << 20) {
        v1::UploadChunk chunk;
        chunk.set_data(archive.substr(pos, 1 << 20));
        if (!writer->Write(chunk)) break;
      }
      writer->WritesDone();
      const grpc::Status uploaded = writer->Finish();
      if (!uploaded.ok()) return Fail(uploaded, err);
      request.clear_files();
      request.set_upload_id(ref.upload_id());
    }
    v1::Job job;
    const grpc::Status status = remote.stub->SubmitTraining(remote.Context().get(), request, &job);
    if (!status.ok()) return Fail(status, err);
    out << job.id() << "\n";
    return parsed->Has("--watch") ? Follow(remote, job.id(), out, err) : kExitOk;
  }

  if (command == "health") {
    const auto parsed = ParseArgs(args, {kServer}, "trainyard health", err);
    if (const auto status = HandleUsage(parsed, "usage: trainyard health [--server HOST:PORT]\n", out, err))
      return *status;
    const std::string server = parsed->Value("--server").value_or(
        std::getenv("TRAINYARD_SERVER") ? std::getenv("TRAINYARD_SERVER") : "127.0.0.1:50051");
    auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(server, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status s = stub->Check(&context, request, &response);
    if (!s.ok()) return Fail(s, err);
    out << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()) << "\n";
    return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? kExitOk : kExitFailure;
  }
  const auto parsed = ParseArgs(args, {kServer, kToken, kTlsCa, {{"--out"}, ArgKind::kValue}}, "trainyard " + command, err,
                                /*allow_positional=*/true);
  const std::string help = "usage: trainyard " + command +
                           (command == "jobs" ? "" : " JOB") + (command == "download" ? " [--out FILE]" : "") +
                           " [--server HOST:PORT] [--token TOKEN]\n";
  if (const auto status = HandleUsage(parsed, help.c_str(), out, err)) return *status;
  const Remote remote = Connect(*parsed);
  if (command == "jobs") {
    v1::ListJobsResponse list;
    const grpc::Status s = remote.stub->ListJobs(remote.Context().get(), {}, &list);
    if (!s.ok()) return Fail(s, err);
    for (const v1::Job& j : list.jobs())
      out << j.id() << "  " << std::left << std::setw(10) << StateName(j.state()) << " attempts=" << j.attempts()
          << (j.result().model_uri().empty() ? "" : "  " + j.result().model_uri()) << "\n";
    return kExitOk;
  }
  if (parsed->positional.size() != 1) {
    err << help;
    return kExitUsage;
  }
  const std::string id = parsed->positional.front();
  if (command == "watch") return Follow(remote, id, out, err);
  if (command == "cancel") {
    v1::CancelJobRequest request;
    request.set_job_id(id);
    v1::Job job;
    const grpc::Status s = remote.stub->CancelJob(remote.Context().get(), request, &job);
    if (!s.ok()) return Fail(s, err);
    out << id << " " << StateName(job.state()) << "\n";
    return kExitOk;
  }
  // download
  const fs::path target = parsed->Value("--out").value_or((fs::path("models") / (id + ".tar.gz")).string());
  v1::DownloadModelRequest request;
  request.set_job_id(id);
  auto context = remote.Context(std::chrono::seconds(600));
  auto reader = remote.stub->DownloadModel(context.get(), request);
  std::string whole, sha;
  v1::ModelChunk chunk;
  while (reader->Read(&chunk)) {
    whole += chunk.data();
    if (!chunk.sha256().empty()) sha = chunk.sha256();
  }
  const grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(s, err);
  if (util::Sha256Hex(whole) != sha) {
    err << "error: the download does not match its SHA-256; nothing written\n";
    return kExitFailure;
  }
  if (!target.parent_path().empty()) fs::create_directories(target.parent_path());
  util::WriteFileAtomic(target, whole);
  out << target.string() << "\n";
  return kExitOk;
}

}  // namespace trainyard::client
