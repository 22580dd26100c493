#include "server/settings.h"

#include <algorithm>
#include <cctype>

#include "core/data/yaml.h"
#include "core/util/errors.h"
#include "core/util/fs.h"

namespace trainyard::server {

std::map<std::string, std::string> ReadSettingsFile(const std::filesystem::path& file, const std::set<std::string>& known) {
  const std::string name = file.string();
  const auto doc = data::yaml::Parse(util::ReadFile(file), name);
  std::map<std::string, std::string> settings;
  if (doc->IsNull()) return settings;
  if (!doc->IsMap())
    throw util::InvalidDataError(data::yaml::Where(name, *doc),
                                 "The settings file must be a mapping of setting names to values, not " + doc->Describe() + ".");
  for (const auto& [key, value] : doc->entries) {
    std::string setting = key->value;
    std::replace(setting.begin(), setting.end(), '_', '-');
    if (!key->IsScalar() || !known.count(setting)) {
      std::string names;
      for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
      throw util::InvalidDataError(data::yaml::Where(name, *key),
                                   "Unknown setting '" + key->value + "'. Known settings: " + names + ".");
    }
    if (!value->IsScalar() || value->IsNull())
      throw util::InvalidDataError(data::yaml::Where(name, *value),
                                   "Setting '" + key->value + "' takes a single value, not " + value->Describe() + ".");
    settings[setting] = value->value;
  }
  return settings;
}

std::optional<std::string> ResolveSetting(const std::string& name, const std::optional<std::string>& flag,
                                          const std::function<const char*(const char*)>& env,
                                          const std::map<std::string, std::string>& file) {
  if (flag) return flag;
  std::string variable = "TRAINYARD_";
  for (char c : name) variable += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (const char* v = env(variable.c_str()); v && *v) return std::string(v);
  if (auto it = file.find(name); it != file.end()) return it->second;
  return std::nullopt;
}

}  // namespace trainyard::server
