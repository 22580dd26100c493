#include "core/util/diagnostics.h"

namespace trainyard::util {

std::string SourceLocation::ToString() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0) out += ":" + std::to_string(column);
  }
  return out;
}

const char* SeverityName(Severity severity) {
  return severity == Severity::kError ? "error" : "warning";
}

std::string Diagnostic::ToString() const {
  std::string out;
  if (!location.empty()) out = location.ToString() + ": ";
  out += SeverityName(severity);
  out += ": ";
  out += message;
  return out;
}

void Diagnostics::Warn(const SourceLocation& location, std::string message) {
  Add({Severity::kWarning, std::move(message), location});
}

void Diagnostics::Error(const SourceLocation& location, std::string message) {
  Add({Severity::kError, std::move(message), location});
}

void Diagnostics::Add(Diagnostic diagnostic) {
  if (diagnostic.severity == Severity::kError) ++error_count_;
  items_.push_back(std::move(diagnostic));
}

void Diagnostics::Append(const Diagnostics& other) {
  for (const Diagnostic& d : other.items_) Add(d);
}

std::vector<Diagnostic> Diagnostics::errors() const {
  std::vector<Diagnostic> out;
  for (const Diagnostic& d : items_)
    if (d.severity == Severity::kError) out.push_back(d);
  return out;
}

std::vector<Diagnostic> Diagnostics::warnings() const {
  std::vector<Diagnostic> out;
  for (const Diagnostic& d : items_)
    if (d.severity == Severity::kWarning) out.push_back(d);
  return out;
}

}  // namespace trainyard::util
