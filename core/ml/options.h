#pragma once

// Reading a component's config with Rasa's option names: each value may be
// null (the default applies) or must have the right type; a wrong value is
// refused with the component's name and the key.

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "core/util/errors.h"

namespace trainyard::ml {

class OptionReader {
 public:
  using Json = nlohmann::ordered_json;
  OptionReader(const Json& config, std::string component) : c_(config), name_(std::move(component)) {}

  util::InvalidConfigError Error(const std::string& what) const { return util::InvalidConfigError(name_ + ": " + what); }

  template <typename T>
  T Num(const char* key, T fallback) const {
    const Json& v = Get(key);
    if (v.is_null()) return fallback;
    if (!v.is_number()) throw Error(std::string("'") + key + "' must be a number.");
    return v.get<T>();
  }
  bool Flag(const char* key, bool fallback) const {
    const Json& v = Get(key);
    if (v.is_null()) return fallback;
    if (!v.is_boolean()) throw Error(std::string("'") + key + "' must be true or false.");
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
  const Json& Get(const char* key) const {
    static const Json null;
    return c_.contains(key) ? c_.at(key) : null;
  }

 private:
  const Json& c_;
  std::string name_;
};

}  // namespace trainyard::ml
