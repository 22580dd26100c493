#include "server/status.h"

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

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

grpc::Status ToGrpcStatus(const util::Error& error, std::chrono::milliseconds retry_after) {
  const grpc::StatusCode code = ToGrpcCode(error.code());
  google::rpc::Status rich;
  rich.set_code(static_cast<int>(code));
  rich.set_message(error.what());
  if (const auto* invalid = dynamic_cast<const util::InvalidDataError*>(&error)) {
    google::rpc::BadRequest bad;
    v1::DiagnosticList list;
    for (const util::Diagnostic& d : invalid->details()) {
      *list.add_diagnostics() = ToProto(d);
      if (d.severity != util::Severity::kError) continue;
      auto* violation = bad.add_field_violations();
      violation->set_field(d.location.ToString());
      violation->set_description(d.message);
    }
    rich.add_details()->PackFrom(bad);
    rich.add_details()->PackFrom(list);
  } else if (code == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    google::rpc::RetryInfo retry;
    retry.mutable_retry_delay()->set_seconds(retry_after.count() / 1000);
    retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>(retry_after.count() % 1000 * 1000000));
    rich.add_details()->PackFrom(retry);
  } else {
    return grpc::Status(code, error.what());
  }
  return grpc::Status(code, error.what(), rich.SerializeAsString());
}

}  // namespace trainyard::server
