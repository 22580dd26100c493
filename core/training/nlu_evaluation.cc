#include "core/training/nlu_evaluation.h"

#include <algorithm>
#include <fstream>

#include "core/data/data_files.h"
#include "core/data/nlu_reader.h"
#include "core/util/errors.h"
#include "core/util/fs.h"
#include "core/util/strings.h"

namespace trainyard::training {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kNoEntity = "no_entity";

using Counts = ScoreCounts;

Json Scores(const Counts& c) {
  const double p = c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : 0.0;
  const double r = c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : 0.0;
  return {{"precision", p}, {"recall", r}, {"f1-score", p + r > 0 ? 2 * p * r / (p + r) : 0.0},
          {"support", static_cast<int64_t>(c.support)}};
}

// The label of each token: the entity whose span overlaps it, else no_entity.
std::vector<std::string> TokenLabels(const std::vector<std::pair<int, int>>& tokens, const Json& entities) {
  std::vector<std::string> labels(tokens.size(), kNoEntity);
  for (size_t t = 0; t < tokens.size(); ++t)
    for (const Json& e : entities)
      if (tokens[t].first < e["end"].get<int>() && tokens[t].second > e["start"].get<int>()) {
        labels[t] = e["entity"].get<std::string>();
        break;
      }
  return labels;
}

Json EntityJson(const data::EntityAnnotation& e, const std::string& text) {
  const std::u32string cps = util::DecodeUtf8(text);
  Json j = {{"start", e.start}, {"end", e.end}, {"entity", e.entity}};
  if (!e.role.empty()) j["role"] = e.role;
  if (!e.group.empty()) j["group"] = e.group;
  j["value"] = e.start >= 0 && e.end <= static_cast<int>(cps.size()) && e.start <= e.end
                   ? Json(util::EncodeUtf8(std::u32string_view(cps).substr(e.start, e.end - e.start)))
                   : e.value;
  return j;
}

// The response a ResponseSelector chose for `intent` in a parse: the selector
// trained for that retrieval intent, else the "default" one (Rasa's lookup).
// Returns {name, confidence}, name null when no selector answered.
Json SelectedResponse(const Json& parse, const std::string& intent) {
  const Json& selectors = parse.contains("response_selector") ? parse["response_selector"] : Json::object();
  const Json& retrieval = selectors.value("all_retrieval_intents", Json::array());
  const bool own = std::find(retrieval.begin(), retrieval.end(), Json(intent)) != retrieval.end() && selectors.contains(intent);
  const Json& selector = own ? selectors[intent] : selectors.value("default", Json::object());
  const Json& response = selector.value("response", Json::object());
  return {{"name", response.value("intent_response_key", Json(nullptr))},
          {"confidence", response.value("confidence", 0.0)}};
}

}  // namespace

Json ClassificationReport(const std::vector<std::string>& gold,
                          const std::vector<std::string>& predicted,
                          const std::set<std::string>& excluded) {
  std::set<std::string> labels(gold.begin(), gold.end());
  for (const std::string& x : excluded) labels.erase(x);
  std::map<std::string, Counts> counts;
  Counts micro;
  size_t correct = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    const bool gold_in = labels.count(gold[i]) > 0, pred_in = labels.count(predicted[i]) > 0;
    if (gold_in) ++counts[gold[i]].support, ++micro.support;
    if (gold[i] == predicted[i]) {
      ++correct;
      if (gold_in) ++counts[gold[i]].tp, ++micro.tp;
      continue;
    }
    if (pred_in) ++counts[predicted[i]].fp, ++micro.fp;
    if (gold_in) ++counts[gold[i]].fn, ++micro.fn;
  }
  Json report = Json::object();
  Json macro = {{"precision", 0.0}, {"recall", 0.0}, {"f1-score", 0.0}};
  Json weighted = macro;
  for (const std::string& label : labels) {
    const Json s = Scores(counts[label]);
    report[label] = s;
    for (const char* k : {"precision", "recall", "f1-score"}) {
      macro[k] = macro[k].get<double>() + s[k].get<double>() / static_cast<double>(labels.size());
      if (micro.support > 0)
        weighted[k] = weighted[k].get<double>() + s[k].get<double>() * counts[label].support / micro.support;
    }
  }
  macro["support"] = weighted["support"] = static_cast<int64_t>(micro.support);
  report["accuracy"] =
      gold.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(gold.size());
  report["micro avg"] = Scores(micro);
  report["macro avg"] = macro;
  report["weighted avg"] = weighted;
  return report;
}

