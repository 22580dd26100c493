#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "core/util/diagnostics.h"

namespace trainyard::util {

// Canonical error codes (the gRPC code set). Every exception class below has
// exactly one; the server maps it to grpc::Status and the CLI to an exit code,
// each in one place.
enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kResourceExhausted,
  kCancelled,
  kUnavailable,
  kInternal,
};

const char* ErrorCodeName(ErrorCode code);

// Base of trainyard's exceptions. what() is the user-facing message.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// The user's files are wrong: syntax, schema or content errors. Carries every
// error found (each with file:line:column) and the warnings seen before them.
class InvalidDataError : public Error {
 public:
  explicit InvalidDataError(std::vector<Diagnostic> details);
  InvalidDataError(const SourceLocation& location, const std::string& message);
  const std::vector<Diagnostic>& details() const { return details_; }

 private:
  std::vector<Diagnostic> details_;
};

// config.yml asks for something that cannot be built or trained.
class InvalidConfigError : public Error {
 public:
  explicit InvalidConfigError(const std::string& message)
      : Error(ErrorCode::kInvalidArgument, message) {}
};

// A file, model or job that was named does not exist.
class NotFoundError : public Error {
 public:
  explicit NotFoundError(const std::string& message)
      : Error(ErrorCode::kNotFound, message) {}
};

// The operation was cancelled through its cancellation token.
class CancelledError : public Error {
 public:
  explicit CancelledError(const std::string& message = "cancelled")
      : Error(ErrorCode::kCancelled, message) {}
};

}  // namespace trainyard::util
