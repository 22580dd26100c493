#include "server/status.h"

namespace trainyard::server {

grpc::StatusCode ToGrpcCode(util::ErrorCode code) {
  switch (code) {
    case util::ErrorCode::kInvalidArgument: return grpc::StatusCode::INVALID_ARGUMENT;
    case util::ErrorCode::kNotFound: return grpc::StatusCode::NOT_FOUND;
    case util::ErrorCode::kAlreadyExists: return grpc::StatusCode::ALREADY_EXISTS;
    case util::ErrorCode::kFailedPrecondition: return grpc::StatusCode::FAILED_PRECONDITION;
    case util::ErrorCode::kResourceExhausted: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case util::ErrorCode::kCancelled: return grpc::StatusCode::CANCELLED;
    case util::ErrorCode::kUnavailable: return grpc::StatusCode::UNAVAILABLE;
    case util::ErrorCode::kInternal: return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::UNKNOWN;
}

v1::Diagnostic ToProto(const util::Diagnostic& diagnostic) {
  v1::Diagnostic out;
  out.set_severity(diagnostic.severity == util::Severity::kError ? v1::SEVERITY_ERROR
                                                                 : v1::SEVERITY_WARNING);
  out.set_message(diagnostic.message);
  out.mutable_location()->set_file(diagnostic.location.file);
  out.mutable_location()->set_line(diagnostic.location.line);
  out.mutable_location()->set_column(diagnostic.location.column);
  return out;
}

grpc::Status ToGrpcStatus(const util::Error& error) {
  const auto* invalid = dynamic_cast<const util::InvalidDataError*>(&error);
  if (!invalid) return grpc::Status(ToGrpcCode(error.code()), error.what());
  v1::DiagnosticList list;
  for (const util::Diagnostic& d : invalid->details()) *list.add_diagnostics() = ToProto(d);
  return grpc::Status(ToGrpcCode(error.code()), error.what(), list.SerializeAsString());
}

}  // namespace trainyard::server
