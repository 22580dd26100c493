#pragma once

// The orchestration API (SPEC §1): train, train_nlu, train_core. The CLI and
// the service are thin shells over these functions.

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/data/importer.h"
#include "core/data/training_type.h"
#include "core/graph/component.h"
#include "core/graph/trainer.h"

namespace trainyard::training {

// Result codes (SPEC §1.1).
inline constexpr int kCodeNoNeedToTrain = 0;
inline constexpr int kCodeNeedsToBeRetrained = 1;
inline constexpr int kCodeForcedTraining = 8;
inline constexpr int kCodeNoTrainingData = 1;

struct TrainOptions {
  std::filesystem::path config = "config.yml";
  std::filesystem::path domain = "domain.yml";  // empty: no domain
  std::vector<std::filesystem::path> training_files = {"data"};
  std::filesystem::path output = "models";
  bool dry_run = false;
  bool force_training = false;
  std::optional<std::string> fixed_model_name;
  bool persist_nlu_training_data = false;
  std::optional<int> num_threads;        // Sklearn/Mitie components only (Rasa's meaning)
  std::optional<int> augmentation_factor;
  std::optional<double> exclusion_percentage;  // drop this share of the story steps (core compare mode)
  std::optional<double> finetuning_epoch_fraction;
  // Finetune this model (an archive, or a directory: its newest archive)
  // instead of training from scratch (SPEC §1.8).
  std::optional<std::filesystem::path> model_to_finetune;
  // The training cache directory; default from TRAINYARD_CACHE_DIR / .trainyard/cache.
  std::optional<std::filesystem::path> cache_directory;
  // Worker threads of the graph runner; 0 = cores.
  size_t runner_threads = 0;
  // The device trainable components use: "cpu" or "cuda:N". The server gives
  // each GPU worker its own device; libtorch components read it.
  std::string device = "cpu";
  // The archive's project_fingerprint (see ProjectFingerprint). None: none.
  // The command line takes it from its working directory; the server from the
  // client that submitted the job (a job's project is an upload, not a checkout).
  std::optional<std::string> project_fingerprint;
  // Intra-op threads of libtorch components; 0 = every core. The server gives
  // each job its share of the cores.
  size_t compute_threads = 0;
  const graph::CancellationToken* cancel = nullptr;
  // Structured progress: node started/finished/restored, epochs, warnings.
  // Called from worker threads; must be thread-safe.
  std::function<void(const graph::TrainingEvent&)> on_event;
  // Import and training warnings (with file:line where known), as they happen.
  std::function<void(const util::Diagnostic&)> on_warning;
};

struct TrainingResult {
  std::optional<std::filesystem::path> model;  // the archive; none for dry runs and "no data"
  int code = 0;
  // Dry runs: every non-input node → cache hit?
  std::optional<std::map<std::string, bool>> dry_run_results;
  data::TrainingType training_type = data::TrainingType::kBoth;
  std::vector<std::string> messages;  // Rasa's user-facing notes ("No stories present. ...")
};

// Rasa's project_fingerprint: the SHA-256 of what `git remote get-url origin`
// prints (the URL and its newline) in the checkout holding `directory`, read
// from its git config (git is not run); nothing outside a checkout.
std::optional<std::string> ProjectFingerprint(const std::filesystem::path& directory);

// `rasa train`: detects the training type from the data (SPEC §1.2).
// Throws util::InvalidDataError (bad data, unresolved slots),
// util::InvalidConfigError (config cannot be trained), util::CancelledError.
TrainingResult Train(const TrainOptions& options);

// Rasa's `_train_graph`: trains an imported project for a given training
// type (no training-type detection, no unresolved-slot check).
TrainingResult TrainGraph(const TrainOptions& options, const data::Project& project, data::TrainingType type);

// `rasa train nlu` / `rasa train core`: force the training type; no model
// (and a message) when the data for it is missing.
TrainingResult TrainNlu(TrainOptions options);
TrainingResult TrainCore(TrainOptions options);

}  // namespace trainyard::training
