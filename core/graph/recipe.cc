#include "core/graph/recipe.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/graph/component.h"
#include "core/graph/registry.h"
#include "core/util/errors.h"
#include "core/util/strings.h"

namespace trainyard::graph {

GraphModelConfiguration BuildDefaultGraphs(const data::ProjectConfig& config, data::TrainingType type,
                                           const RecipeOptions& options);
// default.v1's node names: "run_" + NodeSuffix(...) is the node of the
// pipeline's component at `index` that processes messages.
std::string NodeSuffix(const data::ComponentSpec& spec, size_t index);

namespace {

// How many single-character edits turn `a` into `b` (Levenshtein).
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Options config.yml gives a component that it does not have: a typo such as
// 'epoch' would otherwise change nothing and say nothing.
void WarnUnknownOptions(const std::vector<data::ComponentSpec>& specs, util::Diagnostics& warnings) {
  for (const data::ComponentSpec& spec : specs) {
    const ComponentInfo* info = FindComponent(spec.name);
    const ComponentImplementation* implementation = info ? FindImplementation(info->name) : nullptr;
    if (!implementation || !spec.params.is_object()) continue;
    auto warn_inert = [&](const std::string& option, const std::string& why) {
      warnings.Warn(spec.location, "'" + option + "' has no effect in trainyard's " + spec.name +
                                       ": " + why + " It is ignored.");
    };
    for (const auto& [path, why] : implementation->inert) {
      const size_t dot = path.find('.');
      if (dot == std::string::npos) continue;
      const std::string key = path.substr(0, dot), member = path.substr(dot + 1);
      if (!spec.params.contains(key)) continue;
      const Json& value = spec.params.at(key);
      const Json given = value.is_number()   ? value
                         : value.is_object() ? value.value(member, Json())
                                             : Json();
      const Json fallback = implementation->defaults.value(key, Json());
      const Json standard = fallback.is_object() ? fallback.value(member, Json()) : fallback;
      if (!given.is_null() && given != standard) warn_inert(path, why);
    }
    for (const auto& [key, value] : spec.params.items()) {
      if (const auto inert = implementation->inert.find(key);
          inert != implementation->inert.end() &&
          implementation->defaults.value(key, Json()) != value) {
        warn_inert(key, inert->second);
        continue;
      }
      if (key == "name" || implementation->defaults.contains(key)) continue;
      if (key == "alias" && info->is(kFeaturizer))
        continue;  // every featurizer's (see CheckFeaturizerNames)
      std::string closest;
      size_t best = 3;  // suggest only a near miss
      for (const auto& [known, unused] : implementation->defaults.items())
        if (const size_t d = EditDistance(key, known); d < best) best = d, closest = known;
      warnings.Warn(spec.location, "'" + key + "' is not an option of trainyard's " + spec.name +
                                       "; it is ignored." + (closest.empty() ? "" : " Did you mean '" + closest + "'?"));
    }
  }
}

// Featurizers are named by their `alias`, else their node's name; DIET's,
// ResponseSelector's and TED's `featurizers` list the names whose features
// they use (TED: those of its end-to-end texts, from the whole pipeline). As
// Rasa: two featurizers may not share an alias (checked where the pipeline
// trains). A listed name that no featurizer before the component has is
// warned of: Rasa trains without its features and says nothing.
void CheckFeaturizerNames(const data::ProjectConfig& config, data::TrainingType type,
                          util::Diagnostics& warnings) {
  const bool nlu = type != data::TrainingType::kCore, core = type != data::TrainingType::kNlu;
  std::map<std::string, const data::ComponentSpec*> aliases;
  std::vector<std::string> names;  // of the featurizers so far
  auto check_listed = [&](const data::ComponentSpec& spec) {
    if (!spec.params.is_object()) return;
    const Json& listed = spec.params.value("featurizers", Json());
    if (!listed.is_array()) return;  // the component's own check refuses other values
    for (const Json& name : listed)
      if (name.is_string() &&
          std::find(names.begin(), names.end(), name.get<std::string>()) == names.end())
        warnings.Warn(
            spec.location,
            spec.name + ": 'featurizers' lists '" + name.get<std::string>() +
                "', but no featurizer before it has that name, so it gets no features "
                "from it. The featurizers' names (their 'alias', else their node name): " +
                (names.empty() ? std::string("none") : util::QuoteJoin(names)) + ".");
  };
  for (size_t i = 0; i < config.pipeline.size(); ++i) {
    const data::ComponentSpec& spec = config.pipeline[i];
    const ComponentInfo* info = FindComponent(spec.name);
    if (!info || !spec.params.is_object()) continue;
    if (!info->is(kFeaturizer)) {
      if (nlu) check_listed(spec);
      continue;
    }
    const Json alias = spec.params.value("alias", Json());
    if (nlu && !alias.is_null() && (!alias.is_string() || alias.get<std::string>().empty()))
      throw util::InvalidDataError(
          spec.location,
          spec.name + ": 'alias' must be a non-empty text, not " + alias.dump() + ".");
    if (nlu && alias.is_string()) {
      const auto [it, fresh] = aliases.emplace(alias.get<std::string>(), &spec);
      if (!fresh)
        throw util::InvalidDataError(
            spec.location,
            "Expected the featurizers to have unique names, but '" + it->first +
                "' is also the alias of the " + it->second->name +
                (it->second->location.empty() ? "" : " at " + it->second->location.ToString()) +
                ". Give each featurizer an alias of its own.");
    }
    names.push_back(alias.is_string() ? alias.get<std::string>() : "run_" + NodeSuffix(spec, i));
  }
  if (core)
    for (const data::ComponentSpec& spec : config.policies) check_listed(spec);
}

GraphModelConfiguration BuildFromGraphConfig(const data::ProjectConfig& config, data::TrainingType type,
                                             const RecipeOptions& options, util::Diagnostics& warnings) {
  const util::SourceLocation where{config.path.string()};
  warnings.Warn(where, "The graph.v1 recipe is experimental; its schemas are used exactly as written.");
  if (options.is_finetuning || options.num_threads || options.augmentation_factor ||
      options.exclusion_percentage || options.persist_nlu_training_data)
    warnings.Warn(where, "The graph.v1 recipe ignores training options given on the command line "
                         "(finetuning, num_threads, augmentation, ...).");
  for (const char* key : {"train_schema", "predict_schema"})
    if (!config.extra.contains(key))
      throw util::InvalidConfigError("The graph.v1 recipe needs '" + std::string(key) + "' in the config file '" +
                                     config.path.string() + "'.");
  GraphModelConfiguration out;
  try {
    out.train_schema = GraphSchema::FromJson(config.extra["train_schema"]);
    out.predict_schema = GraphSchema::FromJson(config.extra["predict_schema"]);
  } catch (const nlohmann::json::exception& e) {
    throw util::InvalidConfigError("Invalid graph schema in '" + config.path.string() + "': " + e.what());
  }
  out.training_type = type;
  out.language = config.language;
  out.assistant_id = config.assistant_id;
  if (type != data::TrainingType::kNlu) out.core_target = "select_prediction";
  // Rasa's graph.v1 lets the config name its own targets.
  if (config.extra.contains("core_target") && config.extra["core_target"].is_string())
    out.core_target = config.extra["core_target"].get<std::string>();
  if (config.extra.contains("nlu_target") && config.extra["nlu_target"].is_string())
    out.nlu_target = config.extra["nlu_target"].get<std::string>();
  return out;
}

}  // namespace

GraphModelConfiguration BuildGraphs(const data::ProjectConfig& config, data::TrainingType type,
                                    const RecipeOptions& options, util::Diagnostics& warnings) {
  if (!config.recipe) {
    warnings.Warn({config.path.string()},
                  "From Rasa Open Source 4.0.0 onwards it will be required to specify a recipe in your "
                  "model configuration. Defaulting to recipe 'default.v1'.");
  }
  if (!config.recipe || *config.recipe == "default.v1") {
    if (type != data::TrainingType::kCore) WarnUnknownOptions(config.pipeline, warnings);
    if (type != data::TrainingType::kNlu) WarnUnknownOptions(config.policies, warnings);
    CheckFeaturizerNames(config, type, warnings);
    return BuildDefaultGraphs(config, type, options);
  }
  if (*config.recipe == "graph.v1") return BuildFromGraphConfig(config, type, options, warnings);
  throw util::InvalidConfigError("No recipe with name '" + *config.recipe +
                                 "' was found. Available recipes are: 'default.v1', 'graph.v1'.");
}

}  // namespace trainyard::graph
