#include "core/graph/recipe.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/graph/component.h"
#include "core/graph/registry.h"
#include "core/util/errors.h"

namespace trainyard::graph {

GraphModelConfiguration BuildDefaultGraphs(const data::ProjectConfig& config, data::TrainingType type,
                                           const RecipeOptions& options);

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
    for (const auto& [key, value] : spec.params.items()) {
      if (key == "name" || implementation->defaults.contains(key)) continue;
      std::string closest;
      size_t best = 3;  // suggest only a near miss
      for (const auto& [known, unused] : implementation->defaults.items())
        if (const size_t d = EditDistance(key, known); d < best) best = d, closest = known;
      warnings.Warn(spec.location, "'" + key + "' is not an option of trainyard's " + spec.name +
                                       "; it is ignored." + (closest.empty() ? "" : " Did you mean '" + closest + "'?"));
    }
  }
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
    return BuildDefaultGraphs(config, type, options);
  }
  if (*config.recipe == "graph.v1") return BuildFromGraphConfig(config, type, options, warnings);
  throw util::InvalidConfigError("No recipe with name '" + *config.recipe +
                                 "' was found. Available recipes are: 'default.v1', 'graph.v1'.");
}

}  // namespace trainyard::graph
