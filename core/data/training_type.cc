#include "core/data/training_type.h"

#include "core/data/importer.h"

namespace trainyard::data {

const char* TrainingTypeName(TrainingType type) {
  switch (type) {
    case TrainingType::kNlu: return "NLU";
    case TrainingType::kCore: return "CORE";
    case TrainingType::kBoth: return "BOTH";
    case TrainingType::kEndToEnd: return "END_TO_END";
  }
  return "UNKNOWN";
}

TrainingPlan PlanTraining(const Project& project) {
  TrainingPlan plan;
  const bool e2e = project.stories.HasEndToEnd();
  const bool pure_nlu = project.nlu.HasPureNluData();
  const bool stories = !project.stories.empty();
  if (e2e) {
    plan.type = TrainingType::kEndToEnd;
    plan.messages.push_back(
        "The end-to-end training is currently experimental and might change in the future "
        "without prior notice.");
  }
  if (!stories && !pure_nlu) {
    plan.has_training_data = false;
    plan.messages.push_back(
        "No training data given. Please provide stories and NLU data in order to train a Rasa "
        "model using the '--data' argument.");
    return plan;
  }
  // A domain that could not be loaded counts as empty even if NLU data added
  // retrieval intents to it.
  if (project.domain.empty() || !project.domain_loaded) {
    plan.type = TrainingType::kNlu;
    plan.messages.push_back(
        "Core training was skipped because no valid domain file was found. Only an NLU-model was "
        "created. Please specify a valid domain using the '--domain' argument or check if the "
        "provided domain file exists.");
  } else if (!stories) {
    plan.type = TrainingType::kNlu;
    plan.messages.push_back("No stories present. Just a Rasa NLU model will be trained.");
  } else if (!pure_nlu && !e2e) {
    plan.type = TrainingType::kCore;
    plan.messages.push_back("No NLU data present. Just a Rasa Core model will be trained.");
  }
  return plan;
}

std::map<std::string, std::vector<util::SourceLocation>> FindUnresolvedSlots(const Project& project) {
  std::map<std::string, std::vector<util::SourceLocation>> out;
  auto known = project.domain.SlotNames();
  known.insert("requested_slot");  // every domain has it (forms set it)
  ForEachEvent(project.stories, [&](const StoryStep&, const StoryEvent& e) {
    if (e.type == EventType::kSlotSet && !known.count(e.name)) out[e.name].push_back(e.location);
  });
  return out;
}

}  // namespace trainyard::data