void AddConfusedWith(Json& report, const std::vector<std::string>& gold, const std::vector<std::string>& predicted) {
  std::map<std::string, std::map<std::string, int>> confused;
  for (size_t i = 0; i < gold.size() && i < predicted.size(); ++i)
    if (gold[i] != predicted[i]) ++confused[gold[i]][predicted[i]];
  for (auto& [label, scores] : report.items()) {
    if (!scores.is_object() || label == "macro avg" || label == "weighted avg" || label == "micro avg") continue;
    Json with = Json::object();
    std::vector<std::pair<int, std::string>> order;
    for (const auto& [other, n] : confused[label]) order.emplace_back(-n, other);
    std::sort(order.begin(), order.end());
    for (size_t k = 0; k < order.size() && k < 3; ++k) with[order[k].second] = -order[k].first;
    scores["confused_with"] = with;
  }
}

std::vector<std::string> EntityExtractors(const Model& model) {
  static const std::set<std::string> kExtractors = {"DIETClassifier",         "CRFEntityExtractor",
                                                    "RegexEntityExtractor",   "DucklingEntityExtractor",
                                                    "MitieEntityExtractor",   "SpacyEntityExtractor"};
  std::set<std::string> found;
  const Json& nodes = model.metadata().predict_schema.value("nodes", Json::object());
  for (const auto& [name, node] : nodes.items()) {
    std::string uses = node.value("uses", std::string());
    uses = uses.substr(uses.rfind('.') + 1);
    if (!kExtractors.count(uses)) continue;
    const Json& config = node.value("config", Json::object());
    if (uses == "DIETClassifier" && config.contains("entity_recognition") && config["entity_recognition"] == false)
      continue;
    found.insert(uses);
  }
  return {found.begin(), found.end()};
}

