#include "core/data/config.h"

#include <cstdlib>

#include "core/data/yaml.h"
#include "core/data/yaml_schema.h"
#include "core/util/fs.h"
#include "core/util/strings.h"

namespace trainyard::data {
namespace {

Json ExpandJson(const Json& value, const yaml::Node* node, FileContext& context) {
  if (value.is_string()) {
    std::vector<std::string> missing;
    std::string expanded = ExpandEnvironmentVariables(value.get<std::string>(), missing);
    if (!missing.empty() && node)
      context.Error(*node, "Error when trying to expand the environment variables in '" +
                               value.get<std::string>() +
                               "'. Please make sure to also set these environment variables: " +
                               util::QuoteJoin(missing) + ".");
    return expanded;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (size_t i = 0; i < value.size(); ++i)
      out.push_back(ExpandJson(value[i], node && node->IsSeq() ? node->items[i].get() : node, context));
    return out;
  }
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [k, v] : value.items())
      out[k] = ExpandJson(v, node && node->IsMap() && node->Get(k) ? node->Get(k) : node, context);
    return out;
  }
  return value;
}

std::optional<std::string> OptionalString(const yaml::Node& root, const char* key,
                                          FileContext& context) {
  const yaml::Node* node = root.Get(key);
  if (!node || node->IsNull()) return std::nullopt;
  if (!node->IsScalar()) {
    context.Error(*node, std::string("'") + key + "' must be a string but is " + node->Describe() + ".");
    return std::nullopt;
  }
  std::vector<std::string> missing;
  std::string value = ExpandEnvironmentVariables(node->value, missing);
  if (!missing.empty())
    context.Error(*node, "Error when trying to expand the environment variables in '" + node->value +
                             "'. Please make sure to also set these environment variables: " +
                             util::QuoteJoin(missing) + ".");
  return value;
}

std::vector<ComponentSpec> ReadComponents(const yaml::Node* node, const char* key,
                                          FileContext& context) {
  std::vector<ComponentSpec> out;
  if (!node || node->IsNull()) return out;
  if (!context.ExpectSeq(*node, std::string("'") + key + "'")) return out;
  for (const yaml::NodePtr& item : node->items) {
    if (!item->IsMap()) {
      context.Error(*item, std::string("Each item of '") + key +
                               "' must be a mapping with a 'name' key (e.g. '- name: "
                               "WhitespaceTokenizer') but this one is " + item->Describe() + ".");
      continue;
    }
    const yaml::Node* name = item->Get("name");
    if (!name) {
      context.Error(*item, std::string("An item of '") + key + "' has no 'name' key.");
      continue;
    }
    if (!context.ExpectString(*name, "The component 'name'")) continue;
    ComponentSpec spec;
    spec.name = name->value;
    spec.location = context.At(*item);
    for (const auto& [k, v] : item->entries) {
      if (k->IsScalar() && k->value == "name") continue;
      const std::string param = k->IsScalar() ? k->value : k->ToJson().dump();
      spec.params[param] = ExpandJson(v->ToJson(), v.get(), context);
    }
    out.push_back(std::move(spec));
  }
  return out;
}

}  // namespace

std::string ExpandEnvironmentVariables(const std::string& value, std::vector<std::string>& missing) {
  std::string out;
  size_t i = 0;
  while (i < value.size()) {
    const size_t open = value.find("${", i);
    if (open == std::string::npos) break;
    const size_t close = value.find('}', open + 2);
    if (close == std::string::npos) break;
    out.append(value, i, open - i);
    const std::string name = value.substr(open + 2, close - open - 2);
    const char* env = name.empty() ? nullptr : std::getenv(name.c_str());
    if (env) {
      out += env;
    } else {
      missing.push_back(name);
      out.append(value, open, close - open + 1);
    }
    i = close + 1;
  }
  out.append(value, i, std::string::npos);
  return out;
}

ProjectConfig ParseConfig(const std::string& text, const std::filesystem::path& path,
                          util::Diagnostics& diagnostics) {
  ProjectConfig config;
  config.path = path;
  FileContext context(path.string(), diagnostics);
  const yaml::NodePtr root = yaml::Parse(text, path.string());
  if (root->IsNull()) return config;
  if (!context.ExpectMap(*root, "The config file")) return config;

  // Unset variables are reported once, by the typed readers below.
  config.raw = ExpandJson(root->ToJson(), nullptr, context);
  config.recipe = OptionalString(*root, "recipe", context);
  config.language = OptionalString(*root, "language", context);
  config.assistant_id = OptionalString(*root, "assistant_id", context);
  config.version = OptionalString(*root, "version", context);

  const yaml::Node* pipeline = root->Get("pipeline");
  config.has_pipeline_key = root->GetKey("pipeline") != nullptr;
  config.pipeline_is_null = !pipeline || pipeline->IsNull();
  config.pipeline = ReadComponents(pipeline, "pipeline", context);

  const yaml::Node* policies = root->Get("policies");
  config.has_policies_key = root->GetKey("policies") != nullptr;
  config.policies_is_null = !policies || policies->IsNull();
  config.policies = ReadComponents(policies, "policies", context);

  config.importers = ReadComponents(root->Get("importers"), "importers", context);

  if (const yaml::Node* imports = root->Get("imports"); imports && !imports->IsNull()) {
    if (context.ExpectSeq(*imports, "'imports'")) {
      for (const yaml::NodePtr& item : imports->items) {
        if (!context.ExpectString(*item, "An entry of 'imports'")) continue;
        config.imports.push_back(item->value);
        config.import_locations.push_back(context.At(*item));
      }
    }
  }

  static const char* kKnown[] = {"recipe", "language", "assistant_id", "version", "pipeline",
                                 "policies", "importers", "imports"};
  for (const auto& [key, value] : config.raw.items()) {
    bool known = false;
    for (const char* k : kKnown) known = known || key == k;
    if (!known) config.extra[key] = value;
  }
  return config;
}

ProjectConfig ReadConfig(const std::filesystem::path& path, util::Diagnostics& diagnostics) {
  return ParseConfig(util::ReadFile(path), path, diagnostics);
}

}  // namespace trainyard::data
