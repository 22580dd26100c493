#include "core/graph/registry.h"

namespace trainyard::graph {
namespace {

constexpr const char* kSparseAlternative =
    "Use the sparse pipeline instead: WhitespaceTokenizer, RegexFeaturizer, "
    "LexicalSyntacticFeaturizer, CountVectorsFeaturizer (word and char_wb), DIETClassifier.";

std::vector<ComponentInfo> MakeRegistry() {
  std::vector<ComponentInfo> r;
  auto add = [&](std::string name, std::string path, unsigned types, bool trainable,
                 unsigned requires_before = 0) -> ComponentInfo& {
    ComponentInfo info;
    info.name = std::move(name);
    info.class_path = std::move(path);
    info.types = types;
    info.trainable = trainable;
    info.requires_before = requires_before;
    r.push_back(std::move(info));
    return r.back();
  };
  auto pretrained = [&](ComponentInfo& info, const char* loader) {
    info.needs_pretrained_model = true;
    info.alternative = kSparseAlternative;
    if (loader) info.model_from = loader;
  };
  // Tokenizers.
  add("WhitespaceTokenizer", "rasa.nlu.tokenizers.whitespace_tokenizer.WhitespaceTokenizer", kTokenizer, false)
      .not_supported_languages = {"zh", "ja", "th"};
  add("JiebaTokenizer", "rasa.nlu.tokenizers.jieba_tokenizer.JiebaTokenizer", kTokenizer, true)
      .supported_languages = {"zh"};
  pretrained(add("MitieTokenizer", "rasa.nlu.tokenizers.mitie_tokenizer.MitieTokenizer", kTokenizer, false), nullptr);
  pretrained(add("SpacyTokenizer", "rasa.nlu.tokenizers.spacy_tokenizer.SpacyTokenizer", kTokenizer, false), "SpacyNLP");
  // Featurizers.
  const std::string sparse = "rasa.nlu.featurizers.sparse_featurizer.";
  const std::string dense = "rasa.nlu.featurizers.dense_featurizer.";
  add("RegexFeaturizer", sparse + "regex_featurizer.RegexFeaturizer", kFeaturizer, true, kTokenizer);
  add("LexicalSyntacticFeaturizer", sparse + "lexical_syntactic_featurizer.LexicalSyntacticFeaturizer",
      kFeaturizer, true, kTokenizer);
  add("CountVectorsFeaturizer", sparse + "count_vectors_featurizer.CountVectorsFeaturizer", kFeaturizer,
      true, kTokenizer);
  pretrained(add("ConveRTFeaturizer", dense + "convert_featurizer.ConveRTFeaturizer", kFeaturizer, false, kTokenizer), nullptr);
  pretrained(add("LanguageModelFeaturizer", dense + "lm_featurizer.LanguageModelFeaturizer", kFeaturizer, false, kTokenizer), nullptr);
  pretrained(add("MitieFeaturizer", dense + "mitie_featurizer.MitieFeaturizer", kFeaturizer, false, kTokenizer), "MitieNLP");
  pretrained(add("SpacyFeaturizer", dense + "spacy_featurizer.SpacyFeaturizer", kFeaturizer, false, kTokenizer), "SpacyNLP");
  // Intent classifiers and entity extractors.
  add("DIETClassifier", "rasa.nlu.classifiers.diet_classifier.DIETClassifier",
      kIntentClassifier | kEntityExtractor, true, kFeaturizer);
  add("KeywordIntentClassifier", "rasa.nlu.classifiers.keyword_intent_classifier.KeywordIntentClassifier",
      kIntentClassifier, true);
  add("SklearnIntentClassifier", "rasa.nlu.classifiers.sklearn_intent_classifier.SklearnIntentClassifier",
      kIntentClassifier, true, kFeaturizer);
  add("LogisticRegressionClassifier",
      "rasa.nlu.classifiers.logistic_regression_classifier.LogisticRegressionClassifier", kIntentClassifier,
      true, kFeaturizer);
  add("ResponseSelector", "rasa.nlu.selectors.response_selector.ResponseSelector", kIntentClassifier, true,
      kFeaturizer);
  pretrained(add("MitieIntentClassifier", "rasa.nlu.classifiers.mitie_intent_classifier.MitieIntentClassifier",
                 kIntentClassifier, true, kTokenizer), "MitieNLP");
  add("FallbackClassifier", "rasa.nlu.classifiers.fallback_classifier.FallbackClassifier", kIntentClassifier, false);
  add("CRFEntityExtractor", "rasa.nlu.extractors.crf_entity_extractor.CRFEntityExtractor", kEntityExtractor,
      true, kTokenizer);
  add("EntitySynonymMapper", "rasa.nlu.extractors.entity_synonyms.EntitySynonymMapper", kEntityExtractor, true);
  add("RegexEntityExtractor", "rasa.nlu.extractors.regex_entity_extractor.RegexEntityExtractor",
      kEntityExtractor, true, kTokenizer);
  pretrained(add("MitieEntityExtractor", "rasa.nlu.extractors.mitie_entity_extractor.MitieEntityExtractor",
                 kEntityExtractor, true, kTokenizer), "MitieNLP");
  add("DucklingEntityExtractor", "rasa.nlu.extractors.duckling_entity_extractor.DucklingEntityExtractor",
      kEntityExtractor, false);
  pretrained(add("SpacyEntityExtractor", "rasa.nlu.extractors.spacy_entity_extractor.SpacyEntityExtractor",
                 kEntityExtractor, false), "SpacyNLP");
  pretrained(add("MitieNLP", "rasa.nlu.utils.mitie_utils.MitieNLP", kModelLoader, false), nullptr);
  pretrained(add("SpacyNLP", "rasa.nlu.utils.spacy_utils.SpacyNLP", kModelLoader, false), nullptr);
  // Policies.
  add("TEDPolicy", "rasa.core.policies.ted_policy.TEDPolicy", kPolicyWithEndToEnd, true);
  add("UnexpecTEDIntentPolicy", "rasa.core.policies.unexpected_intent_policy.UnexpecTEDIntentPolicy",
      kPolicyWithEndToEnd, true);
  add("MemoizationPolicy", "rasa.core.policies.memoization.MemoizationPolicy", kPolicyWithoutEndToEnd, true);
  add("AugmentedMemoizationPolicy", "rasa.core.policies.memoization.AugmentedMemoizationPolicy",
      kPolicyWithoutEndToEnd, true);
  add("RulePolicy", "rasa.core.policies.rule_policy.RulePolicy", kPolicyWithoutEndToEnd, true);
  // Graph plumbing.
  const std::string gc = "rasa.graph_components.";
  add("DefaultV1RecipeValidator", gc + "validators.default_recipe_validator.DefaultV1RecipeValidator", kGraphInternal, false);
  add("FinetuningValidator", gc + "validators.finetuning_validator.FinetuningValidator", kGraphInternal, false);
  add("NLUTrainingDataProvider", gc + "providers.nlu_training_data_provider.NLUTrainingDataProvider", kGraphInternal, false);
  add("DomainProvider", gc + "providers.domain_provider.DomainProvider", kGraphInternal, false);
  add("DomainForCoreTrainingProvider", gc + "providers.domain_for_core_training_provider.DomainForCoreTrainingProvider",
      kGraphInternal, false);
  add("StoryGraphProvider", gc + "providers.story_graph_provider.StoryGraphProvider", kGraphInternal, false);
  add("TrainingTrackerProvider", gc + "providers.training_tracker_provider.TrainingTrackerProvider", kGraphInternal, false);
  add("RuleOnlyDataProvider", gc + "providers.rule_only_provider.RuleOnlyDataProvider", kGraphInternal, false);
  add("NLUMessageConverter", gc + "converters.nlu_message_converter.NLUMessageConverter", kGraphInternal, false);
  add("CoreFeaturizationInputConverter", "rasa.core.featurizers.precomputation.CoreFeaturizationInputConverter",
      kGraphInternal, false);
  add("CoreFeaturizationCollector", "rasa.core.featurizers.precomputation.CoreFeaturizationCollector",
      kGraphInternal, false);
  add("RegexMessageHandler", "rasa.nlu.classifiers.regex_message_handler.RegexMessageHandler", kGraphInternal, false);
  add("DefaultPolicyPredictionEnsemble", "rasa.core.policies.ensemble.DefaultPolicyPredictionEnsemble",
      kGraphInternal, false);
  return r;
}

}  // namespace

const std::vector<ComponentInfo>& AllComponents() {
  static const std::vector<ComponentInfo> kRegistry = MakeRegistry();
  return kRegistry;
}

const ComponentInfo* FindComponent(std::string_view name_or_path) {
  for (const ComponentInfo& c : AllComponents())
    if (c.name == name_or_path || c.class_path == name_or_path) return &c;
  return nullptr;
}

std::string ClassPathOf(const std::string& name) {
  const ComponentInfo* c = FindComponent(name);
  return c ? c->class_path : name;
}

std::string ComponentTypeName(unsigned type) {
  if (type & kTokenizer) return "Tokenizer";
  if (type & kFeaturizer) return "Featurizer";
  if (type & kIntentClassifier) return "IntentClassifier";
  if (type & kEntityExtractor) return "EntityExtractor";
  if (type & kModelLoader) return "model loader";
  if (type & (kPolicyWithEndToEnd | kPolicyWithoutEndToEnd)) return "Policy";
  return "component";
}

}  // namespace trainyard::graph
