#include "core/graph/recipe.h"

#include "core/util/errors.h"

namespace trainyard::graph {

GraphModelConfiguration BuildDefaultGraphs(const data::ProjectConfig& config, data::TrainingType type,
                                           const RecipeOptions& options);

namespace {

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
    return BuildDefaultGraphs(config, type, options);
  }
  if (*config.recipe == "default.v1") return BuildDefaultGraphs(config, type, options);
  if (*config.recipe == "graph.v1") return BuildFromGraphConfig(config, type, options, warnings);
  throw util::InvalidConfigError("No recipe with name '" + *config.recipe +
                                 "' was found. Available recipes are: 'default.v1', 'graph.v1'.");
}

}  // namespace trainyard::graph
