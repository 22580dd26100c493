#pragma once

// A small argparse-like command line parser for the `trainyard` commands.

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace trainyard::client {

enum class ArgKind {
  kFlag,           // --force
  kValue,          // --out models
  kValues,         // --data a b c (one or more)
  kOptionalValue,  // --finetune [PATH]
};

struct ArgSpec {
  std::vector<std::string> names;  // {"-c", "--config"}; the last is the canonical name
  ArgKind kind = ArgKind::kFlag;
};

struct ParsedArgs {
  std::map<std::string, std::vector<std::string>> values;  // canonical name → values ({} for flags)
  std::vector<std::string> positional;

  bool Has(const std::string& name) const { return values.count(name) > 0; }
  std::optional<std::string> Value(const std::string& name) const;
  std::vector<std::string> Values(const std::string& name) const;
};

// Parses `args`; on an unknown option or a missing value prints why (prefixed
// with `command`) to `err` and returns nullopt. "-h"/"--help" is a flag.
std::optional<ParsedArgs> ParseArgs(const std::vector<std::string>& args, const std::vector<ArgSpec>& specs,
                                    const std::string& command, std::ostream& err, bool allow_positional = false);

// The usual handling after ParseArgs: a usage error prints `help` to `err`
// and yields exit status 2; --help prints it to `out` and yields 0; nullopt
// means "go on".
std::optional<int> HandleUsage(const std::optional<ParsedArgs>& parsed, const char* help, std::ostream& out,
                               std::ostream& err);

// A numeric option's value: nullopt when absent; otherwise a number (a whole
// one that fits an int when `whole`) of at least `min`, or above `min` when
// `above`. Anything else throws std::invalid_argument whose message names the
// option, the range and the value given.
std::optional<double> NumberOption(const ParsedArgs& parsed, const std::string& name, double min, bool whole,
                                   bool above = false);
// The same for each value of an option that takes several, up to `max`.
std::vector<double> NumberOptions(const ParsedArgs& parsed, const std::string& name, double min, double max);

}  // namespace trainyard::client
