#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/util/diagnostics.h"

namespace trainyard::data {

struct Project;

// Persisted as integers in model metadata, as Rasa does.
enum class TrainingType { kNlu = 1, kCore = 2, kBoth = 3, kEndToEnd = 4 };

// "NLU", "CORE", "BOTH", "END_TO_END".
const char* TrainingTypeName(TrainingType type);

// SPEC §1.2 steps 2–5 for `train`: what a full training of `project` trains.
struct TrainingPlan {
  TrainingType type = TrainingType::kBoth;
  // False when there are neither stories nor pure NLU data: `train` returns
  // code 1 with "No training data given. ...".
  bool has_training_data = true;
  // The warnings Rasa prints for the decision, in order (e.g. "No stories
  // present. Just a Rasa NLU model will be trained.").
  std::vector<std::string> messages;
};

TrainingPlan PlanTraining(const Project& project);

// Slots set by `slot_was_set` events in stories and rules (including inside
// `or` and rule conditions; checkpoint conditions are not events) that the
// domain does not define (SPEC §3), each with every place it is set.
std::map<std::string, std::vector<util::SourceLocation>> FindUnresolvedSlots(const Project& project);

}  // namespace trainyard::data
