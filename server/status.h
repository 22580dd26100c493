#pragma once

// The service's one mapping from trainyard's errors to gRPC statuses. Every
// RPC handler converts a caught util::Error with ToGrpcStatus and nothing else.

#include <grpcpp/support/status.h>

#include "core/util/diagnostics.h"
#include "core/util/errors.h"
#include "trainyard/v1/diagnostics.pb.h"

namespace trainyard::server {

grpc::StatusCode ToGrpcCode(util::ErrorCode code);

// The status for `error`; for util::InvalidDataError the error details carry
// a serialized trainyard.v1.DiagnosticList with every error and warning.
grpc::Status ToGrpcStatus(const util::Error& error);

v1::Diagnostic ToProto(const util::Diagnostic& diagnostic);

}  // namespace trainyard::server
