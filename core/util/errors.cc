#include "core/util/errors.h"

namespace trainyard::util {
namespace {

std::string JoinDetails(const std::vector<Diagnostic>& details) {
  std::string out;
  for (const Diagnostic& d : details) {
    if (d.severity != Severity::kError) continue;
    if (!out.empty()) out += "\n";
    out += d.ToString();
  }
  return out.empty() ? "invalid data" : out;
}

}  // namespace

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case ErrorCode::kNotFound: return "NOT_FOUND";
    case ErrorCode::kAlreadyExists: return "ALREADY_EXISTS";
    case ErrorCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case ErrorCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case ErrorCode::kCancelled: return "CANCELLED";
    case ErrorCode::kUnavailable: return "UNAVAILABLE";
    case ErrorCode::kInternal: return "INTERNAL";
  }
  return "UNKNOWN";
}

InvalidDataError::InvalidDataError(std::vector<Diagnostic> details)
    : Error(ErrorCode::kInvalidArgument, JoinDetails(details)),
      details_(std::move(details)) {}

InvalidDataError::InvalidDataError(const SourceLocation& location,
                                   const std::string& message)
    : InvalidDataError(
          std::vector<Diagnostic>{{Severity::kError, message, location}}) {}

}  // namespace trainyard::util
