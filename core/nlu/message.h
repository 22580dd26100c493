#pragma once

// What flows through the NLU part of the graphs: messages with their tokens
// and, at prediction time, what the components predicted. libtorch-free.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/data/training_data.h"
#include "core/nlu/features.h"

namespace trainyard::nlu {

using Json = nlohmann::ordered_json;

struct Token {
  std::string text;
  int start = 0;  // code point offsets in the message text, as Rasa's
  int end = 0;
};

struct NluMessage {
  data::Message data;         // text, gold intent and entities (training)
  std::vector<Token> tokens;  // set by the tokenizer
  std::vector<Features> features;  // set by featurizers
  // Predictions (parse): Rasa's output shapes.
  Json intent = nullptr;                  // {"name": ..., "confidence": ...}
  Json intent_ranking = Json::array();
  Json entities = Json::array();
  Json response_selector = Json::object();
};

// The training data of the NLU pipeline: the imported data plus one message
// per example. Immutable once built; processors make modified copies.
struct NluTrainingData {
  data::TrainingData data;
  std::vector<NluMessage> messages;
};

using NluTrainingDataPtr = std::shared_ptr<const NluTrainingData>;
using NluMessagesPtr = std::shared_ptr<const std::vector<NluMessage>>;

// Rasa's parse result for a message: text, intent, entities, intent_ranking,
// response_selector.
Json ParseResult(const NluMessage& message);

}  // namespace trainyard::nlu
