#include "server/metrics.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <chrono>
#include <cstring>
#include <functional>

#include "core/version.h"

namespace trainyard::server {
namespace {

// A minimal HTTP/1.0 endpoint for GET /metrics. (prometheus-cpp's exposer
// runs on civetweb, whose worker threads ask for a small fixed stack that
// glibc refuses once libtorch's large thread-local storage is loaded.)
class MetricsEndpoint {
 public:
  MetricsEndpoint(const std::string& bind, std::function<std::string()> render) : render_(std::move(render)) {
    const size_t colon = bind.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("expected HOST:PORT");
    std::string host = bind.substr(0, colon);
    if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const std::string port = bind.substr(colon + 1);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found) != 0 || !found)
      throw std::runtime_error("cannot resolve " + bind);
    fd_ = socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
    const int one = 1;
    if (fd_ >= 0) setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const bool ok = fd_ >= 0 && ::bind(fd_, found->ai_addr, found->ai_addrlen) == 0 && listen(fd_, 64) == 0;
    freeaddrinfo(found);
    if (!ok) {
      const std::string why = std::strerror(errno);
      if (fd_ >= 0) close(fd_);
      throw std::runtime_error("cannot listen on " + bind + ": " + why);
    }
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~MetricsEndpoint() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      const int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      timeval timeout{2, 0};
      setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
      std::string request;
      char buf[1024];
      while (request.find("\r\n\r\n") == std::string::npos && request.size() < 8192) {
        const ssize_t n = recv(client, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      const std::string line = request.substr(0, request.find("\r\n"));
      std::string status = "404 Not Found", type = "text/plain", body = "not found\n";
      if (line.rfind("GET /metrics ", 0) == 0 || line == "GET /metrics") {
        status = "200 OK";
        type = "text/plain; version=0.0.4";
        body = render_();
      } else if (line.rfind("GET ", 0) != 0) {
        status = "405 Method Not Allowed";
        body = "only GET\n";
      }
      const std::string response = "HTTP/1.0 " + status + "\r\nContent-Type: " + type +
                                   "\r\nContent-Length: " + std::to_string(body.size()) +
                                   "\r\nConnection: close\r\n\r\n" + body;
      for (size_t sent = 0; sent < response.size();) {
        const ssize_t n = send(client, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      close(client);
    }
  }

  std::function<std::string()> render_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

struct Metrics::Impl {
  JobService& jobs;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<MetricsEndpoint> endpoint;
  prometheus::Family<prometheus::Gauge>& jobs_by_state =
      prometheus::BuildGauge().Name("trainyard_jobs").Help("Jobs by state.").Register(*registry);
  prometheus::Family<prometheus::Histogram>& job_seconds =
      prometheus::BuildHistogram().Name("trainyard_job_duration_seconds").Help("Training time of finished jobs.").Register(*registry);
  prometheus::Family<prometheus::Histogram>& node_seconds =
      prometheus::BuildHistogram().Name("trainyard_node_duration_seconds").Help("Training time per graph node.").Register(*registry);
  prometheus::Family<prometheus::Counter>& restored =
      prometheus::BuildCounter().Name("trainyard_cache_restored_nodes_total").Help("Nodes restored from the training cache.").Register(*registry);
  prometheus::Family<prometheus::Counter>& epochs =
      prometheus::BuildCounter().Name("trainyard_epochs_total").Help("Training epochs run.").Register(*registry);
  prometheus::Family<prometheus::Counter>& bytes =
      prometheus::BuildCounter().Name("trainyard_model_bytes_stored_total").Help("Bytes of models stored.").Register(*registry);
  prometheus::Family<prometheus::Gauge>& build =
      prometheus::BuildGauge().Name("trainyard_build_info").Help("Build information.").Register(*registry);
  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;  // guarded by mutex
  std::thread updater;

  Impl(const std::string& bind, JobService& j)
      : jobs(j), endpoint(std::make_unique<MetricsEndpoint>(bind, [this] {
          return prometheus::TextSerializer().Serialize(registry->Collect());
        })) {}

  void UpdateGauges() {
    const auto counts = jobs.CountByState();
    for (JobState s : {JobState::kQueued, JobState::kRunning, JobState::kCancelling, JobState::kSucceeded,
                       JobState::kFailed, JobState::kCancelled}) {
      auto it = counts.find(s);
      jobs_by_state.Add({{"state", JobStateName(s)}}).Set(it == counts.end() ? 0 : static_cast<double>(it->second));
    }
  }
};

namespace {
const prometheus::Histogram::BucketBoundaries kSeconds = {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 7200};
}

Metrics::Metrics(const std::string& bind_address, JobService& jobs) : impl_(std::make_unique<Impl>(bind_address, jobs)) {
  impl_->build.Add({{"version", Version()}}).Set(1);
  impl_->UpdateGauges();
  // Gauges also move with events; this catches changes made by other
  // replicas sharing the job store.
  impl_->updater = std::thread([this] {
    std::unique_lock<std::mutex> lock(impl_->mutex);
    while (!impl_->wake.wait_for(lock, std::chrono::seconds(2), [this] { return impl_->stop; })) {
      lock.unlock();
      impl_->UpdateGauges();
      lock.lock();
    }
  });
}

Metrics::~Metrics() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stop = true;
  }
  impl_->wake.notify_all();
  impl_->updater.join();
}

int Metrics::port() const {
  return impl_->endpoint->port();
}

void Metrics::OnEvent(const v1::JobEvent& e) {
  if (e.has_node_finished())
    impl_->node_seconds.Add({{"component", e.node_finished().component()}}, kSeconds).Observe(e.node_finished().seconds());
  if (e.has_node_restored()) impl_->restored.Add({{"component", e.node_restored().component()}}).Increment();
  if (e.has_progress()) impl_->epochs.Add({{"node", e.progress().node()}}).Increment();
  if (e.has_succeeded()) impl_->bytes.Add({}).Increment(static_cast<double>(e.succeeded().model_size()));
  if (e.has_queued_position() || e.has_started() || e.has_state_changed() || e.has_cancelled()) impl_->UpdateGauges();
}

void Metrics::OnJobFinished(JobState state, double seconds) {
  impl_->job_seconds.Add({{"state", JobStateName(state)}}, kSeconds).Observe(seconds);
  impl_->UpdateGauges();
}

}  // namespace trainyard::server
