#pragma once

// Dialogue evaluation as `rasa test core` reports it: every test story is run
// turn by turn through the model; each bot action is predicted from the
// conversation so far and compared with the story's.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/data/story.h"
#include "core/training/model.h"

namespace trainyard::training {

struct CoreEvaluation {
  size_t stories = 0;
  size_t correct_stories = 0;
  size_t stories_with_warnings = 0;
  size_t actions = 0;
  size_t correct_actions = 0;
  nlohmann::ordered_json story_report;  // story_report.json
  std::string failed_stories;           // failed_test_stories.yml
  std::string stories_with_warnings_yaml;  // stories_with_warnings.yml
  std::vector<std::string> failed_story_names;
};

// Reads the stories of every story file under `paths` (files or directories).
// Throws util::NotFoundError for a missing path, util::InvalidDataError for
// bad files or when no test story is found.
data::StoryData ReadTestStories(const std::vector<std::filesystem::path>& paths);

// Runs `stories` through `model`. User turns with text are parsed by the
// model's NLU when it has one: a wrongly predicted intent fails the story,
// and the story goes on with its labelled intent (or with the predicted one
// for text-only turns). When the model predicts the active loop but the story
// continues otherwise, the loop is rejected and the model asked again (as
// Rasa's evaluation does). After a wrong action the story goes on with the
// story's action.
CoreEvaluation EvaluateCore(const Model& model, const data::StoryData& stories);

// Writes story_report.json, failed_test_stories.yml and
// stories_with_warnings.yml into `out` (created).
void WriteCoreEvaluation(const CoreEvaluation& evaluation, const std::filesystem::path& out);

}  // namespace trainyard::training
