#include "core/training/components.h"

#include <fstream>
#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>
#include <random>

#include "core/data/serialize.h"
#include "core/data/story_graph.h"
#include "core/graph/component.h"
#include "core/ml/diet.h"
#include "core/nlu/components.h"
#include "core/nlu/message.h"
#include "core/nlu/whitespace_tokenizer.h"
#include "core/policy/policies.h"
#include "core/util/errors.h"
#include "core/util/strings.h"
#include "core/version.h"

namespace trainyard::training {
namespace {

using graph::Component;
using graph::ExecutionContext;
using graph::Inputs;
using graph::Output;
using Json = nlohmann::ordered_json;

// A component whose methods are plain functions.
class FunctionComponent : public Component {
 public:
  using Fn = std::function<Output(const Inputs&, const ExecutionContext&)>;
  FunctionComponent(std::string name, std::map<std::string, Fn> methods)
      : name_(std::move(name)), methods_(std::move(methods)) {}
  Output Run(const std::string& fn, const Inputs& inputs, const ExecutionContext& context) override {
    auto it = methods_.find(fn);
    if (it == methods_.end()) throw util::InvalidConfigError(name_ + " has no method '" + fn + "'.");
    return it->second(inputs, context);
  }

 private:
  std::string name_;
  std::map<std::string, Fn> methods_;
};

void Register(const std::string& name, Json defaults,
              std::function<std::map<std::string, FunctionComponent::Fn>(const Json&, const std::optional<std::string>&)>
                  methods) {
  graph::ComponentImplementation impl;
  impl.defaults = std::move(defaults);
  impl.make = [name, methods](const Json& config, const std::optional<std::string>& resource, const ExecutionContext&) {
    return std::make_unique<FunctionComponent>(name, methods(config, resource));
  };
  graph::RegisterImplementation(name, impl);
}

ProjectPtr ProjectOf(const Inputs& in) { return std::any_cast<ProjectPtr>(in.at("importer").value); }

constexpr const char* kFingerprintsFile = "fingerprints-for-validation.json";

// The train graph as finetuning compares it: no epochs, no values equal to
// the defaults, no constructor or target flags (they differ by design).
Json ConfigForFinetuning(const graph::GraphSchema& schema) {
  Json nodes = Json::object();
  for (const auto& [name, node] : schema.nodes()) {
    const graph::ComponentImplementation* impl = graph::FindImplementation(node.uses);
    Json config = Json::object();
    for (const auto& [k, v] : node.config.items()) {
      if (k == "epochs" || k == "finetuning_epoch_fraction") continue;
      if (impl && impl->defaults.contains(k) && impl->defaults[k] == v) continue;
      config[k] = v;
    }
    Json needs = Json::object();
    for (const auto& [param, parent] : node.needs) needs[param] = parent;
    nodes[name] = {{"uses", node.uses}, {"fn", node.fn}, {"needs", needs}, {"config", config}};
  }
  return nodes;
}

// fingerprints-for-validation.json (SPEC §1.8): what finetuning compares.
Json ValidationFingerprints(const data::Project& p, const graph::GraphSchema* schema) {
  Json domain = data::DomainForCoreTraining(data::DomainToJson(p.domain));
  Json labels = {{"intents", p.nlu.Intents()}, {"entities", p.nlu.Entities()},
                 {"roles", p.nlu.EntityRoles()}, {"groups", p.nlu.EntityGroups()}};
  return {{"fingerprint-config", schema ? graph::FingerprintJson(ConfigForFinetuning(*schema)) : ""},
          {"fingerprint-core", graph::FingerprintJson(domain)},
          {"fingerprint-nlu", graph::FingerprintJson(labels)},
          {"trainyard-version", Version()}};
}

void CheckFinetuning(const Json& old, const Json& now, bool core, bool nlu) {
  if (!old.is_object() || !old.contains("fingerprint-config"))
    throw util::InvalidConfigError(
        "Finetuning is enabled but the FinetuningValidator does not remember seeing a training run. Ensure that "
        "you have trained your model at least once (with finetuning disabled) and ensure that the "
        "FinetuningValidator is part of the training graph.");
  if (old["fingerprint-config"] != now["fingerprint-config"])
    throw util::InvalidConfigError(
        "Cannot finetune because more than just the 'epoch' keys have been changed in the configuration. Please "
        "revert your configuration and only change the 'epoch' settings where needed.");
  if (core && old["fingerprint-core"] != now["fingerprint-core"])
    throw util::InvalidConfigError(
        "Cannot finetune because keys that affect the training of core components have changed. Please revert "
        "all settings in your domain file (except defined responses).");
  if (nlu && old["fingerprint-nlu"] != now["fingerprint-nlu"])
    throw util::InvalidConfigError(
        "Cannot finetune because NLU training data contains new labels or does not contain any examples for some "
        "known labels. Please make sure that the NLU data that you use for finetuning contains at least one "
        "example for every known label.");
}

// Rasa's exclusion_percentage: that share of the story steps (rounded) is
// dropped after a shuffle — seeded here, so the same percentage drops the
// same steps every time. 0 and 100 keep everything, as in Rasa.
data::StoryData ExcludeStories(const data::StoryData& stories, double percentage) {
  if (percentage <= 0 || percentage >= 100) return stories;
  data::StoryData out = stories;
  std::mt19937 rng(42);
  std::shuffle(out.steps.begin(), out.steps.end(), rng);
  const auto drop = static_cast<size_t>(std::lround(percentage / 100.0 * static_cast<double>(out.steps.size())));
  out.steps.resize(out.steps.size() - std::min(drop, out.steps.size()));
  size_t story_steps = 0, rule_steps = 0;
  for (const auto& s : out.steps) (s.is_rule ? rule_steps : story_steps)++;
  out.story_count = std::min(out.story_count, story_steps);
  out.rule_count = std::min(out.rule_count, rule_steps);
  return out;
}

// One message per distinct user turn (text, or intent with entities) and bot
// turn (action name or bot text) of `events`, in first-seen order.
void AddConversationMessages(const std::vector<data::StoryEvent>& events, std::set<std::string>& seen,
                             std::vector<nlu::NluMessage>& out) {
  for (const data::StoryEvent& e : events) {
    if (e.type == data::EventType::kOr) {
      AddConversationMessages(e.alternatives, seen, out);
      continue;
    }
    nlu::NluMessage m;
    m.data.origin = data::MessageOrigin::kStory;
    std::string key;
    if (e.type == data::EventType::kUser) {
      if (!e.text.empty()) {
        m.data.text = e.text;
        key = "text:" + e.text;
      } else {
        m.data.intent = e.name;
        key = "intent:" + e.name;
      }
    } else if (e.type == data::EventType::kAction && e.name != data::kRuleSnippetAction) {
      if (!e.text.empty()) {
        m.data.action_text = e.text;
        key = "action_text:" + e.text;
      } else {
        m.data.action_name = e.name;
        key = "action_name:" + e.name;
      }
    }
    if (key.empty() || !seen.insert(key).second) continue;
    m.tokens = nlu::WhitespaceTokenize(m.data.text.empty() ? m.data.action_text : m.data.text);
    out.push_back(std::move(m));
  }
}

std::string PrecomputationKey(const nlu::NluMessage& m) {
  if (!m.data.text.empty()) return "text:" + m.data.text;
  if (!m.data.intent.empty()) return "intent:" + m.data.intent;
  if (!m.data.action_text.empty()) return "action_text:" + m.data.action_text;
  return "action_name:" + m.data.action_name;
}

void RegisterEndToEnd() {
  // story_to_nlu_training_data_converter / tracker_to_message_converter.
  Register("CoreFeaturizationInputConverter", Json::object(), [](const Json&, const auto&) {
    return std::map<std::string, FunctionComponent::Fn>{
        {"convert_for_training",
         [](const Inputs& in, const ExecutionContext&) {
           const auto& graph = *std::any_cast<std::shared_ptr<const data::StoryGraph>>(in.at("story_graph").value);
           auto out = std::make_shared<nlu::NluTrainingData>();
           std::set<std::string> seen;
           for (const data::StoryStep& step : graph.steps()) {
             AddConversationMessages(step.condition, seen, out->messages);
             AddConversationMessages(step.events, seen, out->messages);
           }
           return Output{nlu::NluTrainingDataPtr(out), "", std::nullopt};
         }},
        {"convert_for_inference", [](const Inputs& in, const ExecutionContext&) {
           const auto& events = *std::any_cast<policy::ConversationPtr>(in.at("tracker").value);
           auto out = std::make_shared<std::vector<nlu::NluMessage>>();
           std::set<std::string> seen;
           AddConversationMessages(events, seen, *out);
           return Output{nlu::NluMessagesPtr(out), graph::RandomFingerprint(), std::nullopt};
         }}};
  });
  // end_to_end_features_provider: the featurized messages, keyed for lookup.
  Register("CoreFeaturizationCollector", Json::object(), [](const Json&, const auto&) {
    return std::map<std::string, FunctionComponent::Fn>{
        {"collect", [](const Inputs& in, const ExecutionContext&) {
           const graph::Output& input = in.at("messages");
           std::vector<nlu::NluMessage> messages;
           if (const auto* data = std::any_cast<nlu::NluTrainingDataPtr>(&input.value)) messages = (*data)->messages;
           else messages = *std::any_cast<nlu::NluMessagesPtr>(input.value);
           auto out = std::make_shared<Precomputations>();
           for (const nlu::NluMessage& m : messages) (*out)[PrecomputationKey(m)] = m.features;
           return Output{PrecomputationsPtr(out), "", std::nullopt};
         }}};
  });
}

// End-to-end stories' user texts and bot texts join the NLU training data as
// messages from stories (Rasa's importer adds them the same way), so that the
// featurizers learn their words for TEDPolicy; the classifiers learn only from
// the NLU files' examples. Returns the texts added, for the fingerprint.
Json AddStoryTexts(const data::StoryData& stories, std::vector<nlu::NluMessage>& out) {
  Json added = Json::array();
  if (!stories.HasEndToEnd()) return added;
  std::set<std::string> seen;
  std::vector<nlu::NluMessage> turns;
  for (const data::StoryStep& step : stories.steps) {
    AddConversationMessages(step.condition, seen, turns);
    AddConversationMessages(step.events, seen, turns);
  }
  for (nlu::NluMessage& m : turns) {
    if (m.data.text.empty() && m.data.action_text.empty()) continue;  // intents and action names
    added.push_back(m.data.text.empty() ? Json{{"action_text", m.data.action_text}} : Json{{"text", m.data.text}});
    out.push_back(std::move(m));
  }
  return added;
}

void RegisterPlumbing() {
  Register("DefaultV1RecipeValidator", Json::object(), [](const Json&, const auto&) {
    // Data-versus-config checks run before the graph (training::Train), so
    // that dry runs report them too; the node passes the importer on.
    return std::map<std::string, FunctionComponent::Fn>{
        {"validate", [](const Inputs& in, const ExecutionContext&) { return in.at("importer"); }}};
  });
  Register("FinetuningValidator", Json{{"validate_core", true}, {"validate_nlu", true}},
           [](const Json& config, const std::optional<std::string>& resource) {
             const bool core = config.value("validate_core", true), nlu = config.value("validate_nlu", true);
             return std::map<std::string, FunctionComponent::Fn>{
                 {"validate", [=](const Inputs& in, const ExecutionContext& c) {
                    const Json now = ValidationFingerprints(*ProjectOf(in), c.schema);
                    if (c.is_finetuning) {
                      if (!resource)
                        throw util::InvalidConfigError(
                            "Loading FinetuningValidator failed. Ensure that the FinetuningValidator is part of "
                            "your training graph and re-train your models before attempting to finetune them.");
                      std::ifstream old_file(c.storage->ReadFrom(*resource) / kFingerprintsFile);
                      CheckFinetuning(Json::parse(old_file, nullptr, false), now, core, nlu);
                    }
                    std::ofstream(c.storage->WriteTo(c.node_name) / kFingerprintsFile) << now.dump(2);
                    return in.at("importer");
                  }}};
           });
  Register("NLUTrainingDataProvider", Json{{"language", nullptr}, {"persist", false}},
           [](const Json& config, const auto&) {
             const bool persist = config.value("persist", false);
             return std::map<std::string, FunctionComponent::Fn>{
                 {"provide", [persist](const Inputs& in, const ExecutionContext& c) {
                    const data::Project& p = *ProjectOf(in);
                    auto out = std::make_shared<nlu::NluTrainingData>();
                    out->data = p.nlu;
                    for (const data::Message& m : p.nlu.examples) {
                      nlu::NluMessage message;
                      message.data = m;
                      out->messages.push_back(std::move(message));
                    }
                    Json fingerprint = data::TrainingDataToJson(p.nlu);
                    const Json story_texts = AddStoryTexts(p.stories, out->messages);
                    if (!story_texts.empty()) fingerprint["story_texts"] = story_texts;
                    if (persist)
                      std::ofstream(c.storage->WriteTo(c.node_name) / "training_data.yml")
                          << data::TrainingDataToYaml(p.nlu);
                    return Output{nlu::NluTrainingDataPtr(out), graph::FingerprintJson(fingerprint),
                                  persist ? std::optional<std::string>(c.node_name) : std::nullopt};
                  }}};
           });
  Register("DomainProvider", Json::object(), [](const Json&, const std::optional<std::string>& resource) {
    return std::map<std::string, FunctionComponent::Fn>{
        {"provide_train",
         [](const Inputs& in, const ExecutionContext& c) {
           auto domain = std::make_shared<Json>(data::DomainToJson(ProjectOf(in)->domain));
           // JSON is YAML: the file reads back with any YAML reader.
           std::ofstream(c.storage->WriteTo(c.node_name) / "domain.yml") << domain->dump(2) << "\n";
           return Output{DomainPtr(domain), graph::FingerprintJson(*domain), c.node_name};
         }},
        {"provide_inference", [resource](const Inputs&, const ExecutionContext& c) {
           std::ifstream in(c.storage->ReadFrom(resource.value_or("domain_provider")) / "domain.yml");
           auto domain = std::make_shared<Json>(Json::parse(in, nullptr, false));
           if (domain->is_discarded()) throw util::InvalidDataError({}, "The model's domain.yml is corrupt.");
           return Output{DomainPtr(domain), graph::FingerprintJson(*domain), std::nullopt};
         }}};
  });
  Register("DomainForCoreTrainingProvider", Json::object(), [](const Json&, const auto&) {
    return std::map<std::string, FunctionComponent::Fn>{
        {"provide", [](const Inputs& in, const ExecutionContext&) {
           auto core = std::make_shared<Json>(data::DomainForCoreTraining(*std::any_cast<DomainPtr>(in.at("domain").value)));
           return Output{DomainPtr(core), graph::FingerprintJson(*core), std::nullopt};
         }}};
  });
  Register("StoryGraphProvider", Json{{"exclusion_percentage", nullptr}}, [](const Json& config, const auto&) {
    const double exclusion = config["exclusion_percentage"].is_number() ? config["exclusion_percentage"].get<double>() : 0;
    return std::map<std::string, FunctionComponent::Fn>{
        {"provide", [exclusion](const Inputs& in, const ExecutionContext&) {
           const data::Project& p = *ProjectOf(in);
           data::StoryData stories = ExcludeStories(p.stories, exclusion);
           const Json content = data::StoryDataToJson(stories);
           util::Diagnostics ignored;  // checkpoint warnings were reported at import
           auto graph = std::make_shared<data::StoryGraph>(data::StoryGraph::Build(std::move(stories), ignored));
           return Output{std::shared_ptr<const data::StoryGraph>(graph), graph::FingerprintJson(content), std::nullopt};
         }}};
  });
  Register("NLUMessageConverter", Json::object(), [](const Json&, const auto&) {
    return std::map<std::string, FunctionComponent::Fn>{
        {"convert_user_message", [](const Inputs& in, const ExecutionContext&) { return in.at("messages"); }}};
  });
  Register("RegexMessageHandler", Json::object(), [](const Json&, const auto&) {
    return std::map<std::string, FunctionComponent::Fn>{
        {"process", [](const Inputs& in, const ExecutionContext&) {
           auto out = std::make_shared<std::vector<nlu::NluMessage>>(
               *std::any_cast<nlu::NluMessagesPtr>(in.at("messages").value));
           for (nlu::NluMessage& m : *out) {
             // "/intent{"entity": "value"}" sets the intent directly, with confidence 1.
             const std::string text = util::Strip(m.data.text);
             if (!util::StartsWith(text, "/") || text.size() < 2) continue;
             const std::string body = text.substr(1);
             const size_t brace = body.find_first_of("{@");
             m.intent = {{"name", body.substr(0, brace)}, {"confidence", 1.0}};
             m.intent_ranking = Json::array({m.intent});
             m.entities = Json::array();
             if (brace != std::string::npos && body[brace] == '{') {
               Json entities = Json::parse(body.substr(brace), nullptr, false);
               if (entities.is_object())
                 for (const auto& [name, value] : entities.items())
                   m.entities.push_back({{"entity", name}, {"value", value}, {"start", 0}, {"end", text.size()}});
             }
           }
           return Output{nlu::NluMessagesPtr(out), "", std::nullopt};
         }}};
  });
}

}  // namespace

void RegisterBuiltinComponents() {
  static std::once_flag once;
  std::call_once(once, [] {
    RegisterPlumbing();
    RegisterEndToEnd();
    nlu::RegisterNluComponents();
    ml::RegisterMlComponents();
    policy::RegisterPolicyComponents();
  });
}

}  // namespace trainyard::training