NluEvaluation EvaluateNlu(const Model& model, const data::TrainingData& test) {
  NluEvaluation e;
  std::vector<const data::Message*> examples;
  std::vector<std::string> texts;
  for (const data::Message& m : test.examples)
    if (!m.intent.empty() && !m.text.empty()) {
      examples.push_back(&m);
      texts.push_back(m.text);
    }
  e.examples = examples.size();
  const std::vector<Model::Parsed> parsed = model.ParseAll(texts);
  const std::vector<std::string> extractors = EntityExtractors(model);

  const bool selects = std::any_of(parsed.begin(), parsed.end(), [](const Model::Parsed& p) {
    return p.parse.contains("response_selector");
  });
  for (size_t i = 0; i < examples.size(); ++i) {
    const data::Message& m = *examples[i];
    const Json& p = parsed[i].parse;
    const Json& intent = p["intent"];
    const std::string predicted = intent.is_object() && intent["name"].is_string() ? intent["name"].get<std::string>()
                                                                                   : "None";
    const double confidence = intent.is_object() && intent["confidence"].is_number()
                                  ? intent["confidence"].get<double>()
                                  : 0.0;
    Json gold_entities = Json::array();
    for (const data::EntityAnnotation& a : m.entities) gold_entities.push_back(EntityJson(a, m.text));
    Json predicted_entities = Json::array();
    for (const Json& pe : p["entities"]) {
      Json x = {{"start", pe.value("start", 0)}, {"end", pe.value("end", 0)}, {"entity", pe.value("entity", "")}};
      for (const char* k : {"role", "group"})
        if (pe.contains(k)) x[k] = pe[k];
      x["value"] = pe.value("value", Json(nullptr));
      x["extractor"] = pe.value("extractor", "");
      if (pe.contains("confidence_entity")) x["confidence"] = pe["confidence_entity"];
      predicted_entities.push_back(x);
    }
    const std::vector<std::string> gold_labels = TokenLabels(parsed[i].tokens, gold_entities);
    for (const std::string& extractor : extractors) {
      EntityScoring& scoring = e.entities[extractor];
      Json mine = Json::array();
      for (const Json& pe : predicted_entities)
        if (pe["extractor"] == extractor) mine.push_back(pe);
      const std::vector<std::string> labels = TokenLabels(parsed[i].tokens, mine);
      scoring.gold_tokens.insert(scoring.gold_tokens.end(), gold_labels.begin(), gold_labels.end());
      scoring.predicted_tokens.insert(scoring.predicted_tokens.end(), labels.begin(), labels.end());
      // Rasa's lists: wrong where any token's label differs; right where a
      // token of a gold entity has its label.
      bool wrong = false, right = false;
      for (size_t t = 0; t < labels.size(); ++t) {
        wrong = wrong || labels[t] != gold_labels[t];
        right = right || (labels[t] == gold_labels[t] && gold_labels[t] != kNoEntity);
      }
      const Json listed = {{"text", m.text},
                           {"entities", gold_entities},
                           {"predicted_entities", predicted_entities}};
      if (wrong) scoring.errors.push_back(listed);
      if (right) scoring.successes.push_back(listed);
      // Exact spans: same start, end and entity type.
      std::set<std::tuple<int, int, std::string>> gold_set, pred_set;
      for (const Json& x : gold_entities) gold_set.emplace(x["start"], x["end"], x["entity"]);
      for (const Json& x : mine) pred_set.emplace(x["start"], x["end"], x["entity"]);
      auto& c = scoring.spans;
      for (const auto& s : gold_set) {
        ++c[std::get<2>(s)].support;
        if (pred_set.count(s)) ++c[std::get<2>(s)].tp;
        else ++c[std::get<2>(s)].fn;
      }
      for (const auto& s : pred_set)
        if (!gold_set.count(s)) ++c[std::get<2>(s)].fp;
    }
    Json line = {{"text", m.text},
                 {"intent", m.intent},
                 {"intent_prediction", {{"name", predicted}, {"confidence", confidence}}},
                 {"entities", gold_entities},
                 {"predicted_entities", predicted_entities}};
    if (selects && !m.intent_response_key.empty()) {
      const Json response = SelectedResponse(p, m.intent);
      const std::string name = response["name"].is_string() ? response["name"].get<std::string>() : "None";
      line["intent_response_key_target"] = m.intent_response_key;
      line["intent_response_key_prediction"] = response;
    }
    e.predictions.push_back(std::move(line));
  }
  for (const std::string& extractor : extractors)
    e.entities[extractor];  // listed even without test tokens
  ScoreNlu(e);
  return e;
}

void Pool(NluEvaluation& pooled, const NluEvaluation& fold) {
  pooled.predictions.insert(pooled.predictions.end(), fold.predictions.begin(),
                            fold.predictions.end());
  for (const auto& [extractor, scoring] : fold.entities) {
    EntityScoring& into = pooled.entities[extractor];
    into.gold_tokens.insert(into.gold_tokens.end(), scoring.gold_tokens.begin(),
                            scoring.gold_tokens.end());
    into.predicted_tokens.insert(into.predicted_tokens.end(), scoring.predicted_tokens.begin(),
                                 scoring.predicted_tokens.end());
    for (const auto& [entity, c] : scoring.spans) {
      Counts& total = into.spans[entity];
      total.tp += c.tp, total.fp += c.fp, total.fn += c.fn, total.support += c.support;
    }
    for (const Json& x : scoring.errors) into.errors.push_back(x);
    for (const Json& x : scoring.successes) into.successes.push_back(x);
  }
}

