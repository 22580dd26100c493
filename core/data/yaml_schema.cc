#include "core/data/yaml_schema.h"

#include <algorithm>
#include <cstdlib>

#include "core/util/strings.h"

namespace trainyard::data {

bool FileContext::ExpectMap(const yaml::Node& node, std::string_view what) {
  if (node.IsMap()) return true;
  Error(node, std::string(what) + " must be a mapping (key: value pairs) but is " +
                  node.Describe() + ".");
  return false;
}

bool FileContext::ExpectSeq(const yaml::Node& node, std::string_view what) {
  if (node.IsSeq()) return true;
  Error(node, std::string(what) + " must be a list but is " + node.Describe() + ".");
  return false;
}

bool FileContext::ExpectString(const yaml::Node& node, std::string_view what, bool allow_empty) {
  if (node.IsString() && (allow_empty || !node.value.empty())) return true;
  if (node.IsString() || node.IsNull())
    Error(node, std::string(what) + " must not be empty.");
  else
    Error(node, std::string(what) + " must be a string but is " + node.Describe() +
                    (node.IsScalar() ? "; put it in quotes if it is meant as text." : "."));
  return false;
}

bool FileContext::ExpectBool(const yaml::Node& node, std::string_view what) {
  if (node.IsBool()) return true;
  Error(node, std::string(what) + " must be true or false but is " + node.Describe() + ".");
  return false;
}

bool FileContext::ExpectNumber(const yaml::Node& node, std::string_view what) {
  if (node.IsNumber()) return true;
  Error(node, std::string(what) + " must be a number but is " + node.Describe() + ".");
  return false;
}

bool FileContext::CheckKeys(const yaml::Node& map, std::initializer_list<std::string_view> allowed,
                            std::string_view what) {
  bool ok = true;
  for (const auto& [key, value] : map.entries) {
    const std::string name = key->IsScalar() ? key->value : "<complex key>";
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
    std::vector<std::string> names(allowed.begin(), allowed.end());
    Error(*key, "Unknown key '" + name + "' in " + std::string(what) + ". Expected one of: " +
                    util::QuoteJoin(names) + ".");
    ok = false;
  }
  return ok;
}

bool CheckFormatVersion(const yaml::Node& root, FileContext& context) {
  const yaml::Node* version = root.Get("version");
  if (!version) return true;
  if (!version->IsString()) {
    context.Warn(*version, "Training data file " + context.file() +
                               " must specify 'version' as string, for example:\n"
                               "version: '" + std::string(kLatestFormatVersion) +
                               "'\ntrainyard will read the file as a version '" +
                               kLatestFormatVersion + "' file.");
    return true;
  }
  const std::string& v = version->value;
  const bool numeric = !v.empty() && v.find_first_not_of("0123456789.") == std::string::npos;
  if (!numeric) {
    context.Warn(*version, "Training data file " + context.file() + " has an invalid 'version' '" +
                               v + "'; reading it as version '" + kLatestFormatVersion + "'.");
    return true;
  }
  if (CompareVersions(v, kLatestFormatVersion) > 0) {
    context.Warn(*version, "Training data file " + context.file() +
                               " has a greater format version than trainyard supports: " + v +
                               " > " + kLatestFormatVersion + ". This file will be skipped.");
    return false;
  }
  return true;
}

}  // namespace trainyard::data
