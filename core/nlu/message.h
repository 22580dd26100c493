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
  // The intent's parts when the tokenizer splits intents (intent_tokenization_flag,
  // at intent_split_symbol): `alarm_query` -> alarm, query. Empty otherwise.
  std::vector<std::string> intent_tokens;
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

// The `text` features of one type, featurizer by featurizer: (origin, width)
// in origin order. Models concatenate the featurizers' columns in this order.
// With `featurizers` (DIET's option of that name), only the features of the
// featurizers of those names (Features::Name) count; empty: all.
using FeatureLayout = std::vector<std::pair<std::string, int>>;
FeatureLayout TextFeatureLayout(const std::vector<const NluMessage*>& messages, FeatureType type,
                                const std::vector<std::string>& featurizers = {});

// Row `row` of the message's `text` features of `type`, concatenated in
// `layout` order, as (column, value) pairs appended to `out`. Featurizers the
// message lacks (or has empty) contribute nothing; columns beyond a layout
// width are dropped.
// Throws util::Error (internal) when a featurizer has no such row.
void AppendTextFeatureRow(const NluMessage& message, const FeatureLayout& layout, FeatureType type, int row,
                          std::vector<std::pair<int64_t, float>>& out);

// The message's annotated entities that do not start at a token's start and
// end at a token's end (Rasa's "misaligned entity annotation"): such an
// entity is learned from the tokens it overlaps, which is rarely what was meant.
std::vector<const data::EntityAnnotation*> MisalignedEntities(const NluMessage& message);

// Warnings for the misaligned entities of `messages` (see above), one per
// message, as Rasa warns, with the example's file:line: the first `limit`,
// then one that counts the rest.
std::vector<std::string> MisalignedEntityWarnings(const std::vector<const NluMessage*>& messages,
                                                  size_t limit = 10);

// Rasa's parse result for a message: text, intent, entities, intent_ranking,
// response_selector.
Json ParseResult(const NluMessage& message);

}  // namespace trainyard::nlu