void ScoreNlu(NluEvaluation& e) {
  // Intents.
  std::vector<std::string> gold, predicted;
  e.intent_errors = Json::array();
  e.intent_successes = Json::array();
  for (const Json& line : e.predictions) {
    gold.push_back(line["intent"].get<std::string>());
    predicted.push_back(line["intent_prediction"]["name"].get<std::string>());
    const Json listed = {{"text", line["text"]},
                         {"intent", line["intent"]},
                         {"intent_prediction", line["intent_prediction"]}};
    (predicted.back() == gold.back() ? e.intent_successes : e.intent_errors).push_back(listed);
  }
  e.examples = gold.size();
  e.intent_report = ClassificationReport(gold, predicted);
  e.intent_accuracy = e.intent_report.value("accuracy", 0.0);
  AddConfusedWith(e.intent_report, gold, predicted);

  // Response selection.
  gold.clear();
  predicted.clear();
  e.response_errors = Json::array();
  e.response_successes = Json::array();
  for (const Json& line : e.predictions) {
    if (!line.contains("intent_response_key_target")) continue;
    const Json& response = line["intent_response_key_prediction"];
    gold.push_back(line["intent_response_key_target"].get<std::string>());
    predicted.push_back(response["name"].is_string() ? response["name"].get<std::string>() : "None");
    (predicted.back() == gold.back() ? e.response_successes : e.response_errors)
        .push_back({{"text", line["text"]},
                    {"intent_response_key_target", gold.back()},
                    {"intent_response_key_prediction", response}});
  }
  e.response_examples = gold.size();
  if (!gold.empty()) {
    e.response_report = ClassificationReport(gold, predicted);
    e.response_accuracy = e.response_report.value("accuracy", 0.0);
    AddConfusedWith(e.response_report, gold, predicted);
  }

  // Entities.
  for (const auto& [extractor, scoring] : e.entities) {
    e.entity_reports[extractor] =
        ClassificationReport(scoring.gold_tokens, scoring.predicted_tokens, {kNoEntity});
    Json report = Json::object();
    Counts total;
    for (const auto& [entity, c] : scoring.spans) {
      report[entity] = Scores(c);
      total.tp += c.tp, total.fp += c.fp, total.fn += c.fn, total.support += c.support;
    }
    report["micro avg"] = Scores(total);
    e.entity_span_reports[extractor] = report;
  }
}

void WriteNluEvaluation(const NluEvaluation& e, const std::filesystem::path& out,
                        const NluReportFiles& files) {
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) throw util::Error(util::ErrorCode::kInternal, "Cannot create '" + out.string() + "': " + ec.message());
  auto write = [&](const std::string& name, const Json& json) {
    util::WriteFileAtomic(out / name, json.dump(2) + "\n");
  };
  // A list of predictions: `<prefix>_errors.json` / `<prefix>_successes.json`, as asked.
  auto lists = [&](const std::string& prefix, const Json& errors, const Json& successes) {
    if (files.errors) write(prefix + "_errors.json", errors);
    if (files.successes) write(prefix + "_successes.json", successes);
  };
  write("intent_report.json", e.intent_report);
  lists("intent", e.intent_errors, e.intent_successes);
  Json spans = Json::object();
  for (const auto& [extractor, report] : e.entity_reports) {
    write(extractor + "_report.json", report);
    const auto scoring = e.entities.find(extractor);
    if (scoring != e.entities.end())
      lists(extractor, scoring->second.errors, scoring->second.successes);
    spans[extractor] = e.entity_span_reports.at(extractor);
  }
  if (!spans.empty()) write("entity_span_report.json", spans);
  if (e.response_examples > 0) {
    write("response_selection_report.json", e.response_report);
    lists("response_selection", e.response_errors, e.response_successes);
  }
  std::string lines;
  for (const Json& p : e.predictions) lines += p.dump() + "\n";
  util::WriteFileAtomic(out / "nlu_predictions.jsonl", lines);
}

data::TrainingData ReadNluTestData(const std::vector<std::filesystem::path>& paths) {
  util::Diagnostics diagnostics;
  for (const auto& p : paths)
    if (!std::filesystem::exists(p)) throw util::NotFoundError("The NLU test data '" + p.string() + "' does not exist.");
  const std::vector<data::DataFile> files = data::FindDataFiles(paths, diagnostics);
  data::TrainingData all;
  for (const data::DataFile& f : files) {
    if (!(f.kinds & data::kNluFile)) continue;
    const std::string text = util::ReadFile(f.path);
    data::TrainingData one = (f.kinds & data::kJsonNluFile) ? data::ParseNluJson(text, f.path, diagnostics)
                                                            : data::ParseNluYaml(text, f.path, diagnostics);
    all.Merge(one, diagnostics);
  }
  if (diagnostics.has_errors()) throw util::InvalidDataError(diagnostics.errors());
  if (all.IntentExamples().empty()) {
    std::string list;
    for (const auto& p : paths) list += (list.empty() ? "" : ", ") + p.string();
    throw util::InvalidDataError({}, "No NLU examples with intents found in " + list + ".");
  }
  return all;
}

}  // namespace trainyard::training
