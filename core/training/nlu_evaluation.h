#pragma once

// NLU evaluation as `rasa test nlu` reports it: intent and entity
// classification reports, the misclassified intents, and one prediction line
// per test example.

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/data/training_data.h"
#include "core/training/model.h"

namespace trainyard::training {

// scikit-learn's classification_report(output_dict=True): per label
// precision, recall, f1-score and support, then "accuracy" (or "micro avg"
// when labels are excluded), "macro avg" and "weighted avg". Labels are those
// seen in gold or predicted, sorted, minus `excluded`.
nlohmann::ordered_json ClassificationReport(const std::vector<std::string>& gold,
                                            const std::vector<std::string>& predicted,
                                            const std::set<std::string>& excluded = {});

// Adds Rasa's "confused_with" to each label of `report`: the (up to three)
// labels predicted most often instead of it, with counts.
void AddConfusedWith(nlohmann::ordered_json& report, const std::vector<std::string>& gold,
                     const std::vector<std::string>& predicted);

struct NluEvaluation {
  size_t examples = 0;
  double intent_accuracy = 0;
  nlohmann::ordered_json intent_report;                        // intent_report.json
  nlohmann::ordered_json intent_errors = nlohmann::ordered_json::array();  // intent_errors.json
  // Per extractor ("DIETClassifier", ...): Rasa's token-level report
  // (<Extractor>_report.json) and trainyard's exact-span scores.
  std::map<std::string, nlohmann::ordered_json> entity_reports;
  std::map<std::string, nlohmann::ordered_json> entity_span_reports;
  std::vector<nlohmann::ordered_json> predictions;  // nlu_predictions.jsonl
  // Response selection (models with a ResponseSelector): the examples of
  // retrieval intents, their full keys ("faq/ask_name") against the
  // selector's; response_selection_report.json / _errors.json.
  size_t response_examples = 0;
  double response_accuracy = 0;
  nlohmann::ordered_json response_report;
  nlohmann::ordered_json response_errors = nlohmann::ordered_json::array();
};

// The extractors of a model's NLU pipeline (entity-extracting components).
std::vector<std::string> EntityExtractors(const Model& model);

// Predicts every intent example of `test` with `model` and scores it.
NluEvaluation EvaluateNlu(const Model& model, const data::TrainingData& test);

// Fills the response selection fields of `e` from its prediction lines (those
// with "intent_response_key_target"), e.g. after pooling folds.
void ScoreResponses(NluEvaluation& e);

// Writes intent_report.json, intent_errors.json, <Extractor>_report.json,
// entity_span_report.json, response_selection_report.json and
// response_selection_errors.json (with response examples) and
// nlu_predictions.jsonl into `out` (created).
void WriteNluEvaluation(const NluEvaluation& evaluation, const std::filesystem::path& out);

// Reads NLU test data (YAML or Rasa JSON files, or directories of them).
// Throws util::InvalidDataError with file:line details.
data::TrainingData ReadNluTestData(const std::vector<std::filesystem::path>& paths);

}  // namespace trainyard::training
