#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/data/config.h"
#include "core/data/domain.h"
#include "core/data/story.h"
#include "core/data/story_graph.h"
#include "core/data/training_data.h"
#include "core/util/diagnostics.h"

namespace trainyard::data {

struct ImportOptions {
  // config.yml; a missing file is a warning (defaults apply later) unless
  // `require_config`.
  std::filesystem::path config_path = "config.yml";
  bool require_config = false;
  // A domain file or a directory of domain files; empty = no domain.
  std::filesystem::path domain_path = "domain.yml";
  // Files or directories searched recursively for NLU and story files.
  std::vector<std::filesystem::path> data_paths = {"data"};
  // Training keeps going with an empty domain when the domain cannot be
  // loaded (Rasa's behaviour: a warning, then NLU-only training); validation
  // reports the domain's errors as errors.
  bool lenient_domain = false;
};

// A Rasa project as trainyard sees it after import. Plain data; safe to share
// read-only between threads.
struct Project {
  ProjectConfig config;
  std::string config_text;  // config.yml as read (auto-configuration compares it before writing)
  // The domain as training sees it: the domain files merged, plus retrieval
  // intents / `utter_<intent>` actions / responses from NLU files and the
  // `bot:` texts of stories as e2e actions (SPEC §7.5).
  Domain domain;
  bool domain_loaded = false;  // a domain file was found and read without errors
  TrainingData nlu;            // NLU files only ("pure" NLU data)
  StoryData stories;           // stories and rules from story files
  StoryGraph story_graph;      // `stories` with checkpoints resolved
  std::vector<std::filesystem::path> nlu_files, story_files, domain_files, imported_projects;

  size_t intent_example_count() const { return nlu.IntentExamples().size(); }
};

// Imports a project. Every file is read even after an error, so that one run
// reports all problems; then, if any error was found, throws
// util::InvalidDataError whose details hold every error (with file:line:column).
// Warnings are added to `diagnostics` either way.
Project Import(const ImportOptions& options, util::Diagnostics& diagnostics);

// The names of Rasa's default actions and intents, always part of a domain.
const std::vector<std::string>& DefaultActionNames();
const std::vector<std::string>& DefaultIntentNames();

}  // namespace trainyard::data
