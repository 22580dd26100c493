#pragma once

// The service's one mapping from trainyard's errors to gRPC statuses. Every
// RPC handler converts a caught util::Error with ToGrpcStatus and nothing else.

#include <grpcpp/support/status.h>

#include <chrono>

#include "core/util/diagnostics.h"
#include "core/util/errors.h"
#include "trainyard/v1/diagnostics.pb.h"

namespace trainyard::server {

grpc::StatusCode ToGrpcCode(util::ErrorCode code);

// The status for `error`. Its error details are a serialized
// google.rpc.Status (the standard rich error) when there is more to say:
// for util::InvalidDataError a google.rpc.BadRequest with each error at
// "file:line:column" plus a trainyard.v1.DiagnosticList with every error and
// warning; for RESOURCE_EXHAUSTED (queue full) a google.rpc.RetryInfo
// asking the caller to wait `retry_after`.
grpc::Status ToGrpcStatus(const util::Error& error, std::chrono::milliseconds retry_after = std::chrono::seconds(5));

v1::Diagnostic ToProto(const util::Diagnostic& diagnostic);

}  // namespace trainyard::server
