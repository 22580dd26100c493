#include "core/graph/validation.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/graph/registry.h"
#include "core/util/errors.h"
#include "core/util/strings.h"

namespace trainyard::graph {
namespace {

void CheckParents(const GraphSchema& schema, const char* which) {
  for (const auto& [name, node] : schema.nodes())
    for (const auto& [param, parent] : node.needs)
      if (!IsPlaceholder(parent) && !schema.Has(parent))
        throw util::InvalidConfigError("Node '" + name + "' of the " + which + " graph needs '" + param +
                                       "' from node '" + parent + "', which is not part of the graph.");
}

void CheckCycles(const GraphSchema& schema) {
  enum class Mark { kNew, kActive, kDone };
  std::map<std::string, Mark> mark;
  for (const auto& entry : schema.nodes()) {
    if (mark[entry.first] != Mark::kNew) continue;
    std::vector<std::pair<std::string, size_t>> stack{{entry.first, 0}};
    mark[entry.first] = Mark::kActive;
    while (!stack.empty()) {
      auto& [name, next] = stack.back();
      const auto& needs = schema.at(name).needs;
      if (next < needs.size()) {
        const std::string parent = needs[next++].second;
        if (IsPlaceholder(parent) || !schema.Has(parent)) continue;
        if (mark[parent] == Mark::kActive)
          throw util::InvalidConfigError(
              "Node '" + parent + "' has itself as dependency. Cycles are not allowed in the graph. "
              "Please make sure that '" + parent + "' does not have itself specified in 'needs' and "
              "none of '" + parent + "''s dependencies have '" + parent + "' specified in 'needs'.");
        if (mark[parent] == Mark::kNew) {
          mark[parent] = Mark::kActive;
          stack.emplace_back(parent, 0);
        }
        continue;
      }
      mark[name] = Mark::kDone;
      stack.pop_back();
    }
  }
}

void CheckComponents(const GraphSchema& schema, const std::optional<std::string>& language) {
  std::vector<std::string> pretrained;
  std::string alternative;
  for (const auto& [name, node] : schema.nodes()) {
    const ComponentInfo* info = FindComponent(node.uses);
    if (!info)
      throw util::InvalidConfigError("Can't load class for name '" + node.uses + "' (node '" + name +
                                     "'). Please make sure to provide a valid name of a component "
                                     "trainyard supports.");
    if (info->needs_pretrained_model) {
      if (std::find(pretrained.begin(), pretrained.end(), info->name) == pretrained.end())
        pretrained.push_back(info->name);
      alternative = info->alternative;
    }
    if (!language) continue;
    const auto& yes = info->supported_languages;
    const auto& no = info->not_supported_languages;
    if ((!yes.empty() && std::find(yes.begin(), yes.end(), *language) == yes.end()) ||
        std::find(no.begin(), no.end(), *language) != no.end())
      throw util::InvalidConfigError("The component '" + info->name +
                                     "' does not support the currently specified language '" +
                                     *language + "'.");
  }
  if (!pretrained.empty())
    throw util::InvalidConfigError(
        "The configuration uses " + util::QuoteJoin(pretrained) +
        ", which need pretrained models (spaCy, MITIE, ConveRT or Hugging Face language models) that "
        "trainyard does not load. " + alternative);
}

// Every component that needs e.g. a Tokenizer must have one among its ancestors.
void CheckRequiredComponents(const GraphSchema& schema) {
  std::map<unsigned, std::vector<std::string>> missing;
  for (const auto& [name, node] : schema.nodes()) {
    const ComponentInfo* info = FindComponent(node.uses);
    if (!info || !info->requires_before) continue;
    unsigned found = 0;
    std::set<std::string> seen;
    std::vector<std::string> todo;
    for (const auto& need : node.needs) todo.push_back(need.second);
    while (!todo.empty()) {
      const std::string parent = todo.back();
      todo.pop_back();
      if (IsPlaceholder(parent) || !schema.Has(parent) || !seen.insert(parent).second) continue;
      const SchemaNode& p = schema.at(parent);
      if (const ComponentInfo* pi = FindComponent(p.uses)) found |= pi->types;
      for (const auto& need : p.needs) todo.push_back(need.second);
    }
    for (unsigned type : {unsigned{kTokenizer}, unsigned{kFeaturizer}}) {
      if (!(info->requires_before & type) || (found & type)) continue;
      auto& names = missing[type];
      if (std::find(names.begin(), names.end(), info->name) == names.end()) names.push_back(info->name);
    }
  }
  if (missing.empty()) return;
  size_t count = 0;
  std::string lines;
  for (const auto& [type, names] : missing) {
    count += names.size();
    lines += "\n- The following components require a " + ComponentTypeName(type) + ": " +
             util::Join(names, ", ") + ".";
  }
  throw util::InvalidConfigError(std::to_string(count) +
                                 " components are missing required components which have to run "
                                 "before themselves:" + lines +
                                 "\nPlease add the required components to your pipeline.");
}

bool Uses(const GraphModelConfiguration& g, unsigned type) {
  for (const auto& [name, node] : g.train_schema.nodes()) {
    const ComponentInfo* info = FindComponent(node.uses);
    if (info && info->is(type)) return true;
  }
  return false;
}

bool UsesComponent(const GraphModelConfiguration& g, const std::string& component) {
  for (const auto& [name, node] : g.train_schema.nodes())
    if (node.uses == component) return true;
  return false;
}

}  // namespace

void ValidateGraphs(const GraphModelConfiguration& graphs) {
  for (const auto* schema : {&graphs.train_schema, &graphs.predict_schema}) {
    const char* which = schema == &graphs.train_schema ? "train" : "predict";
    CheckParents(*schema, which);
    CheckCycles(*schema);
    CheckComponents(*schema, graphs.language);
  }
  CheckRequiredComponents(graphs.train_schema);
  if (!graphs.predict_schema.Has(graphs.nlu_target))
    throw util::InvalidConfigError("The predict graph has no node '" + graphs.nlu_target +
                                   "' to give NLU results.");
  if (graphs.core_target && !graphs.predict_schema.Has(*graphs.core_target))
    throw util::InvalidConfigError("The predict graph has no node '" + *graphs.core_target +
                                   "' to give dialogue predictions.");
}

void ValidateDataAgainstConfig(const data::Project& project, const GraphModelConfiguration& graphs,
                               util::Diagnostics& d) {
  const util::SourceLocation config{project.config.path.string()};
  size_t tokenizers = 0;
  for (const auto& [name, node] : graphs.train_schema.nodes()) {
    const ComponentInfo* info = FindComponent(node.uses);
    if (info && info->is(kTokenizer) && name.rfind("e2e_", 0) != 0) ++tokenizers;
  }
  if (tokenizers > 1)
    throw util::InvalidConfigError("The pipeline configuration contains more than one tokenizer, which "
                                   "is not possible at this time. You can only use one tokenizer.");
  const bool nlu = graphs.train_schema.Has("nlu_training_data_provider");
  const bool core = graphs.train_schema.Has("domain_provider");
  const data::TrainingData& td = project.nlu;
  if (nlu) {
    for (const std::string& intent : td.Intents()) {
      size_t n = 0;
      for (const data::Message* m : td.IntentExamples()) n += m->intent == intent;
      if (n < 2)
        d.Warn(config, "Intent '" + intent + "' has only " + std::to_string(n) +
                           " training examples! Minimum is 2, training may fail.");
    }
    std::set<std::string> responses;
    for (const auto& [name, r] : project.domain.responses) responses.insert(name);
    std::set<std::string> reported;
    for (const data::Message* m : td.IntentExamples())
      if (!m->intent_response_key.empty() && !responses.count("utter_" + m->intent_response_key) &&
          reported.insert(m->intent_response_key).second)
        d.Warn(m->location, "Unable to find response 'utter_" + m->intent_response_key + "' for the retrieval "
                            "intent '" + m->intent_response_key + "'. You either need to add a response phrase or "
                            "correct the intent for this example in your training data. If you intend to use "
                            "Response Selector in the pipeline, the training may fail.");
    if (!td.RetrievalIntents().empty() && !UsesComponent(graphs, "ResponseSelector"))
      d.Warn(config, "You have defined training data with examples for training a response selector, but "
                     "your NLU configuration does not include a response selector component. To train "
                     "a model on your response selector data, add a 'ResponseSelector' to your pipeline.");
    const bool trainable_extractor = UsesComponent(graphs, "DIETClassifier") ||
                                     UsesComponent(graphs, "CRFEntityExtractor") ||
                                     UsesComponent(graphs, "RegexEntityExtractor");
    if (td.EntityAnnotationCount() > 0 && !trainable_extractor)
      d.Warn(config, "You have defined training data consisting of entity examples, but your NLU "
                     "configuration does not include an entity extractor trained on your training data. "
                     "To extract non-pretrained entities, add one of 'DIETClassifier', "
                     "'CRFEntityExtractor' or 'RegexEntityExtractor' to your pipeline.");
    if ((!td.EntityRoles().empty() || !td.EntityGroups().empty()) &&
        !UsesComponent(graphs, "DIETClassifier") && !UsesComponent(graphs, "CRFEntityExtractor"))
      d.Warn(config, "You have defined training data with entities that have roles/groups, but your NLU "
                     "configuration does not include a 'DIETClassifier' or a 'CRFEntityExtractor'.");
    if ((!td.regexes.empty() || !td.lookups.empty()) && !UsesComponent(graphs, "RegexFeaturizer") &&
        !UsesComponent(graphs, "RegexEntityExtractor"))
      d.Warn(config, "You have defined training data with regexes or lookup tables, but your NLU "
                     "configuration does not include a 'RegexFeaturizer' or 'RegexEntityExtractor'.");
    if (!td.synonyms.empty() && !UsesComponent(graphs, "EntitySynonymMapper"))
      d.Warn(config, "You have defined synonyms in your training data, but your NLU configuration does "
                     "not include an 'EntitySynonymMapper'. To map synonyms, add an "
                     "'EntitySynonymMapper' to your pipeline.");
  }
  const bool has_policies = Uses(graphs, kPolicyWithEndToEnd | kPolicyWithoutEndToEnd);
  if (!project.stories.empty() && !has_policies && project.domain_loaded)
    d.Warn(config, "Found data for training policies but no policy was configured.");
  if (!core) return;
  const bool rule_policy = UsesComponent(graphs, "RulePolicy");
  if (!rule_policy) {
    d.Warn(config, "'RulePolicy' is not included in the model's policy configuration. Default intents "
                   "such as '/restart' and '/back' will not trigger actions 'action_restart' and "
                   "'action_back'.");
    if (!project.domain.forms.empty())
      throw util::InvalidConfigError("You have defined a form action, but have not added the "
                                     "'RulePolicy' to your policy ensemble. Add it to use forms.");
    if (project.stories.rule_count > 0)
      d.Warn(config, "Found rule-based training data but no policy supporting rule-based data. Please "
                     "add 'RulePolicy' to the policies section of your configuration.");
  } else if (project.stories.rule_count == 0 && project.domain.forms.empty()) {
    d.Warn(config, "Found a rule-based policy in your configuration but no rule-based training data. "
                   "Please add rule-based stories to your training data or remove the rule-based "
                   "policy ('RulePolicy') from your configuration.");
  }
}

}  // namespace trainyard::graph
