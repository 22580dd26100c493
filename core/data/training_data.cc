#include "core/data/training_data.h"

namespace trainyard::data {

void AddSynonym(std::map<std::string, std::string>& synonyms, const std::string& text,
                const std::string& value, const util::SourceLocation& where,
                util::Diagnostics& diagnostics) {
  auto it = synonyms.find(text);
  if (it != synonyms.end() && it->second != value) {
    diagnostics.Warn(where, "Found inconsistent entity synonyms while reading training data: '" +
                                text + "' was mapped to '" + it->second + "' and is now mapped to '" +
                                value + "'. The last mapping ('" + value + "') is used.");
  }
  synonyms[text] = value;
}

void TrainingData::Merge(const TrainingData& other, util::Diagnostics& diagnostics) {
  examples.insert(examples.end(), other.examples.begin(), other.examples.end());
  for (const auto& [text, value] : other.synonyms) AddSynonym(synonyms, text, value, {}, diagnostics);
  regexes.insert(regexes.end(), other.regexes.begin(), other.regexes.end());
  for (const LookupTable& table : other.lookups) {
    bool merged = false;
    for (LookupTable& existing : lookups) {
      if (existing.name != table.name) continue;
      existing.elements.insert(existing.elements.end(), table.elements.begin(), table.elements.end());
      merged = true;
    }
    if (!merged) lookups.push_back(table);
  }
  for (const auto& [name, response] : other.responses) responses[name] = response;
}

std::vector<const Message*> TrainingData::IntentExamples() const {
  std::vector<const Message*> out;
  for (const Message& m : examples)
    if (!m.intent.empty()) out.push_back(&m);
  return out;
}

std::set<std::string> TrainingData::Intents() const {
  std::set<std::string> out;
  for (const Message& m : examples)
    if (!m.intent.empty()) out.insert(m.intent);
  return out;
}

std::set<std::string> TrainingData::RetrievalIntents() const {
  std::set<std::string> out;
  for (const Message& m : examples)
    if (!m.intent_response_key.empty()) out.insert(m.intent);
  return out;
}

std::set<std::string> TrainingData::Entities() const {
  std::set<std::string> out;
  for (const Message& m : examples)
    for (const EntityAnnotation& e : m.entities) out.insert(e.entity);
  return out;
}

std::set<std::string> TrainingData::EntityRoles() const {
  std::set<std::string> out;
  for (const Message& m : examples)
    for (const EntityAnnotation& e : m.entities)
      if (!e.role.empty()) out.insert(e.role);
  return out;
}

std::set<std::string> TrainingData::EntityGroups() const {
  std::set<std::string> out;
  for (const Message& m : examples)
    for (const EntityAnnotation& e : m.entities)
      if (!e.group.empty()) out.insert(e.group);
  return out;
}

size_t TrainingData::EntityAnnotationCount() const {
  size_t n = 0;
  for (const Message& m : examples) n += m.entities.size();
  return n;
}

bool TrainingData::HasPureNluData() const {
  for (const Message& m : examples)
    if (m.origin == MessageOrigin::kNluFile) return true;
  return !synonyms.empty() || !regexes.empty() || !lookups.empty();
}

}  // namespace trainyard::data
