// trainyard-server: the training service.

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <iostream>
#include <map>
#include <set>
#include <fstream>
#include <thread>

#include "client/args.h"
#include "core/ml/device.h"
#include "core/util/errors.h"
#include "core/util/fs.h"
#include "server/grpc_service.h"
#include "server/job_service.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/settings.h"

namespace {

std::atomic<bool> g_stop{false};

constexpr const char* kHelp =
    "usage: trainyard-server [--listen HOST:PORT] [--admin HOST:PORT] [--state-dir DIR] [--artifacts DIR|s3://BUCKET/PREFIX]\n"
    "                        [--workers N] [--max-queue N] [--per-tenant-running N] [--job-timeout S]\n"
    "                        [--grace S] [--tokens-file FILE] [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]\n"
    "                        [--port-file FILE] [--admin-port-file FILE] [--telemetry-interval MS] [--config FILE]\n"
    "                        [--gpus auto|none|0,1]\n"
    "\n"
    "Serves trainyard.v1.TrainingService. Without --tokens-file every caller is tenant 'default' and the\n"
    "server only listens on loopback addresses. With GPUs (--gpus auto finds them) each GPU trains one job\n"
    "at a time and --workers is ignored; without, --workers jobs share the CPU cores.\n"
    "\n"
    "Every setting can also come from a YAML file (--config or TRAINYARD_CONFIG; keys like state_dir: DIR)\n"
    "or an environment variable (TRAINYARD_STATE_DIR=DIR); flags win over variables, variables over the file.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace trainyard;
  const std::vector<std::string> args(argv + 1, argv + argc);
  const auto parsed = client::ParseArgs(args,
                                        {{{"--listen"}, client::ArgKind::kValue},
                                         {{"--state-dir"}, client::ArgKind::kValue},
                                         {{"--artifacts"}, client::ArgKind::kValue},
                                         {{"--workers"}, client::ArgKind::kValue},
                                         {{"--max-queue"}, client::ArgKind::kValue},
                                         {{"--tokens-file"}, client::ArgKind::kValue},
                                         {{"--port-file"}, client::ArgKind::kValue},
                                         {{"--admin"}, client::ArgKind::kValue},
                                         {{"--admin-port-file"}, client::ArgKind::kValue},
                                         {{"--job-timeout"}, client::ArgKind::kValue},
                                         {{"--per-tenant-running"}, client::ArgKind::kValue},
                                         {{"--grace"}, client::ArgKind::kValue},
                                         {{"--tls-cert"}, client::ArgKind::kValue},
                                         {{"--tls-key"}, client::ArgKind::kValue},
                                         {{"--tls-client-ca"}, client::ArgKind::kValue},
                                         {{"--telemetry-interval"}, client::ArgKind::kValue},
                                         {{"--gpus"}, client::ArgKind::kValue},
                                         {{"--config"}, client::ArgKind::kValue}},
                                        "trainyard-server", std::cerr);
  if (const auto status = client::HandleUsage(parsed, kHelp, std::cout, std::cerr)) return *status;
  // Settings: --config FILE (or TRAINYARD_CONFIG) < TRAINYARD_* variables < flags.
  const std::set<std::string> known = {"listen", "state-dir", "artifacts", "workers", "max-queue", "tokens-file",
                                       "port-file", "admin", "admin-port-file", "job-timeout", "per-tenant-running",
                                       "grace", "tls-cert", "tls-key", "tls-client-ca", "telemetry-interval", "gpus"};
  std::map<std::string, std::string> file_settings;
  auto getenv = [](const char* name) -> const char* { return std::getenv(name); };
  if (auto config = server::ResolveSetting("config", parsed->Value("--config"), getenv, {})) {
    try {
      file_settings = server::ReadSettingsFile(*config, known);
    } catch (const util::InvalidDataError& e) {
      for (const auto& d : e.details()) std::cerr << "trainyard-server: " << d.ToString() << "\n";
      return 1;
    } catch (const util::Error& e) {
      std::cerr << "trainyard-server: " << e.what() << "\n";
      return 1;
    }
  }
  auto setting = [&](const std::string& name) {
    return server::ResolveSetting(name, parsed->Value("--" + name), getenv, file_settings);
  };
  const std::string listen = setting("listen").value_or("127.0.0.1:50051");
  server::ServiceOptions options;
  std::chrono::seconds grace(30);
  options.state_dir = setting("state-dir").value_or("trainyard-state");
  try {
    if (auto v = setting("workers")) options.workers = std::stoul(*v);
    if (auto v = setting("max-queue")) options.max_queue = std::stoul(*v);
    if (auto v = setting("job-timeout")) options.job_timeout = std::chrono::seconds(std::stol(*v));
    if (auto v = setting("per-tenant-running")) options.per_tenant_running = std::stoi(*v);
    if (auto v = setting("grace")) grace = std::chrono::seconds(std::stol(*v));
    if (auto v = setting("telemetry-interval")) options.telemetry_interval = std::chrono::milliseconds(std::stol(*v));
  } catch (const std::exception&) {
    std::cerr << "trainyard-server: workers, max-queue, job-timeout, per-tenant-running, grace and telemetry-interval take numbers\n";
    return 2;
  }
  std::string gpu_warning;
  try {
    const std::string gpus = setting("gpus").value_or("auto");
    options.devices = server::UsableGpus(gpus, server::ParseGpus(gpus), ml::CudaDeviceCount(), &gpu_warning);
  } catch (const util::Error& e) {
    std::cerr << "trainyard-server: " << e.what() << "\n";
    return 2;
  }
  server::AuthOptions auth;
  try {
    if (auto v = setting("tokens-file")) auth.tenants_by_token = server::ReadTokensFile(*v);
  } catch (const util::Error& e) {
    std::cerr << "trainyard-server: " << e.what() << "\n";
    return 1;
  }
  const bool loopback = listen.rfind("127.", 0) == 0 || listen.rfind("localhost:", 0) == 0 || listen.rfind("[::1]", 0) == 0;
  if (auth.tenants_by_token.empty() && !loopback) {
    std::cerr << "trainyard-server: refusing to listen on " << listen
              << " without authentication; give --tokens-file or a loopback address.\n";
    return 1;
  }
  const std::string artifacts = setting("artifacts").value_or((options.state_dir / "models").string());

