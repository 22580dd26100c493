#include "server/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <chrono>

#include "core/version.h"

namespace trainyard::server {

struct Metrics::Impl {
  JobService& jobs;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Exposer exposer;
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

  Impl(const std::string& bind, JobService& j) : jobs(j), exposer(bind) {}

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
  impl_->exposer.RegisterCollectable(impl_->registry);
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
  const auto ports = impl_->exposer.GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
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
