#include "core/training/model.h"

#include "core/graph/runner.h"
#include "core/nlu/message.h"
#include "core/policy/policies.h"
#include "core/training/components.h"
#include "core/util/errors.h"
#include "core/util/strings.h"

namespace fs = std::filesystem;

namespace trainyard::training {

fs::path ResolveModelPath(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    if (!fs::exists(path, ec)) throw util::NotFoundError("No model found at '" + path.string() + "'.");
    return path;
  }
  fs::path newest;
  fs::file_time_type newest_time{};
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (!util::EndsWith(entry.path().string(), ".tar.gz") || !entry.is_regular_file(ec)) continue;
    const auto t = entry.last_write_time(ec);
    if (newest.empty() || t > newest_time) {
      newest = entry.path();
      newest_time = t;
    }
  }
  if (newest.empty()) throw util::NotFoundError("No model found in the directory '" + path.string() + "'.");
  return newest;
}

std::unique_ptr<Model> Model::Load(const fs::path& archive) {
  RegisterBuiltinComponents();
  auto storage = storage::ModelStorage::CreateTemporary();
  storage::ModelMetadata metadata = storage::UnpackArchive(archive, storage->root());
  graph::GraphSchema predict = graph::GraphSchema::FromJson(metadata.predict_schema);
  std::vector<std::string> targets = {metadata.nlu_target};
  if (metadata.core_target) targets.push_back(*metadata.core_target);
  const graph::GraphSchema needed = predict.Minimal(targets);
  for (const auto& [name, node] : needed.nodes())
    if (!graph::FindImplementation(node.uses))
      throw util::InvalidConfigError("The model '" + archive.string() + "' uses the component '" + node.uses +
                                     "', which this trainyard version cannot run.");
  return std::unique_ptr<Model>(new Model(std::move(storage), std::move(metadata), std::move(predict)));
}

nlohmann::ordered_json Model::Parse(const std::string& text) const { return ParseAll({text}).front().parse; }

std::vector<Model::Parsed> Model::ParseAll(const std::vector<std::string>& texts) const {
  std::vector<nlu::NluMessage> input(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) input[i].data.text = texts[i];
  auto messages = std::make_shared<const std::vector<nlu::NluMessage>>(std::move(input));
  graph::RunnerOptions options;
  options.threads = 1;
  const auto outputs = graph::RunGraph(
      predict_, *storage_,
      {{graph::kMessagePlaceholder, graph::Output{nlu::NluMessagesPtr(messages), graph::RandomFingerprint(), {}}}},
      options, {}, {metadata_.nlu_target});
  const auto& result = std::any_cast<const nlu::NluMessagesPtr&>(outputs.at(metadata_.nlu_target).value);
  std::vector<Parsed> out;
  for (const nlu::NluMessage& m : *result) {
    Parsed p{nlu::ParseResult(m), {}};
    for (const nlu::Token& t : m.tokens) p.tokens.emplace_back(t.start, t.end);
    out.push_back(std::move(p));
  }
  return out;
}

namespace {

// Entities as Rasa's parse output lists them.
nlohmann::ordered_json EntitiesJson(const std::vector<data::EntityAnnotation>& entities) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const data::EntityAnnotation& e : entities)
    out.push_back({{"entity", e.entity}, {"start", e.start}, {"end", e.end}, {"value", e.value}});
  return out;
}

}  // namespace

nlohmann::ordered_json Model::PredictNextAction(const std::vector<data::StoryEvent>& events) const {
  if (!metadata_.core_target)
    throw util::InvalidConfigError("This model was trained without dialogue policies; it cannot predict actions.");
  auto conversation = std::make_shared<const std::vector<data::StoryEvent>>(events);
  graph::RunnerOptions options;
  options.threads = 1;
  const auto outputs = graph::RunGraph(
      predict_, *storage_,
      {{graph::kTrackerPlaceholder, graph::Output{policy::ConversationPtr(conversation), graph::RandomFingerprint(), {}}}},
      options, {}, {*metadata_.core_target});
  const auto& prediction = *std::any_cast<policy::PolicyPredictionPtr>(outputs.at(*metadata_.core_target).value);
  const auto& domain = *std::any_cast<std::shared_ptr<const nlohmann::ordered_json>>(outputs.at("domain_provider").value);
  const std::vector<std::string> actions = policy::ActionNames(domain);
  size_t best = 0;
  for (size_t i = 1; i < prediction.probabilities.size(); ++i)
    if (prediction.probabilities[i] > prediction.probabilities[best]) best = i;
  return {{"action", best < actions.size() ? actions[best] : "action_listen"},
          {"confidence", prediction.probabilities.empty() ? 0.0 : prediction.probabilities[best]},
          {"policy", prediction.policy},
          {"end_to_end", prediction.is_end_to_end_prediction},
          // Set it on the action when it runs (StoryEvent::hide_rule_turn).
          {"hide_rule_turn", prediction.hide_rule_turn},
          {"entities", EntitiesJson(prediction.entities)}};
}

}  // namespace trainyard::training
