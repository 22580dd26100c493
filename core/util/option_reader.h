#pragma once

// Reading a component's config with Rasa's option names: each value may be
// null (the default applies) or must have the right type and lie in the range
// the component can train with; anything else is refused with the component's
// name, the key and the value given.

#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "core/util/errors.h"

namespace trainyard::util {

class OptionReader {
 public:
  using Json = nlohmann::ordered_json;
  static constexpr double kNoLimit = std::numeric_limits<double>::infinity();

  OptionReader(const Json& config, std::string component) : c_(config), name_(std::move(component)) {}

  InvalidConfigError Error(const std::string& what) const { return InvalidConfigError(name_ + ": " + what); }

  // Any finite number (no range).
  template <typename T>
  T Num(const char* key, T fallback) const {
    const Json& v = Get(key);
    if (v.is_null()) return fallback;
    if constexpr (std::is_integral_v<T>) {
      return static_cast<T>(Int(key, static_cast<int>(fallback), std::numeric_limits<int>::min()));
    } else {
      return static_cast<T>(Real(key, static_cast<double>(fallback), -kNoLimit, kNoLimit));
    }
  }
  // A whole number in [min, max] (10 and 10.0 alike; 2.5 is refused).
  int Int(const char* key, int fallback, int min, int max = std::numeric_limits<int>::max()) const {
    return IntValue(Get(key), key, fallback, min, max);
  }
  int IntValue(const Json& v, const std::string& key, int fallback, int min,
               int max = std::numeric_limits<int>::max()) const;
  // A finite number in [min, max], or [min, max) with `below_max` (e.g. a
  // dropout rate, which cannot be 1).
  double Real(const char* key, double fallback, double min, double max, bool below_max = false) const;
  // A finite number above `min` (a learning rate, a penalty's strength).
  double Positive(const char* key, double fallback, double min = 0) const;

  bool Flag(const char* key, bool fallback) const {
    const Json& v = Get(key);
    if (v.is_null()) return fallback;
    if (!v.is_boolean()) throw Error(std::string("'") + key + "' must be true or false, not " + v.dump() + ".");
    return v.get<bool>();
  }
  std::string Choice(const char* key, const std::string& fallback, const std::set<std::string>& allowed) const {
    const Json& v = Get(key);
    if (v.is_null()) return fallback;
    if (!v.is_string() || !allowed.count(v.get<std::string>())) {
      std::string list;
      for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw Error(std::string("'") + key + "' must be one of: " + list + ".");
    }
    return v.get<std::string>();
  }
  // A text option: nullopt when null; anything but a string is refused as
  // "'key' must be <what>, not <value>."
  std::optional<std::string> Text(const char* key, const std::string& what) const;
  // `batch_size`: a whole number, or [first, last] growing over the epochs; all positive.
  void BatchSize(int& first, int& last) const;
  // A random seed: null (a fresh one each training) or a whole number in
  // [0, 2^32 - 1], the seeds numpy accepts.
  bool Seed(const char* key, uint64_t& seed) const;

  const Json& Get(const char* key) const { return Member(c_, key); }
  // `mapping[name]`, or null when it has none (or is no mapping).
  static const Json& Member(const Json& mapping, const char* name) {
    static const Json null;
    return mapping.is_object() && mapping.contains(name) ? mapping.at(name) : null;
  }
  const std::string& component() const { return name_; }

 private:
  const Json& c_;
  std::string name_;
};

}  // namespace trainyard::util
