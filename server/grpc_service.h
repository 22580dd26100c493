#pragma once

// TrainingService over gRPC (callback API) on top of JobService. Handlers
// never block a gRPC thread on training or on waiting for events: watch
// streams fetch their next events on a small thread pool and write from there.

#include <map>
#include <memory>
#include <string>

#include "server/job_service.h"
#include "trainyard/v1/training_service.grpc.pb.h"

namespace trainyard::server {

struct AuthOptions {
  // Bearer token → tenant. Empty: no authentication; every caller is tenant
  // "default" (the server then listens on loopback unless told otherwise).
  std::map<std::string, std::string> tenants_by_token;
};

// Reads "token tenant" lines (# comments allowed). Throws util::Error.
std::map<std::string, std::string> ReadTokensFile(const std::string& path);

class GrpcTrainingService final : public v1::TrainingService::CallbackService {
 public:
  GrpcTrainingService(JobService& jobs, AuthOptions auth);
  ~GrpcTrainingService() override;

  grpc::ServerUnaryReactor* SubmitTraining(grpc::CallbackServerContext* context, const v1::TrainRequest* request,
                                           v1::Job* response) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* context, const v1::GetJobRequest* request,
                                   v1::Job* response) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* context, const v1::ListJobsRequest* request,
                                     v1::ListJobsResponse* response) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* context, const v1::CancelJobRequest* request,
                                      v1::Job* response) override;
  grpc::ServerUnaryReactor* DeleteJob(grpc::CallbackServerContext* context, const v1::DeleteJobRequest* request,
                                      v1::DeleteJobResponse* response) override;
  grpc::ServerReadReactor<v1::UploadChunk>* UploadProject(grpc::CallbackServerContext* context,
                                                         v1::UploadReference* response) override;
  grpc::ServerWriteReactor<v1::ModelChunk>* DownloadModel(grpc::CallbackServerContext* context,
                                                        const v1::DownloadModelRequest* request) override;
  grpc::ServerWriteReactor<v1::JobEvent>* WatchJob(grpc::CallbackServerContext* context,
                                                  const v1::WatchJobRequest* request) override;

 private:
  class Watcher;
  // The caller's tenant, or an UNAUTHENTICATED status.
  grpc::Status Authenticate(grpc::CallbackServerContext* context, std::string* tenant) const;

  JobService& jobs_;
  AuthOptions auth_;
  struct Pool;
  std::unique_ptr<Pool> pool_;  // runs watch fetches
};

}  // namespace trainyard::server
