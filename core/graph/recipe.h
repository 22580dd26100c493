#pragma once

// Recipes turn config.yml into the train and predict graphs (SPEC §4):
// `default.v1` builds them from `pipeline:` and `policies:` (auto-configuring
// what is missing), `graph.v1` reads them verbatim from the config.

#include <optional>
#include <string>
#include <vector>

#include "core/data/config.h"
#include "core/data/training_type.h"
#include "core/graph/schema.h"
#include "core/util/diagnostics.h"

namespace trainyard::graph {

// Training options from the command line / request that reach node configs
// (SPEC §4.6).
struct RecipeOptions {
  std::optional<int> num_threads;            // Sklearn/Mitie train nodes only
  std::optional<int> augmentation_factor;    // training_tracker_provider
  std::optional<bool> debug_plots;           // training_tracker_provider
  std::optional<double> exclusion_percentage;  // story_graph_provider
  bool persist_nlu_training_data = false;
  bool is_finetuning = false;
  std::optional<double> finetuning_epoch_fraction;  // scales `epochs` when finetuning
};

// What a recipe produces (Rasa's GraphModelConfiguration).
struct GraphModelConfiguration {
  GraphSchema train_schema;
  GraphSchema predict_schema;
  data::TrainingType training_type = data::TrainingType::kBoth;
  std::optional<std::string> assistant_id;
  std::optional<std::string> language;
  std::optional<std::string> core_target;  // "select_prediction" when dialogue is trained
  std::string nlu_target = "run_RegexMessageHandler";
};

// The packaged default configuration (SPEC §4.2): the pipeline and policies
// used when config.yml leaves them out.
const std::vector<data::ComponentSpec>& DefaultPipeline();
const std::vector<data::ComponentSpec>& DefaultPolicies();

// default.v1 auto-configuration: fills `pipeline` (NLU/BOTH/END_TO_END) and
// `policies` (CORE/BOTH/END_TO_END) from the defaults when they are missing
// or null. `configured` receives the keys that were filled. The file itself
// is not touched here.
data::ProjectConfig AutoConfigure(const data::ProjectConfig& config, data::TrainingType type,
                                  std::vector<std::string>* configured = nullptr);

// Builds the graphs for `config` (already auto-configured for default.v1).
// Throws util::InvalidConfigError with Rasa's messages for an unknown recipe,
// an unknown component, a policy in the pipeline, NLU training without a
// pipeline or CORE training without policies. Warnings (no recipe given,
// graph.v1 ignoring options) go to `warnings`.
GraphModelConfiguration BuildGraphs(const data::ProjectConfig& config, data::TrainingType type,
                                    const RecipeOptions& options, util::Diagnostics& warnings);

}  // namespace trainyard::graph
