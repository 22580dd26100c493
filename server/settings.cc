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

std::vector<std::string> ParseGpus(const std::string& spec, const std::filesystem::path& driver_dir) {
  std::vector<std::string> devices;
  if (spec == "none") return devices;
  if (spec == "auto") {
    std::error_code ec;
    size_t count = 0;
    for (auto it = std::filesystem::directory_iterator(driver_dir, ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec))
      ++count;
    for (size_t i = 0; i < count; ++i) devices.push_back("cuda:" + std::to_string(i));
    return devices;
  }
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string index = spec.substr(start, comma - start);
    if (index.empty() || index.size() > 3 || !std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; }))
      throw util::Error(util::ErrorCode::kInvalidArgument,
                        "gpus takes 'auto', 'none' or GPU indices like '0,1', not '" + spec + "'.");
    const std::string device = "cuda:" + std::to_string(std::stoi(index));
    if (std::find(devices.begin(), devices.end(), device) != devices.end())
      throw util::Error(util::ErrorCode::kInvalidArgument, "gpus lists " + device + " twice.");
    devices.push_back(device);
    start = comma + 1;
  }
  return devices;
}

std::vector<std::string> UsableGpus(const std::string& spec, const std::vector<std::string>& listed,
                                    int cuda_devices, std::string* warning) {
  std::vector<std::string> usable;
  for (const std::string& device : listed) {
    const int index = std::stoi(device.substr(device.find(':') + 1));
    if (index < cuda_devices) {
      usable.push_back(device);
    } else if (spec != "auto") {
      throw util::Error(util::ErrorCode::kInvalidArgument,
                        "gpus lists " + device + ", but libtorch sees " + std::to_string(cuda_devices) +
                            " CUDA device(s)" + (cuda_devices == 0 ? " (a CPU-only libtorch?)" : "") + ".");
    }
  }
  if (warning && usable.size() < listed.size())
    *warning = "the NVIDIA driver lists " + std::to_string(listed.size()) + " GPU(s), libtorch sees " +
               std::to_string(cuda_devices) + (usable.empty() ? ": jobs share the CPU cores" : ": training on " +
               std::to_string(usable.size()) + " of them");
  return usable;
}

}  // namespace trainyard::server