  std::unique_ptr<server::JobService> jobs;
  try {
    jobs = std::make_unique<server::JobService>(options, server::OpenSqliteJobStore(options.state_dir / "jobs.db"),
                                                server::OpenArtifactStore(artifacts));
  } catch (const util::Error& e) {
    std::cerr << "trainyard-server: " << e.what() << "\n";
    return 1;
  }
  // Metrics on the admin port (/metrics), when asked for.
  std::unique_ptr<server::Metrics> metrics;
  if (auto admin = setting("admin")) {
    try {
      metrics = std::make_unique<server::Metrics>(*admin, *jobs);
    } catch (const std::exception& e) {
      std::cerr << "trainyard-server: cannot serve metrics on " << *admin << ": " << e.what() << "\n";
      return 1;
    }
    jobs->SetObserver(metrics.get());
    if (auto file = setting("admin-port-file")) std::ofstream(*file) << metrics->port() << "\n";
  }
  server::GrpcTrainingService service(*jobs, auth);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  // TLS with --tls-cert/--tls-key; clients must present a certificate signed
  // by --tls-client-ca when it is given (mTLS).
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (auto cert = setting("tls-cert")) {
    try {
      grpc::SslServerCredentialsOptions ssl(setting("tls-client-ca").has_value()
                                                ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                                : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
      ssl.pem_key_cert_pairs.push_back({util::ReadFile(setting("tls-key").value_or("")), util::ReadFile(*cert)});
      if (auto ca = setting("tls-client-ca")) ssl.pem_root_certs = util::ReadFile(*ca);
      credentials = grpc::SslServerCredentials(ssl);
    } catch (const util::Error& e) {
      std::cerr << "trainyard-server: TLS: " << e.what() << "\n";
      return 1;
    }
  }
  builder.AddListeningPort(listen, credentials, &port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_project_bytes + (1 << 20)));
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "trainyard-server: cannot listen on " << listen << "\n";
    return 1;
  }
  if (auto file = setting("port-file")) std::ofstream(*file) << port << "\n";
  if (!gpu_warning.empty()) server::log::Warning(gpu_warning);
  server::log::Info("listening", {{"address", listen}, {"port", port}, {"state_dir", options.state_dir.string()},
                                  {"artifacts", artifacts},
                                  {"workers", options.devices.empty() ? options.workers : options.devices.size()},
                                  {"devices", options.devices.empty() ? std::vector<std::string>{"cpu"} : options.devices},
                                  {"auth", !auth.tenants_by_token.empty()}, {"tls", setting("tls-cert").has_value()}});

  struct sigaction action {};
  action.sa_handler = [](int) { g_stop = true; };
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));

  // Shutdown order: report NOT_SERVING, stop accepting calls (finishing
  // in-flight ones for up to 5 s), let running jobs finish for up to --grace
  // seconds, then stop the workers (unfinished jobs go back to the queue).
  server::log::Info("shutting down", {{"grace_seconds", grace.count()}});
  server->GetHealthCheckService()->SetServingStatus(false);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  jobs->Shutdown(grace);
  server::log::Info("stopped");
  return 0;
}
