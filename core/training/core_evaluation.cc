#include "core/training/core_evaluation.h"

#include <fstream>
#include <map>
#include <set>

#include "core/data/data_files.h"
#include "core/data/story_graph.h"
#include "core/data/story_reader.h"
#include "core/policy/trackers.h"
#include "core/training/nlu_evaluation.h"
#include "core/util/errors.h"
#include "core/util/fs.h"

namespace fs = std::filesystem;

namespace trainyard::training {
namespace {

using data::EventType;
using data::StoryEvent;
using Json = nlohmann::ordered_json;

// A YAML scalar: plain when that is unambiguous, else JSON-quoted (valid YAML).
std::string Scalar(const std::string& s) {
  bool plain = !s.empty();
  for (char c : s)
    plain &= std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '/' || c == '.';
  return plain ? s : Json(s).dump();
}

std::string Comment(const std::string& predicted) { return "  # predicted: " + predicted; }

// One story step as YAML (two-space list items under `steps:`).
std::string StepYaml(const StoryEvent& e, const std::string& comment) {
  switch (e.type) {
    case EventType::kUser: {
      std::string out;
      if (!e.name.empty()) out += "  - intent: " + Scalar(e.name) + comment + "\n";
      if (!e.text.empty()) out += std::string(e.name.empty() ? "  - " : "    ") + "user: " + Json(e.text).dump() +
                                  (e.name.empty() ? comment : "") + "\n";
      if (!e.entities.empty()) {
        out += "    entities:\n";
        for (const auto& a : e.entities) out += "    - " + Scalar(a.entity) + ": " + a.value.dump() + "\n";
      }
      return out;
    }
    case EventType::kAction:
      if (e.name.empty()) return "  - bot: " + Json(e.text).dump() + comment + "\n";
      return "  - action: " + Scalar(e.name) + comment + "\n";
    case EventType::kSlotSet:
      return "  - slot_was_set:\n    - " + Scalar(e.name) + ": " + (e.bare_slot ? Json("filled") : e.value).dump() + "\n";
    case EventType::kActiveLoop:
      return "  - active_loop: " + (e.name.empty() ? std::string("null") : Scalar(e.name)) + "\n";
    default:
      return "";
  }
}

data::EntityAnnotation EntityFromParse(const Json& p) {
  data::EntityAnnotation a;
  a.entity = p.value("entity", "");
  a.start = p.value("start", 0);
  a.end = p.value("end", 0);
  a.value = p.value("value", Json());
  a.role = p.value("role", "");
  a.group = p.value("group", "");
  return a;
}

}  // namespace

data::StoryData ReadTestStories(const std::vector<fs::path>& paths) {
  util::Diagnostics diagnostics;
  for (const auto& p : paths)
    if (!fs::exists(p)) throw util::NotFoundError("The test stories '" + p.string() + "' do not exist.");
  data::StoryData all;
  for (const data::DataFile& f : data::FindDataFiles(paths, diagnostics)) {
    if (!(f.kinds & data::kStoryFile)) continue;
    all.Merge(data::ParseStories(util::ReadFile(f.path), f.path, diagnostics, true));
  }
  if (diagnostics.has_errors()) throw util::InvalidDataError(diagnostics.errors());
  if (all.story_count == 0) {
    std::string list;
    for (const auto& p : paths) list += (list.empty() ? "" : ", ") + p.string();
    throw util::InvalidDataError({}, "No test stories found in " + list + ".");
  }
  return all;
}

CoreEvaluation EvaluateCore(const Model& model, const data::StoryData& stories) {
  util::Diagnostics ignored;
  const data::StoryGraph graph = data::StoryGraph::Build(stories, ignored);
  const Json& domain = model.metadata().domain;
  std::vector<policy::TrainingTracker> trackers = policy::GenerateTrackers(graph, domain, {});
  const int type = model.metadata().training_type;
  const bool has_nlu = type == 1 || type == 3 || type == 4;

  // Parse every user text once, in one run of the NLU graph.
  std::map<std::string, Json> parses;
  if (has_nlu) {
    std::set<std::string> texts;
    for (const auto& t : trackers)
      for (const StoryEvent& e : t.events)
        if (e.type == EventType::kUser && !e.text.empty()) texts.insert(e.text);
    const std::vector<std::string> list(texts.begin(), texts.end());
    if (!list.empty()) {
      const auto parsed = model.ParseAll(list);
      for (size_t i = 0; i < list.size(); ++i) parses[list[i]] = parsed[i].parse;
    }
  }

  CoreEvaluation ev;
  std::vector<std::string> gold_actions, predicted_actions;
  std::string failed_yaml, warnings_yaml;
  for (const policy::TrainingTracker& tracker : trackers) {
    if (tracker.is_rule) continue;
    const std::vector<StoryEvent> events = policy::ExplicitEvents(tracker.events, true);
    std::vector<StoryEvent> so_far;
    policy::DialogueTracker state(domain);
    bool failed = false, warned = false;
    std::string steps;
    std::string file;
    for (size_t i = 0; i < events.size(); ++i) {
      StoryEvent e = events[i];
      if (file.empty() && !e.location.file.empty()) file = e.location.file;
      const bool listen = e.type == EventType::kAction && e.name == policy::kActionListen;
      if (i == 0 && e.type == EventType::kAction) {  // the conversation's first action is not predicted
        if (!listen) steps += StepYaml(e, "");
        so_far.push_back(e);
        state.Apply(e);
        continue;
      }
      std::string comment;
      if (e.type == EventType::kUser && !e.text.empty() && has_nlu) {
        const Json& p = parses[e.text];
        std::string predicted;
        if (p.contains("intent") && p["intent"].is_object() && p["intent"].value("name", Json()).is_string())
          predicted = p["intent"]["name"].get<std::string>();
        if (e.name.empty()) {
          e.name = predicted;
          if (p.contains("entities"))
            for (const Json& x : p["entities"]) e.entities.push_back(EntityFromParse(x));
        } else if (predicted != e.name) {
          failed = true;
          comment = Comment((predicted.empty() ? std::string("None") : predicted) + ": " + e.text);
        }
      } else if (e.type == EventType::kAction) {
        const std::string gold = e.name.empty() ? e.text : e.name;
        std::string predicted = model.PredictNextAction(so_far)["action"].get<std::string>();
        if (predicted == policy::kActionUnlikelyIntent && gold != predicted) {
          // UnexpecTEDIntentPolicy found the user's turn unlikely: a warning;
          // the policies then look through it, as in Rasa's evaluation.
          warned = true;
          steps += "  - action: " + std::string(policy::kActionUnlikelyIntent) + Comment(predicted) + "\n";
          StoryEvent unlikely;
          unlikely.type = EventType::kAction;
          unlikely.name = policy::kActionUnlikelyIntent;
          so_far.push_back(unlikely);
          predicted = model.PredictNextAction(so_far)["action"].get<std::string>();
        }
        if (!state.active_loop().empty() && predicted == state.active_loop() && gold != predicted) {
          StoryEvent rejected;
          rejected.type = EventType::kActionRejected;
          rejected.name = state.active_loop();
          so_far.push_back(rejected);
          state.Apply(rejected);
          predicted = model.PredictNextAction(so_far)["action"].get<std::string>();
        }
        gold_actions.push_back(gold);
        predicted_actions.push_back(predicted);
        ++ev.actions;
        if (predicted == gold) {
          ++ev.correct_actions;
        } else {
          failed = true;
          comment = Comment(predicted);
        }
      }
      if (!listen || !comment.empty()) steps += StepYaml(e, comment);
      so_far.push_back(e);
      state.Apply(e);
    }
    ++ev.stories;
    const std::string story_yaml =
        "- story: " + Json(tracker.name + (file.empty() ? "" : " (" + file + ")")).dump() + "\n  steps:\n" + steps;
    if (warned && !failed) {
      ++ev.stories_with_warnings;
      warnings_yaml += story_yaml;
    }
    if (!failed) {
      ++ev.correct_stories;
      continue;
    }
    ev.failed_story_names.push_back(tracker.name);
    failed_yaml += story_yaml;
  }
  ev.story_report = ClassificationReport(gold_actions, predicted_actions);
  AddConfusedWith(ev.story_report, gold_actions, predicted_actions);
  ev.story_report["conversation_accuracy"] = {
      {"accuracy", ev.stories ? static_cast<double>(ev.correct_stories) / ev.stories : 0.0},
      {"correct", ev.correct_stories},
      {"with_warnings", ev.stories_with_warnings},
      {"total", ev.stories}};
  ev.failed_stories = failed_yaml.empty() ? "# None of the test stories failed - all good!\n"
                                          : "version: \"3.1\"\nstories:\n" + failed_yaml;
  ev.stories_with_warnings_yaml = warnings_yaml.empty() ? "# None of the test stories have warnings.\n"
                                                        : "version: \"3.1\"\nstories:\n" + warnings_yaml;
  return ev;
}

void WriteCoreEvaluation(const CoreEvaluation& evaluation, const fs::path& out) {
  fs::create_directories(out);
  util::WriteFileAtomic(out / "story_report.json", evaluation.story_report.dump(2) + "\n");
  util::WriteFileAtomic(out / "failed_test_stories.yml", evaluation.failed_stories);
  util::WriteFileAtomic(out / "stories_with_warnings.yml", evaluation.stories_with_warnings_yaml);
}

}  // namespace trainyard::training
