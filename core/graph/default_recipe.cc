// The default.v1 recipe (SPEC §4.5, §4.7). Node names, needs and configs match
// the schemas Rasa 3.x builds for the same config, so archives look familiar
// and Rasa's expected schemas can be compared in tests.

#include <cmath>

#include "core/graph/component.h"
#include "core/graph/recipe.h"
#include "core/graph/registry.h"
#include "core/util/errors.h"

namespace trainyard::graph {

std::string NodeSuffix(const data::ComponentSpec& spec, size_t index) {
  return spec.name + std::to_string(index);
}

namespace {

using data::ComponentSpec;
using data::TrainingType;

data::ComponentSpec Spec(const std::string& name, Json params = Json::object()) {
  data::ComponentSpec spec;
  spec.name = name;
  spec.params = std::move(params);
  return spec;
}

const ComponentInfo& Lookup(const ComponentSpec& spec) {
  const ComponentInfo* info = FindComponent(spec.name);
  if (!info || info->is(kGraphInternal))
    throw util::InvalidConfigError(
        "Can't load class for name '" + spec.name + "'" +
        (spec.location.empty() ? "" : " (" + spec.location.ToString() + ")") +
        ". Please make sure to provide a valid name of a component trainyard supports; custom "
        "components written in Python cannot be loaded.");
  return *info;
}

// Refuses options the component's implementation cannot train with, naming
// the file and line where config.yml writes the component.
void CheckOptions(const ComponentSpec& spec, const ComponentInfo& info, const Json& config) {
  const ComponentImplementation* implementation = FindImplementation(info.name);
  if (!implementation || !implementation->check) return;
  try {
    implementation->check(MergeConfig(implementation->defaults, config));
  } catch (const util::InvalidConfigError& e) {
    if (spec.location.empty()) throw;
    throw util::InvalidDataError(spec.location, e.what());
  }
}

bool HasEpochs(const ComponentInfo& info) {
  return info.name == "DIETClassifier" || info.name == "ResponseSelector" || info.name == "TEDPolicy" ||
         info.name == "UnexpecTEDIntentPolicy";
}

// Default epochs of the components that have them, for finetuning (SPEC §1.8).
int DefaultEpochs(const ComponentInfo& info) {
  return info.name == "TEDPolicy" || info.name == "UnexpecTEDIntentPolicy" ? 1 : 300;
}

class DefaultRecipe {
 public:
  DefaultRecipe(const data::ProjectConfig& config, TrainingType type, const RecipeOptions& options)
      : config_(config), type_(type), options_(options) {
    use_core_ = !config.policies.empty() && type != TrainingType::kNlu;
    use_nlu_ = !config.pipeline.empty() && type != TrainingType::kCore;
    use_e2e_ = use_nlu_ && use_core_ && type == TrainingType::kEndToEnd;
  }

  GraphModelConfiguration Build();

 private:
  Json TrainConfig(const ComponentSpec& spec, const ComponentInfo& info) const;
  void AddNluTrain();
  void AddCoreTrain();
  void AddEndToEndTrain();
  // Copies the NLU preprocessors as `e2e_<name>` nodes chained from `source`
  // (through parameter `param`), then the collector of their features.
  void AddEndToEndChain(GraphSchema& schema, const std::string& source, const std::string& param, bool predict);
  void AddNluPredict();
  void AddCorePredict();
  std::string Constructor() const { return options_.is_finetuning ? "load" : "create"; }

