#include "core/data/serialize.h"

#include <sstream>

namespace trainyard::data {
namespace {

Json EntitiesToJson(const std::vector<EntityAnnotation>& entities) {
  Json out = Json::array();
  for (const EntityAnnotation& e : entities) {
    Json j = {{"start", e.start}, {"end", e.end}, {"entity", e.entity}, {"value", e.value}};
    if (!e.role.empty()) j["role"] = e.role;
    if (!e.group.empty()) j["group"] = e.group;
    out.push_back(j);
  }
  return out;
}

Json EventToJson(const StoryEvent& e) {
  static const char* kTypes[] = {"user", "action", "slot", "active_loop", "or"};
  Json j = {{"type", kTypes[static_cast<int>(e.type)]}, {"name", e.name}};
  if (!e.text.empty()) j["text"] = e.text;
  if (!e.entities.empty()) j["entities"] = EntitiesToJson(e.entities);
  if (e.type == EventType::kSlotSet) j["value"] = e.bare_slot ? Json("<set>") : e.value;
  if (!e.alternatives.empty()) {
    j["alternatives"] = Json::array();
    for (const StoryEvent& a : e.alternatives) j["alternatives"].push_back(EventToJson(a));
  }
  return j;
}

// Bytes of the UTF-8 sequence starting with `c`.
size_t Utf8Length(unsigned char c) { return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4; }

// A YAML double-quoted scalar.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

Json DomainToJson(const Domain& domain) {
  Json intents = Json::array();
  for (const IntentDefinition& i : domain.intents) {
    Json props = {{"use_entities", i.use_all_entities ? Json(true) : Json(i.use_entities)}};
    if (!i.ignore_entities.empty()) props["ignore_entities"] = i.ignore_entities;
    if (i.is_retrieval_intent) props["is_retrieval_intent"] = true;
    if (!i.triggers.empty()) props["triggers"] = i.triggers;
    intents.push_back({{i.name, props}});
  }
  Json entities = Json::array();
  for (const EntityDefinition& e : domain.entities) {
    if (e.roles.empty() && e.groups.empty() && e.influence_conversation) {
      entities.push_back(e.name);
      continue;
    }
    Json props = Json::object();
    if (!e.roles.empty()) props["roles"] = e.roles;
    if (!e.groups.empty()) props["groups"] = e.groups;
    if (!e.influence_conversation) props["influence_conversation"] = false;
    entities.push_back({{e.name, props}});
  }
  Json slots = Json::object();
  for (const SlotDefinition& s : domain.slots) {
    Json slot = {{"type", s.type}, {"initial_value", s.initial_value},
                 {"influence_conversation", s.influence_conversation}};
    if (s.type == "categorical") slot["values"] = s.values;
    if (s.type == "float") {
      slot["max_value"] = s.max_value;
      slot["min_value"] = s.min_value;
    }
    Json mappings = Json::array();
    for (const SlotMapping& m : s.mappings) {
      Json mj = {{"type", m.type}};
      if (!m.entity.empty()) mj["entity"] = m.entity;
      if (!m.role.empty()) mj["role"] = m.role;
      if (!m.group.empty()) mj["group"] = m.group;
      if (!m.action.empty()) mj["action"] = m.action;
      if (!m.value.is_null()) mj["value"] = m.value;
      if (!m.intent.empty()) mj["intent"] = m.intent;
      if (!m.not_intent.empty()) mj["not_intent"] = m.not_intent;
      if (!m.conditions.empty()) {
        mj["conditions"] = Json::array();
        for (const MappingCondition& c : m.conditions) {
          Json cj = {{"active_loop", c.active_loop ? Json(*c.active_loop) : Json()}};
          if (c.requested_slot) cj["requested_slot"] = *c.requested_slot;
          mj["conditions"].push_back(cj);
        }
      }
      mappings.push_back(mj);
    }
    slot["mappings"] = mappings;
    slots[s.name] = slot;
  }
  Json responses = Json::object();
  for (const auto& [name, r] : domain.responses) responses[name] = r.variations;
  Json forms = Json::object();
  for (const FormDefinition& f : domain.forms)
    forms[f.name] = {{"required_slots", f.required_slots}, {"ignored_intents", f.ignored_intents}};
  return {{"version", kLatestDomainVersion},
          {"intents", intents},
          {"entities", entities},
          {"slots", slots},
          {"responses", responses},
          {"actions", domain.actions},
          {"forms", forms},
          {"e2e_actions", domain.e2e_actions},
          {"config", {{"store_entities_as_slots", domain.store_entities_as_slots}}},
          {"session_config",
           {{"session_expiration_time", domain.session_config.session_expiration_time},
            {"carry_over_slots_to_new_session", domain.session_config.carry_over_slots_to_new_session}}}};
}

Json DomainForCoreTraining(const Json& domain) {
  Json out = domain;
  for (auto& [name, variations] : out["responses"].items()) variations = Json::array();
  for (auto& [name, form] : out["forms"].items()) form = {{"required_slots", Json::array()}};
  out.erase("session_config");
  out.erase("config");
  return out;
}

Json TrainingDataToJson(const TrainingData& data) {
  Json examples = Json::array();
  for (const Message& m : data.examples) {
    Json j = {{"text", m.text}, {"intent", m.intent}};
    if (!m.intent_response_key.empty()) j["intent_response_key"] = m.intent_response_key;
    if (!m.entities.empty()) j["entities"] = EntitiesToJson(m.entities);
    if (!m.metadata.is_null()) j["metadata"] = m.metadata;
    if (!m.action_name.empty()) j["action_name"] = m.action_name;
    if (!m.action_text.empty()) j["action_text"] = m.action_text;
    examples.push_back(j);
  }
  Json regexes = Json::array();
  for (const RegexFeature& r : data.regexes) regexes.push_back({{"name", r.name}, {"pattern", r.pattern}});
  Json lookups = Json::array();
  for (const LookupTable& l : data.lookups) lookups.push_back({{"name", l.name}, {"elements", l.elements}});
  Json responses = Json::object();
  for (const auto& [name, r] : data.responses) responses[name] = r.variations;
  return {{"examples", examples}, {"synonyms", data.synonyms}, {"regexes", regexes}, {"lookups", lookups},
          {"responses", responses}};
}

Json StoryDataToJson(const StoryData& stories) {
  Json steps = Json::array();
  for (const StoryStep& s : stories.steps) {
    Json j = {{"name", s.block_name}, {"rule", s.is_rule}};
    for (const char* key : {"start", "end"}) {
      Json cps = Json::array();
      for (const Checkpoint& c : key == std::string("start") ? s.start_checkpoints : s.end_checkpoints) {
        Json conditions = Json::array();
        for (const StoryEvent& e : c.conditions) conditions.push_back(EventToJson(e));
        cps.push_back({{"name", c.name}, {"conditions", conditions}});
      }
      j[std::string(key) + "_checkpoints"] = cps;
    }
    j["events"] = Json::array();
    for (const StoryEvent& e : s.events) j["events"].push_back(EventToJson(e));
    if (s.is_rule) {
      j["condition"] = Json::array();
      for (const StoryEvent& e : s.condition) j["condition"].push_back(EventToJson(e));
      j["conversation_start"] = s.conversation_start;
      j["wait_for_user_input"] = s.wait_for_user_input;
    }
    steps.push_back(j);
  }
  return steps;
}

std::string TrainingDataToYaml(const TrainingData& data) {
  std::ostringstream out;
  out << "version: \"3.1\"\nnlu:\n";
  std::map<std::string, std::vector<const Message*>> by_intent;
  std::vector<std::string> order;
  for (const Message& m : data.examples) {
    const std::string key = m.intent_response_key.empty() ? m.intent : m.intent_response_key;
    if (key.empty()) continue;
    if (!by_intent.count(key)) order.push_back(key);
    by_intent[key].push_back(&m);
  }
  for (const std::string& intent : order) {
    out << "- intent: " << intent << "\n  examples: |\n";
    for (const Message* m : by_intent[intent]) {
      // Re-annotate entities inline (offsets are code points).
      int cp = 0;
      size_t next = 0;
      std::vector<const EntityAnnotation*> entities;
      for (const auto& e : m->entities) entities.push_back(&e);
      std::string annotated;
      size_t i = 0;
      while (i < m->text.size()) {
        if (next < entities.size() && entities[next]->start == cp) {
          const EntityAnnotation& e = *entities[next++];
          std::string span;
          while (i < m->text.size() && cp < e.end) {
            const size_t len = Utf8Length(static_cast<unsigned char>(m->text[i]));
            span += m->text.substr(i, len);
            i += len;
            ++cp;
          }
          Json j = {{"entity", e.entity}};
          if (!e.role.empty()) j["role"] = e.role;
          if (!e.group.empty()) j["group"] = e.group;
          if (e.value != Json(span)) j["value"] = e.value;
          annotated += "[" + span + "]" + nlohmann::json(j).dump();
          continue;
        }
        const size_t len = Utf8Length(static_cast<unsigned char>(m->text[i]));
        annotated += m->text.substr(i, len);
        i += len;
        ++cp;
      }
      out << "    - " << annotated << "\n";
    }
  }
  std::map<std::string, std::vector<std::string>> synonyms;
  for (const auto& [text, value] : data.synonyms) synonyms[value].push_back(text);
  for (const auto& [value, texts] : synonyms) {
    out << "- synonym: " << Quote(value) << "\n  examples: |\n";
    for (const auto& t : texts) out << "    - " << t << "\n";
  }
  std::map<std::string, std::vector<std::string>> regexes;
  for (const RegexFeature& r : data.regexes) regexes[r.name].push_back(r.pattern);
  for (const auto& [name, patterns] : regexes) {
    out << "- regex: " << Quote(name) << "\n  examples: |\n";
    for (const auto& p : patterns) out << "    - " << p << "\n";
  }
  for (const LookupTable& l : data.lookups) {
    out << "- lookup: " << Quote(l.name) << "\n  examples: |\n";
    for (const auto& e : l.elements) out << "    - " << e << "\n";
  }
  if (!data.responses.empty()) {
    out << "responses:\n";
    for (const auto& [name, r] : data.responses) {
      out << "  " << Quote(name) << ":\n";
      for (const Json& v : r.variations) out << "  - " << nlohmann::json(v).dump() << "\n";
    }
  }
  return out.str();
}

}  // namespace trainyard::data
