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

// Rasa 3's report (sklearn's classification_report(output_dict=True) with
// labels= the gold ones, completed): per label precision, recall, f1-score and
// support, then "accuracy" (over every example), "micro avg", "macro avg" and
// "weighted avg". Labels are those seen in gold, sorted, minus `excluded`; a
// label only ever predicted has no row and lowers no label's precision.
nlohmann::ordered_json ClassificationReport(const std::vector<std::string>& gold,
                                            const std::vector<std::string>& predicted,
                                            const std::set<std::string>& excluded = {});

// Adds Rasa's "confused_with" to each label of `report`: the (up to three)
// labels predicted most often instead of it, with counts.
void AddConfusedWith(nlohmann::ordered_json& report, const std::vector<std::string>& gold,
                     const std::vector<std::string>& predicted);

// True and false positives, false negatives and support of one label.
struct ScoreCounts {
  double tp = 0, fp = 0, fn = 0, support = 0;
};

// One extractor's entity predictions over the test examples: every token's
// gold and predicted entity label (Rasa's token-level report is computed from
// them), the exact-span counts per entity type, and Rasa's lists of the
// examples it got wrong (a token's label differs) and right (a token of an
// entity has its label).
struct EntityScoring {
  std::vector<std::string> gold_tokens, predicted_tokens;
  std::map<std::string, ScoreCounts> spans;
  nlohmann::ordered_json errors = nlohmann::ordered_json::array();     // <Extractor>_errors.json
  nlohmann::ordered_json successes = nlohmann::ordered_json::array();  // <Extractor>_successes.json
};

struct NluEvaluation {
  size_t examples = 0;
  double intent_accuracy = 0;
  nlohmann::ordered_json intent_report;                        // intent_report.json
  nlohmann::ordered_json intent_errors = nlohmann::ordered_json::array();  // intent_errors.json
  nlohmann::ordered_json intent_successes =
      nlohmann::ordered_json::array();            // intent_successes.json
  std::map<std::string, EntityScoring> entities;  // per extractor ("DIETClassifier", ...)
  // Per extractor: Rasa's token-level report (<Extractor>_report.json) and
  // trainyard's exact-span scores.
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
  nlohmann::ordered_json response_successes = nlohmann::ordered_json::array();
};

// The extractors of a model's NLU pipeline (entity-extracting components).
std::vector<std::string> EntityExtractors(const Model& model);

// Predicts every intent example of `test` with `model` and scores it.
NluEvaluation EvaluateNlu(const Model& model, const data::TrainingData& test);

// Adds one fold's predictions and entity scoring to `pooled` (cross-validation);
// the reports are then computed anew with ScoreNlu.
void Pool(NluEvaluation& pooled, const NluEvaluation& fold);

// Computes the reports, errors and successes of `e` from its prediction lines
// and entity scoring: intents (examples, accuracy, report with confused_with),
// response selection (the lines with "intent_response_key_target") and each
// extractor's token-level and exact-span reports.
void ScoreNlu(NluEvaluation& e);

// Which of Rasa's prediction lists are written: `rasa test nlu` writes the
// errors unless --no-errors, the successes with --successes.
struct NluReportFiles {
  bool errors = true;
  bool successes = false;
};

// Writes intent_report.json, <Extractor>_report.json, entity_span_report.json,
// response_selection_report.json (with response examples),
// nlu_predictions.jsonl and, as `files` says, intent_errors.json,
// <Extractor>_errors.json and response_selection_errors.json, and the
// matching *_successes.json, into `out` (created).
void WriteNluEvaluation(const NluEvaluation& evaluation, const std::filesystem::path& out,
                        const NluReportFiles& files = {});

// Reads NLU test data (YAML or Rasa JSON files, or directories of them).
// Throws util::InvalidDataError with file:line details.
data::TrainingData ReadNluTestData(const std::vector<std::filesystem::path>& paths);

}  // namespace trainyard::training
