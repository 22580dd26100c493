#include "core/util/option_reader.h"

#include <cmath>
#include <sstream>

namespace trainyard::util {
namespace {

// A value as the user wrote it, for messages.
std::string Shown(const nlohmann::ordered_json& v) {
  if (v.is_number_float() && std::isnan(v.get<double>())) return ".nan";
  if (v.is_number_float() && std::isinf(v.get<double>())) return v.get<double>() > 0 ? ".inf" : "-.inf";
  return v.dump();
}

std::string Number(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

}  // namespace

int OptionReader::IntValue(const Json& v, const std::string& key, int fallback, int min, int max) const {
  if (v.is_null()) return fallback;
  std::string range = "a whole number";
  if (min > std::numeric_limits<int>::min() && max < std::numeric_limits<int>::max())
    range += " from " + std::to_string(min) + " to " + std::to_string(max);
  else if (min > std::numeric_limits<int>::min())
    range += " of at least " + std::to_string(min);
  const auto refuse = [&] { return Error("'" + key + "' must be " + range + ", not " + Shown(v) + "."); };
  if (v.is_number_integer()) {
    // Compared as 64-bit values first: a huge number must not wrap into range.
    const auto wide = v.is_number_unsigned() ? static_cast<long double>(v.get<uint64_t>())
                                             : static_cast<long double>(v.get<int64_t>());
    if (wide < min || wide > max) throw refuse();
    return static_cast<int>(wide);
  }
  if (!v.is_number_float()) throw refuse();
  const double x = v.get<double>();
  if (!std::isfinite(x) || std::floor(x) != x || x < min || x > max) throw refuse();
  return static_cast<int>(x);
}

double OptionReader::Real(const char* key, double fallback, double min, double max, bool below_max) const {
  const Json& v = Get(key);
  if (v.is_null()) return fallback;
  std::string range = "a number";
  if (std::isfinite(min) && std::isfinite(max))
    range += below_max ? " of at least " + Number(min) + " and below " + Number(max)
                       : " from " + Number(min) + " to " + Number(max);
  else if (std::isfinite(min))
    range += " of at least " + Number(min);
  else if (std::isfinite(max))
    range += " of at most " + Number(max);
  const double x = v.is_number() ? v.get<double>() : std::nan("");
  if (!v.is_number() || !std::isfinite(x) || x < min || x > max || (below_max && x >= max))
    throw Error(std::string("'") + key + "' must be " + range + ", not " + Shown(v) + ".");
  return x;
}

double OptionReader::Positive(const char* key, double fallback, double min) const {
  const Json& v = Get(key);
  if (v.is_null()) return fallback;
  const double x = v.is_number() ? v.get<double>() : std::nan("");
  if (!v.is_number() || !std::isfinite(x) || x <= min)
    throw Error(std::string("'") + key + "' must be a number above " + Number(min) + ", not " + Shown(v) + ".");
  return x;
}

std::optional<std::string> OptionReader::Text(const char* key, const std::string& what) const {
  const Json& v = Get(key);
  if (v.is_null()) return std::nullopt;
  if (!v.is_string()) throw Error(std::string("'") + key + "' must be " + what + ", not " + Shown(v) + ".");
  return v.get<std::string>();
}

void OptionReader::BatchSize(int& first, int& last) const {
  const Json& bs = Get("batch_size");
  if (bs.is_null()) return;
  if (bs.is_array() && bs.size() == 2) {
    first = IntValue(bs[0], "batch_size", first, 1);
    last = IntValue(bs[1], "batch_size", last, 1);
  } else if (bs.is_number()) {
    first = last = IntValue(bs, "batch_size", first, 1);
  } else {
    throw Error("'batch_size' must be a whole number or a list of two, not " + Shown(bs) + ".");
  }
}

bool OptionReader::Seed(const char* key, uint64_t& seed) const {
  const Json& v = Get(key);
  if (v.is_null()) return false;
  const double x = v.is_number() ? v.get<double>() : std::nan("");
  if (!v.is_number() || !std::isfinite(x) || std::floor(x) != x || x < 0 || x > 4294967295.0)
    throw Error(std::string("'") + key + "' must be null or a whole number from 0 to 4294967295, not " + Shown(v) +
                ".");
  seed = v.is_number_integer() ? v.get<uint64_t>() : static_cast<uint64_t>(x);
  return true;
}

}  // namespace trainyard::util
