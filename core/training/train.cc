#include "core/training/train.h"

#include <set>

#include "core/data/importer.h"
#include "core/data/serialize.h"
#include "core/graph/recipe.h"
#include "core/graph/registry.h"
#include "core/graph/validation.h"
#include "core/ml/device.h"
#include "core/storage/archive.h"
#include "core/storage/model_name.h"
#include "core/training/components.h"
#include "core/training/config_file.h"
#include "core/training/model.h"
#include "core/util/errors.h"
#include "core/util/git.h"
#include "core/util/sha256.h"
#include "core/util/strings.h"
#include "core/version.h"

namespace fs = std::filesystem;

namespace trainyard::training {
namespace {

using data::TrainingType;

void Warn(const TrainOptions& options, const util::SourceLocation& where, const std::string& message) {
  if (options.on_warning) options.on_warning({util::Severity::kWarning, message, where});
}

data::Project ImportProject(const TrainOptions& options) {
  data::ImportOptions import;
  import.config_path = options.config;
  import.require_config = true;
  import.domain_path = options.domain;
  import.data_paths = options.training_files;
  import.lenient_domain = true;
  util::Diagnostics diagnostics;
  data::Project project = data::Import(import, diagnostics);
  for (const util::Diagnostic& d : diagnostics.warnings())
    if (options.on_warning) options.on_warning(d);
  return project;
}

void CheckUnresolvedSlots(const data::Project& project) {
  const auto unresolved = data::FindUnresolvedSlots(project);
  if (unresolved.empty()) return;
  std::vector<util::Diagnostic> details;
  std::vector<std::string> names;
  for (const auto& [slot, places] : unresolved) {
    names.push_back(slot);
    details.push_back({util::Severity::kError,
                       "Unresolved slots found in stories/rules: tried to set slot '" + slot +
                           "' that is not present in your domain. Check whether it needs to be added to the "
                           "domain or whether there is a spelling error.",
                       places.front()});
  }
  throw util::InvalidDataError(details);
}

// Components the graphs use that trainyard cannot run yet.
void CheckImplemented(const graph::GraphModelConfiguration& graphs) {
  // Everything that trains, and everything the model predicts with.
  std::set<std::string> missing;
  for (const auto* schema : {&graphs.train_schema, &graphs.predict_schema})
    for (const auto& [name, node] : schema->nodes())
      if (!graph::FindImplementation(node.uses)) missing.insert(node.uses);
  if (missing.empty()) return;
  throw util::InvalidConfigError("This trainyard version cannot train these components yet: " +
                                 util::QuoteJoin({missing.begin(), missing.end()}) +
                                 ". Use the components it implements, or a newer trainyard.");
}

TrainingResult TrainProject(const TrainOptions& options, const data::Project& project, TrainingType type,
                            TrainingResult result) {
  RegisterBuiltinComponents();
  const std::string device = ml::ResolveDevice(options.device);  // rejects unknown devices up front
  std::vector<std::string> configured;
  const data::ProjectConfig config = graph::AutoConfigure(project.config, type, &configured);
  // Like Rasa, show the user what was auto-configured, in the file itself
  // (not for multi-project configs, whose file is not the whole config).
  if (!configured.empty() && config.recipe.value_or("default.v1") == "default.v1" && !options.dry_run) {
    if (!project.imported_projects.empty()) {
      Warn(options, {options.config.string()}, "Auto-config for multiple importers is not supported; using config as is.");
    } else if (const std::string info = WriteAutoConfiguration(options.config, configured, project.config_text);
               !info.empty() && options.on_warning) {
      options.on_warning({util::Severity::kWarning, info, {options.config.string()}});
    }
  }
  // Finetuning: the old model's resources seed the storage; train nodes "load".
  std::optional<fs::path> finetune;
  if (options.model_to_finetune) {
    try {
      finetune = ResolveModelPath(*options.model_to_finetune);
    } catch (const util::NotFoundError&) {
    }
    if (!finetune)
      throw util::NotFoundError("No model for finetuning found. Please make sure to either specify a path to a "
                                "previous model or to have a finetunable model within the directory '" +
                                options.output.string() + "'.");
    Warn(options, {finetune->string()}, "Incremental Training feature is experimental. Finetuning '" +
                                            finetune->string() + "'.");
  }
  graph::RecipeOptions recipe;
  recipe.is_finetuning = finetune.has_value();
  recipe.num_threads = options.num_threads;
  recipe.augmentation_factor = options.augmentation_factor;
  recipe.exclusion_percentage = options.exclusion_percentage;
  recipe.persist_nlu_training_data = options.persist_nlu_training_data;
  recipe.finetuning_epoch_fraction = options.finetuning_epoch_fraction;
  util::Diagnostics recipe_warnings;
  const graph::GraphModelConfiguration graphs = graph::BuildGraphs(config, type, recipe, recipe_warnings);
  for (const auto& d : recipe_warnings.all())
    if (options.on_warning) options.on_warning(d);
  graph::ValidateGraphs(graphs);
  CheckImplemented(graphs);
  util::Diagnostics data_warnings;
  graph::ValidateDataAgainstConfig(project, graphs, data_warnings);
  for (const auto& d : data_warnings.all())
    if (options.on_warning) options.on_warning(d);

  auto storage = storage::ModelStorage::CreateTemporary();
  if (finetune) storage::UnpackArchive(*finetune, storage->root());
  graph::CacheOptions cache_options = graph::CacheOptionsFromEnvironment();
  cache_options.version = Version();
  if (options.cache_directory) cache_options.directory = *options.cache_directory;
  std::string cache_warning;
  auto cache = graph::TrainingCache::Open(cache_options, &cache_warning);
  if (!cache_warning.empty()) Warn(options, {cache_options.directory.string()}, cache_warning);

  graph::GraphTrainer trainer(*storage, *cache);
  graph::TrainerOptions trainer_options;
  trainer_options.force = options.force_training;
  trainer_options.is_finetuning = finetune.has_value();
  trainer_options.threads = options.runner_threads;
  trainer_options.device = options.device;
  trainer_options.compute_threads = static_cast<int>(options.compute_threads);
  trainer_options.cancel = options.cancel;
  trainer_options.on_event = options.on_event;
  const auto project_ptr = std::make_shared<const data::Project>(project);
  const std::map<std::string, graph::Output> placeholders = {
      {graph::kImporterPlaceholder, graph::Output{ProjectPtr(project_ptr), graph::RandomFingerprint(), std::nullopt}}};

  result.training_type = graphs.training_type;
  if (options.dry_run) {
    const auto statuses = trainer.FingerprintPass(graphs.train_schema, placeholders, trainer_options);
    std::map<std::string, bool> hits;
    bool all_hit = true;
    for (const auto& [node, status] : statuses) {
      hits[node] = status.is_hit;
      all_hit = all_hit && status.is_hit;
    }
    result.dry_run_results = hits;
    if (options.force_training) {
      result.code = kCodeForcedTraining;
      result.messages.push_back("The training was forced.");
    } else if (!all_hit) {
      result.code = kCodeNeedsToBeRetrained;
      result.messages.push_back("The model needs to be retrained.");
    } else {
      result.code = kCodeNoNeedToTrain;
      result.messages.push_back("No training of components required (the responses might still need updating!).");
    }
    return result;
  }

  const std::string domain_before = data::DomainToJson(project.domain).dump();
  const graph::TrainingRun run = trainer.Train(graphs.train_schema, placeholders, trainer_options);

  storage::ModelMetadata metadata;
  metadata.domain = nlohmann::ordered_json::parse(domain_before);
  metadata.trained_at = storage::UtcTimestamp();
  metadata.model_id = storage::NewModelId();
  metadata.assistant_id = graphs.assistant_id;
  metadata.producer_version = Version();
  metadata.train_schema = graphs.train_schema.ToJson();
  metadata.predict_schema = graphs.predict_schema.ToJson();
  metadata.training_type = static_cast<int>(graphs.training_type);
  metadata.core_target = graphs.core_target;
  metadata.nlu_target = graphs.nlu_target;
  metadata.language = graphs.language;
  metadata.project_fingerprint = options.project_fingerprint;
  metadata.device = device;
  for (const auto& [node, seconds] : run.node_seconds) metadata.node_durations[node] = seconds;
  for (const std::string& node : run.restored) metadata.cache_hits.push_back(node);
  const fs::path archive =
      options.output / storage::ModelFileName(static_cast<int>(graphs.training_type), options.fixed_model_name);
  if (options.cancel) options.cancel->ThrowIfCancelled();
  storage::WriteArchive(*storage, metadata, archive);
  result.model = archive;
  result.code = 0;
  result.messages.push_back("Your trainyard model is trained and saved at '" + archive.string() + "'.");
  return result;
}

}  // namespace

std::optional<std::string> ProjectFingerprint(const fs::path& directory) {
  const std::optional<std::string> url = util::GitRemoteUrl(directory);
  if (!url) return std::nullopt;
  return util::Sha256Hex(*url + "\n");
}

TrainingResult Train(const TrainOptions& options) {
  const data::Project project = ImportProject(options);
  const data::TrainingPlan plan = data::PlanTraining(project);
  TrainingResult result;
  result.messages = plan.messages;
  result.training_type = plan.type;
  if (!plan.has_training_data) {
    result.code = kCodeNoTrainingData;
    return result;
  }
  CheckUnresolvedSlots(project);
  return TrainProject(options, project, plan.type, std::move(result));
}

TrainingResult TrainGraph(const TrainOptions& options, const data::Project& project, TrainingType type) {
  return TrainProject(options, project, type, TrainingResult{});
}

TrainingResult TrainNlu(TrainOptions options) {
  TrainingResult result;
  result.training_type = TrainingType::kNlu;
  if (options.training_files.empty()) {
    result.messages.push_back("No NLU data given. Please provide NLU data in order to train a Rasa NLU model "
                              "using the '--nlu' argument.");
    return result;
  }
  options.domain.clear();
  data::Project project = ImportProject(options);
  project.stories = {};
  project.story_graph = {};
  if (!project.nlu.HasPureNluData()) {
    result.messages.push_back("Path '" + options.training_files.front().string() +
                              "' doesn't contain valid NLU data in it. Please verify the data format. The NLU "
                              "model training will be skipped now.");
    return result;
  }
  return TrainProject(options, project, TrainingType::kNlu, std::move(result));
}

TrainingResult TrainCore(TrainOptions options) {
  TrainingResult result;
  result.training_type = TrainingType::kCore;
  const data::Project project = ImportProject(options);
  if (project.stories.HasEndToEnd()) {
    result.messages.push_back("Stories file contains e2e stories. Please train using `rasa train` so that the NLU "
                              "model is also trained.");
    return result;
  }
  if (project.domain.empty() || !project.domain_loaded) {
    result.messages.push_back("Core training was skipped because no valid domain file was found. Please specify a "
                              "valid domain using the '--domain' argument or check if the provided domain file "
                              "exists.");
    return result;
  }
  if (project.stories.empty()) {
    result.messages.push_back("No stories given. Please provide stories in order to train a Rasa Core model using "
                              "the '--stories' argument.");
    return result;
  }
  CheckUnresolvedSlots(project);
  return TrainProject(options, project, TrainingType::kCore, std::move(result));
}

}  // namespace trainyard::training
