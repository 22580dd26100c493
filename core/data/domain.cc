#include "core/data/domain.h"

#include <algorithm>

#include "core/data/yaml.h"
#include "core/data/yaml_schema.h"
#include "core/util/errors.h"
#include "core/util/fs.h"
#include "core/util/strings.h"

namespace trainyard::data {
namespace {

constexpr const char* kMigrateHint =
    " Domains in the 2.x format need migrating to 3.x (what `rasa data migrate` does): "
    "give every slot a `mappings:` list and move form slot mappings from "
    "`forms: <form>: required_slots: {slot: [mappings]}` into the slots' `mappings` "
    "(with `conditions: [{active_loop: <form>}]`), leaving `required_slots` a list of slot names.";

const std::vector<std::string> kSlotTypes = {"text", "bool", "categorical", "float", "list", "any"};
const std::vector<std::string> kMappingTypes = {"from_entity", "from_text", "from_intent",
                                                "from_trigger_intent", "custom"};

// Reads `key: value` where value is a string or a list of strings.
std::vector<std::string> StringOrList(const yaml::Node& node, const std::string& what,
                                      FileContext& context) {
  std::vector<std::string> out;
  if (node.IsNull()) return out;
  if (node.IsScalar()) {
    if (context.ExpectString(node, what)) out.push_back(node.value);
    return out;
  }
  if (!context.ExpectSeq(node, what)) return out;
  for (const yaml::NodePtr& item : node.items)
    if (context.ExpectString(*item, "An entry of " + what)) out.push_back(item->value);
  return out;
}

std::vector<std::string> StringList(const yaml::Node& node, const std::string& what,
                                    FileContext& context) {
  std::vector<std::string> out;
  if (node.IsNull()) return out;
  if (!context.ExpectSeq(node, what)) return out;
  for (const yaml::NodePtr& item : node.items)
    if (context.ExpectString(*item, "An entry of " + what)) out.push_back(item->value);
  return out;
}

void ReportDuplicates(const std::vector<std::pair<std::string, util::SourceLocation>>& names,
                      const std::string& kind, util::Diagnostics& diagnostics) {
  std::map<std::string, int> count;
  for (const auto& n : names) ++count[n.first];
  std::vector<std::string> duplicates;
  util::SourceLocation where;
  for (const auto& n : names) {
    if (count[n.first] > 1 &&
        std::find(duplicates.begin(), duplicates.end(), n.first) == duplicates.end()) {
      duplicates.push_back(n.first);
      if (where.empty()) where = n.second;
    }
  }
  if (duplicates.empty()) return;
  diagnostics.Error(where, "Duplicate " + kind + " in domain. These " + kind +
                               " occur more than once in the domain: " +
                               util::QuoteJoin(duplicates) + ".");
}

// An `intents:` / `entities:` item is a name, or a one-key mapping
// `name: {properties}`. Returns false (after reporting) when it is neither;
// `props` is null for a plain name.
bool NameAndProperties(const yaml::Node& item, const std::string& kind, const std::string& example,
                       FileContext& c, std::string& name, const yaml::Node*& props) {
  props = nullptr;
  if (item.IsScalar()) {
    if (!c.ExpectString(item, "An " + kind + " name")) return false;
    name = item.value;
    return true;
  }
  if (!item.IsMap() || item.entries.size() != 1) {
    c.Error(item, "An " + kind + " must be a name or a mapping `name: " + example + "` but is " +
                      item.Describe() + ".");
    return false;
  }
  const auto& [key, value] = item.entries.front();
  if (!c.ExpectString(*key, "An " + kind + " name")) return false;
  name = key->value;
  if (value->IsNull()) {
    c.Error(*key, "In the domain, the " + kind + " '" + name +
                      "' cannot have value of `NoneType`. If you have placed a ':' character after "
                      "the " + kind + "'s name without adding any additional parameters to this " +
                      kind + " then you would need to remove the ':' character.");
    return false;
  }
  if (!c.ExpectMap(*value, "The properties of " + kind + " '" + name + "'")) return false;
  props = value.get();
  return true;
}

class DomainParser {
 public:
  DomainParser(FileContext& context, Domain& domain) : c_(context), d_(domain) {}

