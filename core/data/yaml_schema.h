#pragma once

// Shape checks for the readers of core/data: each check reports a schema
// error with file:line:column ("expected a list of strings but found a
// mapping") into the import's Diagnostics and tells the caller to skip the
// item. Only core/data's .cc files include this header.

#include <initializer_list>
#include <string>
#include <string_view>

#include "core/data/yaml.h"
#include "core/util/diagnostics.h"
#include "core/util/strings.h"

namespace trainyard::data {

// The newest training data format version trainyard reads ("3.1").
inline constexpr const char* kLatestFormatVersion = "3.1";

// Reading context for one file. Not thread-safe; lives for one file's read.
class FileContext {
 public:
  FileContext(std::string file, util::Diagnostics& diagnostics)
      : file_(std::move(file)), diagnostics_(diagnostics) {}

  const std::string& file() const { return file_; }
  util::Diagnostics& diagnostics() { return diagnostics_; }
  util::SourceLocation At(const yaml::Node& node) const { return yaml::Where(file_, node); }
  util::SourceLocation At(int line, int column = 0) const { return {file_, line, column}; }

  void Error(const yaml::Node& node, const std::string& message) {
    diagnostics_.Error(At(node), message);
  }
  void Warn(const yaml::Node& node, const std::string& message) {
    diagnostics_.Warn(At(node), message);
  }

  // Each returns true when `node` has the expected shape; otherwise reports
  // "<what> must be <expected> but is <found>" as an error and returns false.
  bool ExpectMap(const yaml::Node& node, std::string_view what);
  bool ExpectSeq(const yaml::Node& node, std::string_view what);
  bool ExpectString(const yaml::Node& node, std::string_view what, bool allow_empty = false);
  bool ExpectBool(const yaml::Node& node, std::string_view what);
  bool ExpectNumber(const yaml::Node& node, std::string_view what);
  // A scalar name: strings, and (like Rasa's YAML reader) numbers and booleans
  // written plainly are refused, since `intent: 123` is almost always a typo.
  bool ExpectName(const yaml::Node& node, std::string_view what) {
    return ExpectString(node, what, false);
  }

  // Reports every key of `map` not in `allowed` as an error.
  // Returns false if any was found.
  bool CheckKeys(const yaml::Node& map, std::initializer_list<std::string_view> allowed,
                 std::string_view what);

 private:
  std::string file_;
  util::Diagnostics& diagnostics_;
};

// Checks the optional top-level `version:` of a training data file as Rasa
// does: missing → latest; not a string → warning, latest; greater than
// kLatestFormatVersion → warning and false (the caller skips the file).
bool CheckFormatVersion(const yaml::Node& root, FileContext& context);

using util::CompareVersions;

}  // namespace trainyard::data