  const data::ProjectConfig& config_;
  TrainingType type_;
  const RecipeOptions& options_;
  bool use_core_ = false, use_nlu_ = false, use_e2e_ = false;
  GraphSchema train_, predict_;
  std::vector<std::string> preprocessors_;  // run_ nodes of tokenizers/featurizers, in order
};

Json DefaultRecipe::TrainConfig(const ComponentSpec& spec, const ComponentInfo& info) const {
  Json config = spec.params;
  if (options_.num_threads && (info.name == "SklearnIntentClassifier" || info.name == "MitieIntentClassifier" ||
                               info.name == "MitieEntityExtractor"))
    config["num_threads"] = *options_.num_threads;
  if (options_.is_finetuning && options_.finetuning_epoch_fraction && HasEpochs(info)) {
    const int epochs = config.contains("epochs") && config["epochs"].is_number()
                           ? config["epochs"].get<int>()
                           : DefaultEpochs(info);
    config["epochs"] = static_cast<int>(std::ceil(epochs * *options_.finetuning_epoch_fraction));
    config["finetuning_epoch_fraction"] = *options_.finetuning_epoch_fraction;
  }
  return config;
}

void DefaultRecipe::AddNluTrain() {
  SchemaNode provider;
  provider.needs = {{"importer", "finetuning_validator"}};
  provider.uses = "NLUTrainingDataProvider";
  provider.fn = "provide";
  provider.config = {{"language", config_.language ? Json(*config_.language) : Json()},
                     {"persist", options_.persist_nlu_training_data}};
  provider.is_input = true;
  provider.is_target = options_.persist_nlu_training_data;
  train_.Set("nlu_training_data_provider", provider);

  std::string last = "nlu_training_data_provider";
  for (size_t i = 0; i < config_.pipeline.size(); ++i) {
    const ComponentSpec& spec = config_.pipeline[i];
    const ComponentInfo& info = Lookup(spec);
    CheckOptions(spec, info, spec.params);
    const std::string suffix = NodeSuffix(spec, i);
    if (info.is_policy())
      throw util::InvalidConfigError("Found policy '" + suffix + "' in NLU pipeline. Policies should "
                                     "be defined in the 'policies' section of your configuration.");
    if (info.is(kModelLoader)) {
      SchemaNode loader;
      loader.uses = info.name;
      loader.fn = "provide";
      loader.config = spec.params;
      train_.Set("provide_" + suffix, loader);
      continue;
    }
    const std::string model = info.model_from.empty() ? "" : "provide_" + info.model_from;
    auto add_model = [&](SchemaNode& node) {
      for (const auto& [name, n] : train_.nodes())
        if (n.uses == info.model_from && name.rfind("provide_", 0) == 0) node.SetNeed("model", name);
    };
    if (info.trainable) {
      SchemaNode train;
      train.needs = {{"training_data", last}};
      add_model(train);
      train.uses = info.name;
      train.constructor_name = Constructor();
      train.fn = "train";
      train.config = TrainConfig(spec, info);
      train.is_target = true;
      train_.Set("train_" + suffix, train);
    }
    if (info.is(kTokenizer | kFeaturizer)) {
      SchemaNode run;
      run.needs = {{"training_data", last}};
      if (info.trainable) run.SetNeed("resource", "train_" + suffix);
      add_model(run);
      run.uses = info.name;
      run.constructor_name = "load";
      run.fn = "process_training_data";
      run.config = spec.params;
      last = "run_" + suffix;
      train_.Set(last, run);
      preprocessors_.push_back(last);
    }
  }
}

void DefaultRecipe::AddCoreTrain() {
  SchemaNode domain;
  domain.needs = {{"importer", "finetuning_validator"}};
  domain.uses = "DomainProvider";
  domain.fn = "provide_train";
  domain.is_target = domain.is_input = true;
  train_.Set("domain_provider", domain);

  SchemaNode core_domain;
  core_domain.needs = {{"domain", "domain_provider"}};
  core_domain.uses = "DomainForCoreTrainingProvider";
  core_domain.fn = "provide";
  core_domain.is_input = true;
  train_.Set("domain_for_core_training_provider", core_domain);

  SchemaNode stories;
  stories.needs = {{"importer", "finetuning_validator"}};
  stories.uses = "StoryGraphProvider";
  stories.fn = "provide";
  stories.config = {{"exclusion_percentage",
                     options_.exclusion_percentage ? Json(*options_.exclusion_percentage) : Json()}};
  stories.is_input = true;
  train_.Set("story_graph_provider", stories);

  SchemaNode trackers;
  trackers.needs = {{"story_graph", "story_graph_provider"}, {"domain", "domain_for_core_training_provider"}};
  trackers.uses = "TrainingTrackerProvider";
  trackers.fn = "provide";
  if (options_.augmentation_factor) trackers.config["augmentation_factor"] = *options_.augmentation_factor;
  if (options_.debug_plots) trackers.config["debug_plots"] = *options_.debug_plots;
  train_.Set("training_tracker_provider", trackers);

  bool any_e2e_policy = false;
  for (const ComponentSpec& spec : config_.policies) any_e2e_policy |= Lookup(spec).is(kPolicyWithEndToEnd);
  if (use_e2e_ && any_e2e_policy) AddEndToEndTrain();

  for (size_t i = 0; i < config_.policies.size(); ++i) {
    const ComponentSpec& spec = config_.policies[i];
    const ComponentInfo& info = Lookup(spec);
    CheckOptions(spec, info, spec.params);
    if (!info.is_policy())
      throw util::InvalidConfigError("Found '" + spec.name + "' in the 'policies' section, but it is not "
                                     "a policy. NLU components belong in the 'pipeline' section.");
    SchemaNode policy;
    policy.needs = {{"training_trackers", "training_tracker_provider"},
                    {"domain", "domain_for_core_training_provider"}};
    if (use_e2e_ && info.is(kPolicyWithEndToEnd))
      policy.SetNeed("precomputations", "end_to_end_features_provider");
    policy.uses = info.name;
    policy.constructor_name = Constructor();
    policy.fn = "train";
    policy.config = TrainConfig(spec, info);
    policy.is_target = true;
    train_.Set("train_" + NodeSuffix(spec, i), policy);
  }
}

void DefaultRecipe::AddEndToEndTrain() {
  SchemaNode converter;
  converter.needs = {{"story_graph", "story_graph_provider"}, {"domain", "domain_for_core_training_provider"}};
  converter.uses = "CoreFeaturizationInputConverter";
  converter.fn = "convert_for_training";
  converter.is_input = true;
  train_.Set("story_to_nlu_training_data_converter", converter);
  AddEndToEndChain(train_, "story_to_nlu_training_data_converter", "training_data", false);
}

void DefaultRecipe::AddEndToEndChain(GraphSchema& schema, const std::string& source, const std::string& param,
                                     bool predict) {
  std::string last = source;
  for (const std::string& name : preprocessors_) {
    SchemaNode copy = schema.at(name);
    copy.SetNeed(param, last);
    last = "e2e_" + name;
    schema.Set(last, copy);
  }
  SchemaNode collector;
  collector.needs = {{"messages", last}};
  collector.uses = "CoreFeaturizationCollector";
  collector.constructor_name = predict ? "load" : "create";
  collector.fn = "collect";
  collector.eager = predict;
  schema.Set("end_to_end_features_provider", collector);
}

void DefaultRecipe::AddNluPredict() {
  SchemaNode converter;
  converter.needs = {{"messages", kMessagePlaceholder}};
  converter.uses = "NLUMessageConverter";
  converter.constructor_name = "load";
  converter.fn = "convert_user_message";
  converter.eager = true;
  predict_.Set("nlu_message_converter", converter);
  std::string last = "nlu_message_converter";
  if (use_nlu_) {
    for (size_t i = 0; i < config_.pipeline.size(); ++i) {
      const ComponentSpec& spec = config_.pipeline[i];
      const ComponentInfo& info = Lookup(spec);
      const std::string suffix = NodeSuffix(spec, i);
      SchemaNode node;
      node.uses = info.name;
      node.constructor_name = "load";
      node.eager = true;
      node.config = spec.params;
      if (info.is(kModelLoader)) {
        node.fn = "provide";
        predict_.Set("provide_" + suffix, node);
        continue;
      }
      node.needs = {{"messages", last}};
      if (!info.model_from.empty())
        for (const auto& [name, n] : predict_.nodes())
          if (n.uses == info.model_from) node.SetNeed("model", name);
      node.fn = "process";
      if (info.trainable) node.resource = "train_" + suffix;
      last = "run_" + suffix;
      predict_.Set(last, node);
    }
  }
  SchemaNode handler;
  handler.needs = {{"messages", last}};
  if (use_core_) handler.SetNeed("domain", "domain_provider");
  handler.uses = "RegexMessageHandler";
  handler.constructor_name = "load";
  handler.fn = "process";
  handler.eager = true;
  predict_.Set("run_RegexMessageHandler", handler);
}

void DefaultRecipe::AddCorePredict() {
  SchemaNode domain;
  domain.uses = "DomainProvider";
  domain.constructor_name = "load";
  domain.fn = "provide_inference";
  domain.eager = true;
  domain.resource = "domain_provider";
  predict_.Set("domain_provider", domain);

  bool any_e2e_policy = false;
  for (const ComponentSpec& spec : config_.policies) any_e2e_policy |= Lookup(spec).is(kPolicyWithEndToEnd);
  if (use_e2e_ && any_e2e_policy) {
    SchemaNode converter;
    converter.needs = {{"tracker", kTrackerPlaceholder}};
    converter.uses = "CoreFeaturizationInputConverter";
    converter.constructor_name = "load";
    converter.fn = "convert_for_inference";
    converter.eager = true;
    predict_.Set("tracker_to_message_converter", converter);
    AddEndToEndChain(predict_, "tracker_to_message_converter", "messages", true);
  }

  std::optional<std::string> rule_policy;
  SchemaNode ensemble;
  for (size_t i = 0; i < config_.policies.size(); ++i) {
    const ComponentSpec& spec = config_.policies[i];
    const ComponentInfo& info = Lookup(spec);
    const std::string suffix = NodeSuffix(spec, i);
    SchemaNode policy;
    policy.needs = {{"tracker", kTrackerPlaceholder}, {"domain", "domain_provider"}};
    if (use_e2e_ && info.is(kPolicyWithEndToEnd))
      policy.SetNeed("precomputations", "end_to_end_features_provider");
    policy.SetNeed("rule_only_data", "rule_only_data_provider");
    policy.uses = info.name;
    policy.constructor_name = "load";
    policy.fn = "predict_action_probabilities";
    policy.config = spec.params;
    policy.eager = true;
    policy.resource = "train_" + suffix;
    predict_.Set("run_" + suffix, policy);
    ensemble.SetNeed("policy" + std::to_string(i), "run_" + suffix);
    if (!rule_policy && info.name == "RulePolicy") rule_policy = "train_" + suffix;
  }
  SchemaNode rules;
  rules.uses = "RuleOnlyDataProvider";
  rules.constructor_name = "load";
  rules.fn = "provide";
  rules.eager = true;
  rules.resource = rule_policy;
  predict_.Set("rule_only_data_provider", rules);

  ensemble.SetNeed("domain", "domain_provider");
  ensemble.SetNeed("tracker", kTrackerPlaceholder);
  ensemble.uses = "DefaultPolicyPredictionEnsemble";
  ensemble.constructor_name = "load";
  ensemble.fn = "combine_predictions_from_kwargs";
  ensemble.eager = true;
  predict_.Set("select_prediction", ensemble);
}

GraphModelConfiguration DefaultRecipe::Build() {
  if (type_ == TrainingType::kNlu && !use_nlu_)
    throw util::InvalidConfigError(
        "Can't train an NLU model without a specified pipeline. Please make sure to specify a valid "
        "pipeline in your configuration.");
  if (type_ == TrainingType::kCore && !use_core_)
    throw util::InvalidConfigError(
        "Can't train an Core model without policies. Please make sure to specify a valid policy in "
        "your configuration.");
  SchemaNode validator;
  validator.needs = {{"importer", kImporterPlaceholder}};
  validator.uses = "DefaultV1RecipeValidator";
  validator.fn = "validate";
  validator.is_input = true;
  train_.Set("schema_validator", validator);
  SchemaNode finetuning;
  finetuning.needs = {{"importer", "schema_validator"}};
  finetuning.uses = "FinetuningValidator";
  finetuning.constructor_name = Constructor();
  finetuning.fn = "validate";
  finetuning.config = {{"validate_core", use_core_}, {"validate_nlu", use_nlu_}};
  finetuning.is_input = true;
  train_.Set("finetuning_validator", finetuning);

  if (use_nlu_) AddNluTrain();
  if (use_core_) AddCoreTrain();
  if (use_nlu_) AddNluPredict();
  if (use_core_) AddCorePredict();
  if (!use_nlu_) AddNluPredict();  // a core-only model still parses "/intent" messages

  GraphModelConfiguration out;
  out.train_schema = std::move(train_);
  out.predict_schema = std::move(predict_);
  out.training_type = type_;
  out.assistant_id = config_.assistant_id;
  out.language = config_.language;
  if (use_core_) out.core_target = "select_prediction";
  return out;
}

}  // namespace

const std::vector<data::ComponentSpec>& DefaultPipeline() {
  static const std::vector<data::ComponentSpec> kPipeline = {
      Spec("WhitespaceTokenizer"),
      Spec("RegexFeaturizer"),
      Spec("LexicalSyntacticFeaturizer"),
      Spec("CountVectorsFeaturizer"),
      Spec("CountVectorsFeaturizer", {{"analyzer", "char_wb"}, {"min_ngram", 1}, {"max_ngram", 4}}),
      Spec("DIETClassifier", {{"epochs", 100}, {"constrain_similarities", true}}),
      Spec("EntitySynonymMapper"),
      Spec("ResponseSelector", {{"epochs", 100}, {"constrain_similarities", true}}),
      Spec("FallbackClassifier", {{"threshold", 0.3}, {"ambiguity_threshold", 0.1}}),
  };
  return kPipeline;
}

const std::vector<data::ComponentSpec>& DefaultPolicies() {
  static const std::vector<data::ComponentSpec> kPolicies = {
      Spec("MemoizationPolicy"),
      Spec("RulePolicy"),
      Spec("UnexpecTEDIntentPolicy", {{"max_history", 5}, {"epochs", 100}}),
      Spec("TEDPolicy", {{"max_history", 5}, {"epochs", 100}, {"constrain_similarities", true}}),
  };
  return kPolicies;
}

data::ProjectConfig AutoConfigure(const data::ProjectConfig& config, TrainingType type,
                                  std::vector<std::string>* configured) {
  data::ProjectConfig out = config;
  const bool wants_pipeline = type != TrainingType::kCore;
  const bool wants_policies = type != TrainingType::kNlu;
  if (wants_pipeline && config.pipeline_is_null) {
    out.pipeline = DefaultPipeline();
    out.pipeline_is_null = false;
    if (configured) configured->push_back("pipeline");
  }
  if (wants_policies && config.policies_is_null) {
    out.policies = DefaultPolicies();
    out.policies_is_null = false;
    if (configured) configured->push_back("policies");
  }
  return out;
}

GraphModelConfiguration BuildDefaultGraphs(const data::ProjectConfig& config, TrainingType type,
                                           const RecipeOptions& options) {
  return DefaultRecipe(config, type, options).Build();
}

}  // namespace trainyard::graph
