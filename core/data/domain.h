#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/data/training_data.h"
#include "core/util/diagnostics.h"

namespace trainyard::data {

// The newest domain format version trainyard reads.
inline constexpr const char* kLatestDomainVersion = "3.1";

struct IntentDefinition {
  std::string name;
  // `use_entities: true` (default) uses every entity; `false` none; a list
  // exactly those. `ignore_entities` is subtracted afterwards.
  bool use_all_entities = true;
  std::vector<std::string> use_entities;
  std::vector<std::string> ignore_entities;
  bool is_retrieval_intent = false;
  std::string triggers;  // action triggered by this intent, if any
  util::SourceLocation location;
};

struct EntityDefinition {
  std::string name;
  std::vector<std::string> roles;
  std::vector<std::string> groups;
  bool influence_conversation = true;
  util::SourceLocation location;
};

// `conditions:` entry of a slot mapping.
struct MappingCondition {
  std::optional<std::string> active_loop;  // nullopt = null (no loop active)
  std::optional<std::string> requested_slot;
};

struct SlotMapping {
  std::string type;  // from_entity, from_text, from_intent, from_trigger_intent, custom
  std::string entity, role, group, action;
  Json value;        // from_intent / from_trigger_intent
  std::vector<std::string> intent, not_intent;
  std::vector<MappingCondition> conditions;
  util::SourceLocation location;
};

struct SlotDefinition {
  std::string name;
  std::string type;  // text, bool, categorical, float, list, any, or a custom class path
  bool influence_conversation = true;
  Json initial_value;
  std::vector<std::string> values;  // categorical
  double min_value = 0.0, max_value = 1.0;  // float
  std::vector<SlotMapping> mappings;
  util::SourceLocation location;
};

struct FormDefinition {
  std::string name;
  std::vector<std::string> required_slots;
  std::vector<std::string> ignored_intents;
  util::SourceLocation location;
};

struct SessionConfig {
  double session_expiration_time = 60;  // minutes
  bool carry_over_slots_to_new_session = true;
};

// A Rasa 3.x domain, possibly merged from several files.
struct Domain {
  std::vector<IntentDefinition> intents;
  std::vector<EntityDefinition> entities;
  std::vector<SlotDefinition> slots;
  Responses responses;
  std::vector<std::string> actions;  // as listed (custom actions and utter_ actions)
  std::map<std::string, util::SourceLocation> action_locations;
  std::vector<FormDefinition> forms;
  SessionConfig session_config;
  bool has_session_config = false;
  bool store_entities_as_slots = true;
  std::vector<std::string> e2e_actions;
  std::vector<std::filesystem::path> files;  // files the domain was read from

  bool empty() const {
    return intents.empty() && entities.empty() && slots.empty() && responses.empty() &&
           actions.empty() && forms.empty() && e2e_actions.empty();
  }
  const IntentDefinition* FindIntent(const std::string& name) const;
  const SlotDefinition* FindSlot(const std::string& name) const;
  bool HasAction(const std::string& name) const;
  std::set<std::string> IntentNames() const;
  std::set<std::string> EntityNames() const;
  std::set<std::string> SlotNames() const;
  std::set<std::string> FormNames() const;
  // Entities an intent passes on to dialogue (use/ignore lists applied).
  std::vector<std::string> UsedEntities(const IntentDefinition& intent) const;

  // Merges `other` into this domain: lists are united, maps (responses, slots,
  // forms) keep this domain's entry on a clash, which is reported as a warning.
  void Merge(const Domain& other, util::Diagnostics& diagnostics);
};

// True when a parsed YAML file's top-level keys make it a domain file.
bool IsDomainKey(const std::string& key);

// Parses one domain file's content. Syntax errors throw util::InvalidDataError;
// schema and content errors go to `diagnostics`. A domain whose version is
// above kLatestDomainVersion is returned empty, with a warning.
Domain ParseDomain(const std::string& text, const std::filesystem::path& path,
                   util::Diagnostics& diagnostics);

// Reads a domain file, or every domain file of a directory merged. A missing
// path throws util::NotFoundError.
Domain ReadDomain(const std::filesystem::path& path, util::Diagnostics& diagnostics);

}  // namespace trainyard::data
