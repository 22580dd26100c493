#pragma once

#include <string>
#include <vector>

namespace trainyard::util {

// A place in a user's file. Lines and columns are 1-based; 0 means "unknown".
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;

  // "file:line:column", "file:line" or "file", depending on what is known.
  std::string ToString() const;
  bool empty() const { return file.empty(); }
};

enum class Severity { kWarning, kError };

const char* SeverityName(Severity severity);

// One finding about the user's input: an error aborts the operation, a warning
// (Rasa's "raise_warning") is reported and the offending item is skipped.
struct Diagnostic {
  Severity severity = Severity::kError;
  std::string message;
  SourceLocation location;

  // "file:line:column: error: message"
  std::string ToString() const;
};

// Collects diagnostics in the order they were found. Not thread-safe: each
// import owns one.
class Diagnostics {
 public:
  void Warn(const SourceLocation& location, std::string message);
  void Error(const SourceLocation& location, std::string message);
  void Add(Diagnostic diagnostic);
  void Append(const Diagnostics& other);

  const std::vector<Diagnostic>& all() const { return items_; }
  std::vector<Diagnostic> errors() const;
  std::vector<Diagnostic> warnings() const;
  size_t error_count() const { return error_count_; }
  size_t warning_count() const { return items_.size() - error_count_; }
  bool has_errors() const { return error_count_ > 0; }

 private:
  std::vector<Diagnostic> items_;
  size_t error_count_ = 0;
};

}  // namespace trainyard::util