  void Parse(const yaml::Node& root);

 private:
  void Intents(const yaml::Node& node);
  void Entities(const yaml::Node& node);
  void Slots(const yaml::Node& node);
  bool Slot(const std::string& name, const yaml::Node& key, const yaml::Node& node);
  bool Mapping(const std::string& slot, const yaml::Node& node, SlotMapping& out);
  void Responses(const yaml::Node& node);
  void Actions(const yaml::Node& node);
  void Forms(const yaml::Node& node);
  void Session(const yaml::Node& node);

  FileContext& c_;
  Domain& d_;
};

void DomainParser::Parse(const yaml::Node& root) {
  for (const auto& [key, value] : root.entries) {
    const std::string k = key->IsScalar() ? key->value : "";
    if (k == "version" || k == "nlu" || k == "stories" || k == "rules") continue;
    if (k == "intents") Intents(*value);
    else if (k == "entities") Entities(*value);
    else if (k == "slots") Slots(*value);
    else if (k == "responses") Responses(*value);
    else if (k == "actions") Actions(*value);
    else if (k == "forms") Forms(*value);
    else if (k == "session_config") Session(*value);
    else if (k == "e2e_actions") d_.e2e_actions = StringList(*value, "'e2e_actions'", c_);
    else if (k == "config") {
      if (value->IsNull() || !c_.ExpectMap(*value, "'config'")) continue;
      c_.CheckKeys(*value, {"store_entities_as_slots"}, "the domain's 'config'");
      if (const yaml::Node* s = value->Get("store_entities_as_slots"))
        if (c_.ExpectBool(*s, "'store_entities_as_slots'")) d_.store_entities_as_slots = s->AsBool();
    } else if (k == "templates") {
      c_.Error(*key, "The domain key 'templates' was renamed to 'responses' in Rasa 2.0; rename it.");
    } else {
      c_.Error(*key, "Unknown key '" + k + "' in the domain. Expected one of: 'version', 'intents', "
                     "'entities', 'slots', 'responses', 'actions', 'forms', 'config', "
                     "'session_config', 'e2e_actions'.");
    }
  }
}

void DomainParser::Intents(const yaml::Node& node) {
  if (node.IsNull() || !c_.ExpectSeq(node, "'intents'")) return;
  std::vector<std::pair<std::string, util::SourceLocation>> names;
  for (const yaml::NodePtr& item : node.items) {
    IntentDefinition intent;
    intent.location = c_.At(*item);
    const yaml::Node* props = nullptr;
    if (!NameAndProperties(*item, "intent", "{use_entities: ..., ignore_entities: ...}", c_,
                           intent.name, props))
      continue;
    if (props) {
      c_.CheckKeys(*props, {"use_entities", "ignore_entities", "is_retrieval_intent", "triggers"},
                   "intent '" + intent.name + "'");
      if (const yaml::Node* use = props->Get("use_entities")) {
        if (use->IsBool()) {
          intent.use_all_entities = use->AsBool();
        } else {
          intent.use_all_entities = false;
          intent.use_entities = StringList(*use, "'use_entities' of intent '" + intent.name + "'", c_);
        }
      }
      if (const yaml::Node* ignore = props->Get("ignore_entities"))
        intent.ignore_entities =
            StringList(*ignore, "'ignore_entities' of intent '" + intent.name + "'", c_);
      if (const yaml::Node* r = props->Get("is_retrieval_intent"))
        if (c_.ExpectBool(*r, "'is_retrieval_intent'")) intent.is_retrieval_intent = r->AsBool();
      if (const yaml::Node* t = props->Get("triggers"))
        if (c_.ExpectString(*t, "'triggers'")) intent.triggers = t->value;
      for (const std::string& e : intent.use_entities) {
        if (std::find(intent.ignore_entities.begin(), intent.ignore_entities.end(), e) !=
            intent.ignore_entities.end())
          c_.Warn(*props, "Entity '" + e + "' is both used and ignored by intent '" + intent.name +
                              "'; it will be ignored (exclusion wins).");
      }
    }
    names.emplace_back(intent.name, intent.location);
    d_.intents.push_back(std::move(intent));
  }
  ReportDuplicates(names, "intents", c_.diagnostics());
}

void DomainParser::Entities(const yaml::Node& node) {
  if (node.IsNull() || !c_.ExpectSeq(node, "'entities'")) return;
  std::vector<std::pair<std::string, util::SourceLocation>> names;
  for (const yaml::NodePtr& item : node.items) {
    EntityDefinition entity;
    entity.location = c_.At(*item);
    const yaml::Node* props = nullptr;
    if (!NameAndProperties(*item, "entity", "{roles: [...], groups: [...]}", c_, entity.name, props))
      continue;
    if (props) {
      c_.CheckKeys(*props, {"roles", "groups", "influence_conversation"}, "entity '" + entity.name + "'");
      if (const yaml::Node* r = props->Get("roles"))
        entity.roles = StringList(*r, "'roles' of entity '" + entity.name + "'", c_);
      if (const yaml::Node* g = props->Get("groups"))
        entity.groups = StringList(*g, "'groups' of entity '" + entity.name + "'", c_);
      if (const yaml::Node* i = props->Get("influence_conversation"))
        if (c_.ExpectBool(*i, "'influence_conversation'")) entity.influence_conversation = i->AsBool();
    }
    names.emplace_back(entity.name, entity.location);
    d_.entities.push_back(std::move(entity));
  }
  ReportDuplicates(names, "entities", c_.diagnostics());
}

bool DomainParser::Mapping(const std::string& slot, const yaml::Node& node, SlotMapping& out) {
  if (!node.IsMap()) {
    c_.Error(node, "Please make sure that the slot mappings for slot '" + slot +
                       "' in your domain are valid dictionaries (this one is " + node.Describe() +
                       ").");
    return false;
  }
  out.location = c_.At(node);
  const yaml::Node* type = node.Get("type");
  if (!type || !type->IsString()) {
    c_.Error(node, "A slot mapping of slot '" + slot + "' has no 'type'. Expected one of: " +
                       util::QuoteJoin(kMappingTypes) + ".");
    return false;
  }
  out.type = type->value;
  if (std::find(kMappingTypes.begin(), kMappingTypes.end(), out.type) == kMappingTypes.end()) {
    c_.Error(*type, "Your domain uses an invalid slot mapping of type '" + out.type + "' for slot '" +
                        slot + "'. Please see the documentation for the valid types: " +
                        util::QuoteJoin(kMappingTypes) + ".");
    return false;
  }
  c_.CheckKeys(node, {"type", "entity", "role", "group", "intent", "not_intent", "value", "action",
                      "conditions"},
               "a slot mapping of slot '" + slot + "'");
  auto required = [&](const char* key) {
    const yaml::Node* v = node.Get(key);
    if (v && !v->IsNull()) return true;
    c_.Error(node, std::string("You need to specify a value for the key '") + key +
                       "' in the slot mapping of type '" + out.type + "' for slot '" + slot + "'.");
    return false;
  };
  if (out.type == "from_entity" && !required("entity")) return false;
  if ((out.type == "from_intent" || out.type == "from_trigger_intent") && !required("value"))
    return false;
  if (const yaml::Node* v = node.Get("entity"); v && c_.ExpectString(*v, "'entity'")) out.entity = v->value;
  if (const yaml::Node* v = node.Get("role"); v && c_.ExpectString(*v, "'role'")) out.role = v->value;
  if (const yaml::Node* v = node.Get("group"); v && c_.ExpectString(*v, "'group'")) out.group = v->value;
  if (const yaml::Node* v = node.Get("action"); v && c_.ExpectString(*v, "'action'")) out.action = v->value;
  if (const yaml::Node* v = node.Get("value")) out.value = v->ToJson();
  if (const yaml::Node* v = node.Get("intent")) out.intent = StringOrList(*v, "'intent'", c_);
  if (const yaml::Node* v = node.Get("not_intent")) out.not_intent = StringOrList(*v, "'not_intent'", c_);
  if (const yaml::Node* conditions = node.Get("conditions")) {
    if (c_.ExpectSeq(*conditions, "'conditions' of a slot mapping")) {
      for (const yaml::NodePtr& item : conditions->items) {
        if (!c_.ExpectMap(*item, "A slot mapping condition")) continue;
        c_.CheckKeys(*item, {"active_loop", "requested_slot"}, "a slot mapping condition");
        MappingCondition condition;
        if (const yaml::Node* loop = item->Get("active_loop"); loop && !loop->IsNull())
          if (c_.ExpectString(*loop, "'active_loop'")) condition.active_loop = loop->value;
        if (const yaml::Node* req = item->Get("requested_slot"); req && !req->IsNull())
          if (c_.ExpectString(*req, "'requested_slot'")) condition.requested_slot = req->value;
        out.conditions.push_back(condition);
      }
    }
  }
  return true;
}

bool DomainParser::Slot(const std::string& name, const yaml::Node& key, const yaml::Node& node) {
  if (node.IsNull() || !node.IsMap()) {
    c_.Error(key, "Slot '" + name + "' must be a mapping with at least a 'type' (e.g. `type: text`)"
                  " but is " + node.Describe() + ".");
    return false;
  }
  SlotDefinition slot;
  slot.name = name;
  slot.location = c_.At(key);
  const yaml::Node* type = node.Get("type");
  if (!type || !type->IsString() || type->value.empty()) {
    c_.Error(key, "Slot '" + name + "' has no 'type'. Expected one of " + util::QuoteJoin(kSlotTypes) +
                      " or the class path of a custom slot.");
    return false;
  }
  slot.type = type->value;
  const bool builtin = std::find(kSlotTypes.begin(), kSlotTypes.end(), slot.type) != kSlotTypes.end();
  if (!builtin && slot.type.find('.') == std::string::npos) {
    c_.Error(*type, "Slot '" + name + "' has the unknown type '" + slot.type + "'. Expected one of " +
                        util::QuoteJoin(kSlotTypes) + " or the class path of a custom slot.");
    return false;
  }
  if (node.GetKey("auto_fill")) {
    c_.Error(*node.GetKey("auto_fill"),
             "Slot '" + name + "' uses 'auto_fill', which was removed in Rasa 3.0." + kMigrateHint);
    return false;
  }
  if (builtin)
    c_.CheckKeys(node, {"type", "influence_conversation", "initial_value", "values", "min_value",
                        "max_value", "mappings"},
                 "slot '" + name + "'");
  slot.influence_conversation = slot.type != "any";
  if (const yaml::Node* i = node.Get("influence_conversation"))
    if (c_.ExpectBool(*i, "'influence_conversation'")) slot.influence_conversation = i->AsBool();
  if (slot.type == "any" && slot.influence_conversation) {
    c_.Error(node, "Slot '" + name + "' is of type 'any' and cannot influence the conversation; "
                   "set `influence_conversation: false` or choose another type.");
    return false;
  }
  if (const yaml::Node* v = node.Get("initial_value")) slot.initial_value = v->ToJson();
  if (slot.type == "categorical") {
    const yaml::Node* values = node.Get("values");
    if (!values || values->IsNull()) {
      c_.Warn(node, "Categorical slot '" + name + "' has no 'values'; it can only be unset.");
    } else if (c_.ExpectSeq(*values, "'values' of slot '" + name + "'")) {
      for (const yaml::NodePtr& v : values->items) {
        if (!v->IsScalar()) {
          c_.Error(*v, "The values of categorical slot '" + name + "' must be scalars.");
          continue;
        }
        slot.values.push_back(v->IsNull() ? "null" : v->value);
      }
    }
  }
  if (slot.type == "float") {
    if (const yaml::Node* v = node.Get("min_value"); v && c_.ExpectNumber(*v, "'min_value'"))
      slot.min_value = v->AsDouble();
    if (const yaml::Node* v = node.Get("max_value"); v && c_.ExpectNumber(*v, "'max_value'"))
      slot.max_value = v->AsDouble();
    if (slot.min_value >= slot.max_value) {
      c_.Warn(node, "Float slot '" + name + "' has min_value >= max_value; using 0.0 and 1.0.");
      slot.min_value = 0.0;
      slot.max_value = 1.0;
    }
  }
  const yaml::Node* mappings = node.Get("mappings");
  if (!mappings) {
    c_.Error(key, "Slot '" + name + "' has no 'mappings'." + kMigrateHint);
    return false;
  }
  if (!c_.ExpectSeq(*mappings, "'mappings' of slot '" + name + "'")) return false;
  for (const yaml::NodePtr& m : mappings->items) {
    SlotMapping mapping;
    if (Mapping(name, *m, mapping)) slot.mappings.push_back(std::move(mapping));
  }
  d_.slots.push_back(std::move(slot));
  return true;
}

void DomainParser::Slots(const yaml::Node& node) {
  if (node.IsNull() || !c_.ExpectMap(node, "'slots'")) return;
  for (const auto& [key, value] : node.entries) {
    if (!c_.ExpectString(*key, "A slot name")) continue;
    Slot(key->value, *key, *value);
  }
}

void DomainParser::Responses(const yaml::Node& node) {
  if (node.IsNull() || !c_.ExpectMap(node, "'responses'")) return;
  for (const auto& [key, value] : node.entries) {
    if (!c_.ExpectString(*key, "A response name")) continue;
    const std::string& name = key->value;
    if (value->IsNull() || !value->IsSeq() || value->items.empty()) {
      c_.Error(*key, "Response '" + name + "' must be a non-empty list of variations (each a "
                     "mapping with 'text' or 'custom') but is " + value->Describe() + ".");
      continue;
    }
    ResponseDefinition response;
    response.location = c_.At(*key);
    bool ok = true;
    for (const yaml::NodePtr& variation : value->items) {
      if (!variation->IsMap()) {
        c_.Error(*variation, "A variation of response '" + name + "' must be a mapping like "
                             "`- text: \"...\"` but is " + variation->Describe() + ".");
        ok = false;
        continue;
      }
      const yaml::Node* text = variation->Get("text");
      const yaml::Node* custom = variation->Get("custom");
      const bool has_text = text && !text->IsNull();
      const bool has_custom = custom && !custom->IsNull() && !(custom->IsMap() && custom->entries.empty());
      if (!has_text && !has_custom) {
        c_.Error(*variation, "Missing 'text' or 'custom' key in response or null 'text' value in "
                             "response '" + name + "'.");
        ok = false;
        continue;
      }
      if (has_text && !text->IsScalar()) {
        c_.Error(*text, "The 'text' of response '" + name + "' must be a string.");
        ok = false;
        continue;
      }
      if (const yaml::Node* condition = variation->Get("condition")) {
        if (c_.ExpectSeq(*condition, "'condition' of response '" + name + "'")) {
          for (const yaml::NodePtr& cond : condition->items) {
            if (!c_.ExpectMap(*cond, "A response condition")) { ok = false; continue; }
            if (!cond->Get("type") || !cond->Get("name"))
              c_.Error(*cond, "A condition of response '" + name +
                                  "' needs 'type: slot', 'name' and 'value'.");
          }
        }
      }
      response.variations.push_back(variation->ToJson());
    }
    if (ok) d_.responses[name] = std::move(response);
  }
}

void DomainParser::Actions(const yaml::Node& node) {
  if (node.IsNull() || !c_.ExpectSeq(node, "'actions'")) return;
  std::vector<std::pair<std::string, util::SourceLocation>> names;
  for (const yaml::NodePtr& item : node.items) {
    std::string name;
    if (item->IsMap() && item->entries.size() == 1 && item->entries[0].first->IsString()) {
      name = item->entries[0].first->value;  // `- action_x: {send_domain: true}`
    } else if (c_.ExpectString(*item, "An action name")) {
      name = item->value;
    } else {
      continue;
    }
    names.emplace_back(name, c_.At(*item));
    if (!d_.action_locations.count(name)) {
      d_.actions.push_back(name);
      d_.action_locations[name] = c_.At(*item);
    }
  }
  ReportDuplicates(names, "actions", c_.diagnostics());
}

void DomainParser::Forms(const yaml::Node& node) {
  if (node.IsNull() || !c_.ExpectMap(node, "'forms'")) return;
  for (const auto& [key, value] : node.entries) {
    if (!c_.ExpectString(*key, "A form name")) continue;
    FormDefinition form;
    form.name = key->value;
    form.location = c_.At(*key);
    if (!value->IsNull()) {
      if (!c_.ExpectMap(*value, "Form '" + form.name + "'")) continue;
      c_.CheckKeys(*value, {"required_slots", "ignored_intents"}, "form '" + form.name + "'");
      if (const yaml::Node* slots = value->Get("required_slots")) {
        if (slots->IsMap()) {
          c_.Error(*slots, "Form '" + form.name + "' lists 'required_slots' with slot mappings, the "
                           "2.x format." + std::string(kMigrateHint));
          continue;
        }
        form.required_slots = StringList(*slots, "'required_slots' of form '" + form.name + "'", c_);
      } else {
        c_.Warn(*key, "Form '" + form.name + "' has no 'required_slots'.");
      }
      if (const yaml::Node* ignored = value->Get("ignored_intents"))
        form.ignored_intents = StringOrList(*ignored, "'ignored_intents'", c_);
    }
    d_.forms.push_back(std::move(form));
  }
}

void DomainParser::Session(const yaml::Node& node) {
  if (node.IsNull() || !c_.ExpectMap(node, "'session_config'")) return;
  c_.CheckKeys(node, {"session_expiration_time", "carry_over_slots_to_new_session"}, "'session_config'");
  d_.has_session_config = true;
  if (const yaml::Node* t = node.Get("session_expiration_time")) {
    if (c_.ExpectNumber(*t, "'session_expiration_time'")) {
      if (t->AsDouble() < 0)
        c_.Error(*t, "'session_expiration_time' must be 0 or more minutes.");
      else
        d_.session_config.session_expiration_time = t->AsDouble();
    }
  }
  if (const yaml::Node* c = node.Get("carry_over_slots_to_new_session"))
    if (c_.ExpectBool(*c, "'carry_over_slots_to_new_session'"))
      d_.session_config.carry_over_slots_to_new_session = c->AsBool();
}

}  // namespace

bool IsDomainKey(const std::string& key) {
  static const char* kKeys[] = {"intents", "entities", "slots", "responses", "actions", "forms",
                                "e2e_actions", "session_config"};
  for (const char* k : kKeys)
    if (key == k) return true;
  return false;
}

const IntentDefinition* Domain::FindIntent(const std::string& name) const {
  for (const IntentDefinition& i : intents)
    if (i.name == name) return &i;
  return nullptr;
}

const SlotDefinition* Domain::FindSlot(const std::string& name) const {
  for (const SlotDefinition& s : slots)
    if (s.name == name) return &s;
  return nullptr;
}

bool Domain::HasAction(const std::string& name) const {
  return std::find(actions.begin(), actions.end(), name) != actions.end() || responses.count(name) ||
         std::find(e2e_actions.begin(), e2e_actions.end(), name) != e2e_actions.end() ||
         FormNames().count(name);
}

std::set<std::string> Domain::IntentNames() const {
  std::set<std::string> out;
  for (const auto& i : intents) out.insert(i.name);
  return out;
}
std::set<std::string> Domain::EntityNames() const {
  std::set<std::string> out;
  for (const auto& e : entities) out.insert(e.name);
  return out;
}
std::set<std::string> Domain::SlotNames() const {
  std::set<std::string> out;
  for (const auto& s : slots) out.insert(s.name);
  return out;
}
std::set<std::string> Domain::FormNames() const {
  std::set<std::string> out;
  for (const auto& f : forms) out.insert(f.name);
  return out;
}

std::vector<std::string> Domain::UsedEntities(const IntentDefinition& intent) const {
  std::vector<std::string> used;
  if (intent.use_all_entities)
    for (const auto& e : entities) used.push_back(e.name);
  else
    used = intent.use_entities;
  std::vector<std::string> out;
  for (const std::string& e : used)
    if (std::find(intent.ignore_entities.begin(), intent.ignore_entities.end(), e) ==
        intent.ignore_entities.end())
      out.push_back(e);
  return out;
}

void Domain::Merge(const Domain& other, util::Diagnostics& diagnostics) {
  for (const auto& i : other.intents)
    if (!FindIntent(i.name)) intents.push_back(i);
  for (const auto& e : other.entities)
    if (!EntityNames().count(e.name)) entities.push_back(e);
  for (const auto& s : other.slots) {
    if (const SlotDefinition* mine = FindSlot(s.name)) {
      diagnostics.Warn(s.location, "Slot '" + s.name + "' is defined in several domain files; "
                                   "the definition at " + mine->location.ToString() + " is used.");
      continue;
    }
    slots.push_back(s);
  }
  for (const auto& [name, response] : other.responses) {
    if (responses.count(name)) {
      diagnostics.Warn(response.location, "Response '" + name + "' is defined in several domain "
                                          "files; the definition at " +
                                              responses[name].location.ToString() + " is used.");
      continue;
    }
    responses[name] = response;
  }
  for (const auto& a : other.actions) {
    if (action_locations.count(a)) continue;
    actions.push_back(a);
    action_locations[a] = other.action_locations.at(a);
  }
  for (const auto& f : other.forms) {
    if (FormNames().count(f.name)) {
      diagnostics.Warn(f.location, "Form '" + f.name + "' is defined in several domain files; "
                                   "the first definition is used.");
      continue;
    }
    forms.push_back(f);
  }
  if (!has_session_config && other.has_session_config) {
    session_config = other.session_config;
    has_session_config = true;
  }
  if (!other.store_entities_as_slots) store_entities_as_slots = false;
  for (const auto& e : other.e2e_actions)
    if (std::find(e2e_actions.begin(), e2e_actions.end(), e) == e2e_actions.end())
      e2e_actions.push_back(e);
  files.insert(files.end(), other.files.begin(), other.files.end());
}

Domain ParseDomain(const std::string& text, const std::filesystem::path& path,
                   util::Diagnostics& diagnostics) {
  Domain domain;
  domain.files.push_back(path);
  FileContext context(path.string(), diagnostics);
  const yaml::NodePtr root = yaml::Parse(text, path.string());
  if (root->IsNull()) return domain;
  if (!context.ExpectMap(*root, "The domain file")) return domain;
  if (const yaml::Node* version = root->Get("version"); version && version->IsString() &&
      CompareVersions(version->value, kLatestDomainVersion) > 0) {
    context.Error(*version, "The domain file has the format version '" + version->value +
                                "', greater than the newest version trainyard supports ('" +
                                kLatestDomainVersion + "'). Set `version: \"" +
                                kLatestDomainVersion + "\"` if the file is in the 3.x format.");
    return domain;
  }
  CheckFormatVersion(*root, context);
  DomainParser(context, domain).Parse(*root);
  return domain;
}

Domain ReadDomain(const std::filesystem::path& path, util::Diagnostics& diagnostics) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw util::NotFoundError("Failed to load domain specification from '" +
                              std::filesystem::absolute(path).string() + "'. File not found!");
  if (!std::filesystem::is_directory(path, ec)) return ParseDomain(util::ReadFile(path), path, diagnostics);
  Domain merged;
  for (const auto& file : util::ListFilesRecursive(path, {".yml", ".yaml"}, diagnostics)) {
    const std::string text = util::ReadFile(file);
    const yaml::NodePtr root = yaml::Parse(text, file.string());
    bool is_domain = false;
    for (const auto& entry : root->entries)
      if (entry.first->IsScalar() && IsDomainKey(entry.first->value)) is_domain = true;
    if (!is_domain) continue;
    merged.Merge(ParseDomain(text, file, diagnostics), diagnostics);
  }
  return merged;
}

}  // namespace trainyard::data
