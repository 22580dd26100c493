// trainyard-server: the training service.

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <iostream>
#include <fstream>
#include <thread>

#include "client/args.h"
#include "core/util/errors.h"
#include "core/util/fs.h"
#include "server/grpc_service.h"
#include "server/job_service.h"
#include "server/metrics.h"

namespace {

std::atomic<bool> g_stop{false};

constexpr const char* kHelp =
    "usage: trainyard-server [--listen HOST:PORT] [--admin HOST:PORT] [--state-dir DIR] [--artifacts DIR|s3://BUCKET/PREFIX]\n"
    "                        [--workers N] [--max-queue N] [--per-tenant-running N] [--job-timeout S]\n"
    "                        [--grace S] [--tokens-file FILE] [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]\n"
    "                        [--port-file FILE] [--admin-port-file FILE]\n"
    "\n"
    "Serves trainyard.v1.TrainingService. Without --tokens-file every caller is tenant 'default' and the\n"
    "server only listens on loopback addresses. Environment: TRAINYARD_LISTEN, TRAINYARD_STATE_DIR.\n";

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
                                         {{"--tls-client-ca"}, client::ArgKind::kValue}},
                                        "trainyard-server", std::cerr);
  if (const auto status = client::HandleUsage(parsed, kHelp, std::cout, std::cerr)) return *status;
  auto env = [](const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return std::string(v && *v ? v : fallback);
  };
  const std::string listen = parsed->Value("--listen").value_or(env("TRAINYARD_LISTEN", "127.0.0.1:50051"));
  server::ServiceOptions options;
  std::chrono::seconds grace(30);
  options.state_dir = parsed->Value("--state-dir").value_or(env("TRAINYARD_STATE_DIR", "trainyard-state"));
  try {
    if (auto v = parsed->Value("--workers")) options.workers = std::stoul(*v);
    if (auto v = parsed->Value("--max-queue")) options.max_queue = std::stoul(*v);
    if (auto v = parsed->Value("--job-timeout")) options.job_timeout = std::chrono::seconds(std::stol(*v));
    if (auto v = parsed->Value("--per-tenant-running")) options.per_tenant_running = std::stoi(*v);
    if (auto v = parsed->Value("--grace")) grace = std::chrono::seconds(std::stol(*v));
  } catch (const std::exception&) {
    std::cerr << "trainyard-server: --workers, --max-queue, --job-timeout, --per-tenant-running and --grace take numbers\n";
    return 2;
  }
  server::AuthOptions auth;
  try {
    if (auto v = parsed->Value("--tokens-file")) auth.tenants_by_token = server::ReadTokensFile(*v);
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
  const std::string artifacts = parsed->Value("--artifacts").value_or((options.state_dir / "models").string());

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
  if (auto admin = parsed->Value("--admin")) {
    try {
      metrics = std::make_unique<server::Metrics>(*admin, *jobs);
    } catch (const std::exception& e) {
      std::cerr << "trainyard-server: cannot serve metrics on " << *admin << ": " << e.what() << "\n";
      return 1;
    }
    jobs->SetObserver(metrics.get());
    if (auto file = parsed->Value("--admin-port-file")) std::ofstream(*file) << metrics->port() << "\n";
  }
  server::GrpcTrainingService service(*jobs, auth);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  // TLS with --tls-cert/--tls-key; clients must present a certificate signed
  // by --tls-client-ca when it is given (mTLS).
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (auto cert = parsed->Value("--tls-cert")) {
    try {
      grpc::SslServerCredentialsOptions ssl(parsed->Has("--tls-client-ca")
                                                ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                                : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
      ssl.pem_key_cert_pairs.push_back({util::ReadFile(parsed->Value("--tls-key").value_or("")), util::ReadFile(*cert)});
      if (auto ca = parsed->Value("--tls-client-ca")) ssl.pem_root_certs = util::ReadFile(*ca);
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
  if (auto file = parsed->Value("--port-file")) std::ofstream(*file) << port << "\n";
  std::cerr << "trainyard-server: listening on port " << port << ", state in " << options.state_dir << "\n";

  struct sigaction action {};
  action.sa_handler = [](int) { g_stop = true; };
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));

  // Shutdown order: report NOT_SERVING, stop accepting calls (finishing
  // in-flight ones for up to 5 s), let running jobs finish for up to --grace
  // seconds, then stop the workers (unfinished jobs go back to the queue).
  server->GetHealthCheckService()->SetServingStatus(false);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  jobs->Shutdown(grace);
  return 0;
}
