#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/util/diagnostics.h"

namespace trainyard::data {

using Json = nlohmann::ordered_json;

// An entity annotated in a training example. Offsets count Unicode code
// points in the plain text, as Rasa's (Python) offsets do.
struct EntityAnnotation {
  int start = 0;
  int end = 0;
  std::string entity;
  Json value;  // usually the annotated text, or the synonym value
  std::string role;
  std::string group;

  bool operator==(const EntityAnnotation& o) const {
    return start == o.start && end == o.end && entity == o.entity && value == o.value &&
           role == o.role && group == o.group;
  }
};

// Where a message came from; only kNluFile examples are "pure" NLU data.
enum class MessageOrigin { kNluFile, kStory, kDomain };

// One training message: an NLU example (text + intent), or a message derived
// from stories (user text / intent / action name / bot text).
struct Message {
  std::string text;           // plain text, annotations removed
  std::string intent;         // "faq" for a retrieval example "faq/ask_name"
  std::string intent_response_key;  // "faq/ask_name", or empty
  std::vector<EntityAnnotation> entities;
  Json metadata;              // {"intent": ..., "example": ...} when given
  std::string action_name;    // story-derived action messages
  std::string action_text;    // `bot:` text
  MessageOrigin origin = MessageOrigin::kNluFile;
  util::SourceLocation location;

  // The full intent of a multi-intent example "a+b" splits into {"a", "b"}.
  bool is_multi_intent() const { return intent.find('+') != std::string::npos; }
};

struct RegexFeature {
  std::string name;
  std::string pattern;
  util::SourceLocation location;
};

struct LookupTable {
  std::string name;
  std::vector<std::string> elements;
  util::SourceLocation location;
};

// Response variations keyed by response name (`utter_greet`, `utter_faq/ask_name`).
// Each variation is kept as data: text, buttons, custom payloads, conditions, channel.
struct ResponseDefinition {
  std::vector<Json> variations;
  util::SourceLocation location;
};
using Responses = std::map<std::string, ResponseDefinition>;

// NLU training data: what `nlu:` sections (and `responses:` in NLU files) hold.
struct TrainingData {
  std::vector<Message> examples;
  std::map<std::string, std::string> synonyms;  // text → value
  std::vector<RegexFeature> regexes;
  std::vector<LookupTable> lookups;
  Responses responses;

  // Appends `other`; conflicting synonyms are reported as warnings.
  void Merge(const TrainingData& other, util::Diagnostics& diagnostics);

  // Examples that carry an intent (i.e. are NLU examples, not action messages).
  std::vector<const Message*> IntentExamples() const;
  std::set<std::string> Intents() const;
  std::set<std::string> RetrievalIntents() const;
  std::set<std::string> Entities() const;
  std::set<std::string> EntityRoles() const;
  std::set<std::string> EntityGroups() const;
  size_t EntityAnnotationCount() const;
  // True when there is anything NLU training can use from NLU files: examples,
  // synonyms, regexes or lookup tables (SPEC §1.2 "pure NLU data").
  bool HasPureNluData() const;
  bool empty() const {
    return examples.empty() && synonyms.empty() && regexes.empty() && lookups.empty() &&
           responses.empty();
  }
};

// Records synonym `text` → `value`, warning when `text` already maps elsewhere.
void AddSynonym(std::map<std::string, std::string>& synonyms, const std::string& text,
                const std::string& value, const util::SourceLocation& where,
                util::Diagnostics& diagnostics);

}  // namespace trainyard::data
