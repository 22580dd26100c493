#include "client/args.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace trainyard::client {

std::optional<std::string> ParsedArgs::Value(const std::string& name) const {
  auto it = values.find(name);
  if (it == values.end() || it->second.empty()) return std::nullopt;
  return it->second.front();
}

std::vector<std::string> ParsedArgs::Values(const std::string& name) const {
  auto it = values.find(name);
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

std::optional<ParsedArgs> ParseArgs(const std::vector<std::string>& args, const std::vector<ArgSpec>& specs,
                                    const std::string& command, std::ostream& err, bool allow_positional) {
  ParsedArgs out;
  auto is_option = [](const std::string& a) { return a.size() > 1 && a[0] == '-' && !std::isdigit(static_cast<unsigned char>(a[1])); };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      out.values["--help"];
      continue;
    }
    if (!is_option(a)) {
      if (!allow_positional) {
        err << command << ": unexpected argument '" << a << "'\n";
        return std::nullopt;
      }
      out.positional.push_back(a);
      continue;
    }
    const ArgSpec* spec = nullptr;
    for (const ArgSpec& s : specs)
      for (const std::string& n : s.names)
        if (n == a) spec = &s;
    if (!spec) {
      err << command << ": unknown argument '" << a << "'\n";
      return std::nullopt;
    }
    auto& slot = out.values[spec->names.back()];
    switch (spec->kind) {
      case ArgKind::kFlag:
        break;
      case ArgKind::kOptionalValue:
        if (i + 1 < args.size() && !is_option(args[i + 1])) slot.push_back(args[++i]);
        break;
      case ArgKind::kValue:
        if (i + 1 >= args.size() || is_option(args[i + 1])) {
          err << command << ": " << a << " needs a value\n";
          return std::nullopt;
        }
        slot = {args[++i]};
        break;
      case ArgKind::kValues: {
        slot.clear();
        while (i + 1 < args.size() && !is_option(args[i + 1])) slot.push_back(args[++i]);
        if (slot.empty()) {
          err << command << ": " << a << " needs at least one value\n";
          return std::nullopt;
        }
        break;
      }
    }
  }
  return out;
}

std::optional<int> HandleUsage(const std::optional<ParsedArgs>& parsed, const char* help, std::ostream& out,
                               std::ostream& err) {
  if (!parsed) {
    err << "\n" << help;
    return 2;
  }
  if (parsed->Has("--help")) {
    out << help;
    return 0;
  }
  return std::nullopt;
}

namespace {

// `text` as a number in [min, max] (above min when `above`; whole when `whole`), or why not.
double ParseNumber(const std::string& name, const std::string& text, double min, double max, bool whole, bool above) {
  std::ostringstream range;
  range << (whole ? "a whole number " : "a number ") << (above ? "above " : "of at least ") << min;
  if (max < std::numeric_limits<double>::max()) range << " and at most " << max;
  double value = 0;
  size_t used = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const bool ok = used == text.size() && !text.empty() && std::isfinite(value) && (above ? value > min : value >= min) &&
                  value <= max && (!whole || (std::floor(value) == value && value <= std::numeric_limits<int>::max()));
  if (!ok) throw std::invalid_argument(name + " must be " + range.str() + ", not '" + text + "'");
  return value;
}

}  // namespace

std::optional<double> NumberOption(const ParsedArgs& parsed, const std::string& name, double min, bool whole,
                                   bool above) {
  const std::optional<std::string> text = parsed.Value(name);
  if (!text) return std::nullopt;
  return ParseNumber(name, *text, min, std::numeric_limits<double>::max(), whole, above);
}

std::vector<double> NumberOptions(const ParsedArgs& parsed, const std::string& name, double min, double max) {
  std::vector<double> out;
  for (const std::string& text : parsed.Values(name)) out.push_back(ParseNumber(name, text, min, max, false, false));
  return out;
}

}  // namespace trainyard::client
