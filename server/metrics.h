#pragma once

// Prometheus metrics of the service (prometheus-cpp), served as text on the
// admin port's /metrics: jobs by state, queue depth, job and node
// durations, cache restores, epochs, model bytes stored, build info.

#include <memory>
#include <string>
#include <thread>

#include "server/job_service.h"

namespace trainyard::server {

class Metrics : public JobObserver {
 public:
  // Serves /metrics on `bind_address` ("127.0.0.1:0" picks a port).
  Metrics(const std::string& bind_address, JobService& jobs);
  ~Metrics() override;

  int port() const;
  void OnEvent(const v1::JobEvent& event) override;
  void OnJobFinished(JobState state, double seconds) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trainyard::server
