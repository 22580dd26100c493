#pragma once

// A trained model loaded from its archive, ready to run its predict graph.
// Parse() may be called from several threads at once.

#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/data/story.h"
#include "core/graph/schema.h"
#include "core/storage/archive.h"
#include "core/storage/model_storage.h"

namespace trainyard::training {

class Model {
 public:
  // Unpacks `archive` into a private temp directory. Throws
  // util::NotFoundError / util::InvalidDataError for a missing, corrupt or
  // foreign archive, util::InvalidConfigError for components this trainyard
  // cannot run.
  static std::unique_ptr<Model> Load(const std::filesystem::path& archive);

  const storage::ModelMetadata& metadata() const { return metadata_; }

  // Rasa's parse output for `text`: text, intent, entities, intent_ranking,
  // response_selector.
  nlohmann::ordered_json Parse(const std::string& text) const;

  // Parses many texts in one run of the predict graph. Each result also
  // lists the tokenizer's tokens as [start, end] code point offsets (for
  // token-level evaluation).
  struct Parsed {
    nlohmann::ordered_json parse;
    std::vector<std::pair<int, int>> tokens;
  };
  std::vector<Parsed> ParseAll(const std::vector<std::string>& texts) const;

  // The next action for a conversation given as its events so far:
  // {"action": name, "confidence": p, "policy": "policy_<i>_<Name>",
  //  "end_to_end": whether TED went by the user's text, "entities": what TED
  //  found in that text ({"entity", "start", "end", "value"}), "hide_rule_turn":
  //  a rule no story has predicted it: pass the action back with
  //  StoryEvent::hide_rule_turn set, so that the story policies look past it}.
  // Throws util::InvalidConfigError for a model trained without policies.
  nlohmann::ordered_json PredictNextAction(const std::vector<data::StoryEvent>& events) const;

 private:
  Model(std::unique_ptr<storage::ModelStorage> storage, storage::ModelMetadata metadata, graph::GraphSchema predict)
      : storage_(std::move(storage)), metadata_(std::move(metadata)), predict_(std::move(predict)) {}

  std::unique_ptr<storage::ModelStorage> storage_;
  storage::ModelMetadata metadata_;
  graph::GraphSchema predict_;
};

// The newest *.tar.gz in `path` when it is a directory, else `path` itself.
// Throws util::NotFoundError when there is none.
std::filesystem::path ResolveModelPath(const std::filesystem::path& path);

}  // namespace trainyard::training
