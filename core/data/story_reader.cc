#include "core/data/story_reader.h"

#include "core/data/entities_parser.h"
#include "core/data/yaml.h"
#include "core/data/yaml_schema.h"
#include "core/util/strings.h"

namespace trainyard::data {
namespace {

class StoryParser {
 public:
  StoryParser(FileContext& context, bool is_test_file) : c_(context), is_test_(is_test_file) {}

  void Blocks(const yaml::Node& list, bool rules, StoryData& out);

 private:
  void Block(const yaml::Node& item, bool rule, StoryData& out);
  // Parses one step into `current`; returns false when the step was skipped.
  void Step(const yaml::Node& step, bool rule, std::vector<StoryStep>& done, StoryStep& current);
  bool User(const yaml::Node& step, StoryEvent& out);
  bool Entities(const yaml::Node& list, std::vector<EntityAnnotation>& out);
  bool SlotItems(const yaml::Node& node, std::vector<StoryEvent>& out);
  std::string IntentName(const yaml::Node& node);

  FileContext& c_;
  bool is_test_;
};

void StoryParser::Blocks(const yaml::Node& list, bool rules, StoryData& out) {
  const char* key = rules ? "'rules'" : "'stories'";
  if (list.IsNull()) return;
  if (!c_.ExpectSeq(list, key)) return;
  for (const yaml::NodePtr& item : list.items) {
    if (!item->IsMap()) {
      c_.Warn(*item, std::string("Unexpected block found: items under ") + key +
                         " must be mappings (`- " + (rules ? "rule" : "story") +
                         ": <name>` with `steps:`). This block will be skipped.");
      continue;
    }
    Block(*item, rules, out);
  }
}

void StoryParser::Block(const yaml::Node& item, bool rule, StoryData& out) {
  const char* kind = rule ? "rule" : "story";
  if (rule)
    c_.CheckKeys(item, {"rule", "steps", "condition", "conversation_start", "wait_for_user_input",
                        "metadata"},
                 "a rule");
  else
    c_.CheckKeys(item, {"story", "steps", "metadata"}, "a story");
  const yaml::Node* name = item.Get(kind);
  if (!name || name->IsNull() || (name->IsString() && name->value.empty())) {
    c_.Warn(item, std::string("The ") + kind + " has an empty name. " +
                      (rule ? "Rules" : "Stories") + " should have a name defined under '" + kind +
                      "' key. It will be skipped.");
    return;
  }
  if (!c_.ExpectString(*name, std::string("The ") + kind + " name")) return;
  const yaml::Node* steps = item.Get("steps");
  if (!steps || steps->IsNull() || (steps->IsSeq() && steps->items.empty())) {
    c_.Warn(item, std::string("The ") + kind + " '" + name->value + "' has no steps. It will be skipped.");
    return;
  }
  if (!c_.ExpectSeq(*steps, std::string("The steps of ") + kind + " '" + name->value + "'")) return;

  StoryStep current;
  current.block_name = name->value;
  current.is_rule = rule;
  current.location = c_.At(item);
  if (rule) {
    if (const yaml::Node* cs = item.Get("conversation_start"))
      if (c_.ExpectBool(*cs, "'conversation_start'")) current.conversation_start = cs->AsBool();
    if (const yaml::Node* w = item.Get("wait_for_user_input"))
      if (c_.ExpectBool(*w, "'wait_for_user_input'")) current.wait_for_user_input = w->AsBool();
    if (const yaml::Node* condition = item.Get("condition"); condition && !condition->IsNull()) {
      if (c_.ExpectSeq(*condition, "The 'condition' of rule '" + name->value + "'")) {
        for (const yaml::NodePtr& cond : condition->items) {
          if (!c_.ExpectMap(*cond, "A rule condition")) continue;
          if (const yaml::Node* loop = cond->Get("active_loop")) {
            StoryEvent e;
            e.type = EventType::kActiveLoop;
            e.location = c_.At(*cond);
            if (!loop->IsNull() && c_.ExpectString(*loop, "'active_loop'")) e.name = loop->value;
            current.condition.push_back(std::move(e));
          } else if (const yaml::Node* slots = cond->Get("slot_was_set")) {
            SlotItems(*slots, current.condition);
          } else {
            c_.Error(*cond, "A rule condition must be `active_loop: <form>` or `slot_was_set: [...]`.");
          }
        }
      }
    }
  }
  std::vector<StoryStep> done;
  for (const yaml::NodePtr& step : steps->items) Step(*step, rule, done, current);
  // A story ending in a checkpoint leaves an empty trailing part: drop it.
  if (!current.events.empty() || done.empty()) done.push_back(std::move(current));
  for (StoryStep& s : done) out.steps.push_back(std::move(s));
  if (rule) ++out.rule_count; else ++out.story_count;
}

std::string StoryParser::IntentName(const yaml::Node& node) {
  std::string intent = node.value;
  if (util::StartsWith(intent, "/")) {
    c_.Warn(node, "Found intent '" + intent + "' in stories which starts with '/'. This symbol "
                  "is stripped; write the intent name without it.");
    intent = intent.substr(1);
  }
  const size_t slash = intent.find('/');
  if (slash != std::string::npos && !is_test_) {
    c_.Warn(node, "Found full retrieval intent '" + intent + "' in stories. The base intent '" +
                      intent.substr(0, slash) + "' is used instead.");
    intent = intent.substr(0, slash);
  }
  return intent;
}

bool StoryParser::Entities(const yaml::Node& list, std::vector<EntityAnnotation>& out) {
  if (list.IsNull()) return true;
  if (!c_.ExpectSeq(list, "'entities'")) return false;
  for (const yaml::NodePtr& item : list.items) {
    EntityAnnotation e;
    if (item->IsString()) {
      e.entity = item->value;  // bare entity name: value unknown
    } else if (item->IsMap()) {
      for (const auto& [k, v] : item->entries) {
        if (!k->IsScalar()) continue;
        if (k->value == "role" && c_.ExpectString(*v, "'role'")) e.role = v->value;
        else if (k->value == "group" && c_.ExpectString(*v, "'group'")) e.group = v->value;
        else if (k->value != "role" && k->value != "group") {
          if (!e.entity.empty()) {
            c_.Error(*k, "An entity item must name exactly one entity (plus optional 'role' and "
                         "'group'); found '" + e.entity + "' and '" + k->value + "'.");
            return false;
          }
          e.entity = k->value;
          e.value = v->ToJson();
        }
      }
      if (e.entity.empty()) {
        c_.Error(*item, "An entity item must name an entity, e.g. `- cuisine: italian`.");
        return false;
      }
    } else {
      c_.Error(*item, "An entity item must be an entity name or a mapping `entity: value` but is " +
                          item->Describe() + ".");
      return false;
    }
    out.push_back(std::move(e));
  }
  return true;
}

bool StoryParser::User(const yaml::Node& step, StoryEvent& out) {
  out.type = EventType::kUser;
  out.location = c_.At(step);
  for (const auto& [k, v] : step.entries) {
    if (!k->IsScalar()) continue;
    if (k->value != "intent" && k->value != "user" && k->value != "entities" && k->value != "metadata") {
      c_.Error(*k, "Unknown key '" + k->value + "' in a user step. Expected 'intent', 'user', "
                   "'entities' or 'metadata'.");
      return false;
    }
  }
  if (const yaml::Node* intent = step.Get("intent")) {
    if (!c_.ExpectName(*intent, "The intent of a story step")) return false;
    out.name = IntentName(*intent);
  }
  if (const yaml::Node* user = step.Get("user")) {
    if (!c_.ExpectString(*user, "The text of a 'user' step")) return false;
    const std::string raw = util::Strip(user->value);
    if (raw.empty()) {
      c_.Warn(*user, "User utterance cannot be empty. This story step will be skipped.");
      return false;
    }
    ParsedExample parsed = ParseAnnotatedText(raw, c_.At(*user), c_.diagnostics());
    out.text = parsed.plain_text;
    out.entities = std::move(parsed.entities);
    if (util::StartsWith(out.text, "/") && out.name.empty()) {
      // `/intent{"entity": "value"}` shorthand: the intent and entities come from it.
      const std::string body = out.text.substr(1);
      const size_t brace = body.find_first_of("{@");
      out.name = body.substr(0, brace);
      if (brace != std::string::npos && body[brace] == '{') {
        Json entities = Json::parse(body.substr(brace), nullptr, false);
        if (entities.is_object()) {
          for (const auto& [name, value] : entities.items()) {
            EntityAnnotation e;
            e.entity = name;
            e.value = value;
            out.entities.push_back(std::move(e));
          }
        } else {
          c_.Error(*user, "Incorrect training data format ('" + body.substr(brace) +
                              "'): the entities of a '/intent{...}' message must be a JSON object.");
        }
      }
    }
  }
  if (const yaml::Node* entities = step.Get("entities")) {
    if (step.Get("user")) {
      c_.Warn(*entities, "'entities' next to 'user' text are ignored: annotate the entities in the "
                         "text instead, e.g. `user: \"I want [pizza](food)\"`.");
    } else if (!Entities(*entities, out.entities)) {
      return false;
    }
  }
  if (out.name.empty() && out.text.empty()) {
    c_.Warn(step, "Issue found in a story step: the user step has neither an intent nor text. "
                  "It will be skipped.");
    return false;
  }
  return true;
}

bool StoryParser::SlotItems(const yaml::Node& node, std::vector<StoryEvent>& out) {
  if (!c_.ExpectSeq(node, "'slot_was_set'")) return false;
  for (const yaml::NodePtr& item : node.items) {
    StoryEvent e;
    e.type = EventType::kSlotSet;
    e.location = c_.At(*item);
    if (item->IsString()) {
      e.name = item->value;
      e.bare_slot = true;
    } else if (item->IsMap() && item->entries.size() == 1 && item->entries[0].first->IsString()) {
      e.name = item->entries[0].first->value;
      e.value = item->entries[0].second->ToJson();
    } else {
      c_.Warn(*item, "Invalid slot: each item of 'slot_was_set' must be `slot_name: value` or a "
                     "slot name; found " + item->Describe() + ". It will be skipped.");
      continue;
    }
    out.push_back(std::move(e));
  }
  return true;
}

void StoryParser::Step(const yaml::Node& step, bool rule, std::vector<StoryStep>& done,
                       StoryStep& current) {
  if (step.IsString() && step.value == kRuleSnippetAction) {
    StoryEvent e;
    e.type = EventType::kAction;
    e.name = kRuleSnippetAction;
    e.location = c_.At(step);
    current.events.push_back(std::move(e));
    return;
  }
  if (!step.IsMap()) {
    c_.Warn(step, "Found an unexpected step in the story description: " + step.Describe() +
                      ". Steps must be mappings such as `- intent: greet`. It will be skipped.");
    return;
  }
  auto has = [&](const char* k) { return step.GetKey(k) != nullptr; };
  if (has("intent") || has("user")) {
    StoryEvent e;
    if (User(step, e)) current.events.push_back(std::move(e));
  } else if (has("action")) {
    c_.CheckKeys(step, {"action", "metadata"}, "an action step");
    const yaml::Node* action = step.Get("action");
    if (action->IsNull() || (action->IsString() && action->value.empty())) {
      c_.Warn(step, "Action name cannot be empty. This story step will be skipped.");
      return;
    }
    if (!c_.ExpectName(*action, "The action of a story step")) return;
    StoryEvent e;
    e.type = EventType::kAction;
    e.name = action->value;
    e.location = c_.At(step);
    current.events.push_back(std::move(e));
  } else if (has("bot")) {
    if (rule) {
      c_.Error(*step.GetKey("bot"), "Rules cannot contain 'bot' steps; use `action: utter_...` instead.");
      return;
    }
    c_.CheckKeys(step, {"bot", "metadata"}, "a bot step");
    const yaml::Node* bot = step.Get("bot");
    if (!c_.ExpectString(*bot, "The text of a 'bot' step")) return;
    StoryEvent e;
    e.type = EventType::kAction;
    e.text = util::Strip(bot->value);
    e.location = c_.At(step);
    current.events.push_back(std::move(e));
  } else if (has("checkpoint")) {
    if (rule) {
      c_.Error(*step.GetKey("checkpoint"), "Rules cannot contain checkpoints.");
      return;
    }
    c_.CheckKeys(step, {"checkpoint", "slot_was_set", "metadata"}, "a checkpoint step");
    const yaml::Node* name = step.Get("checkpoint");
    if (!c_.ExpectName(*name, "The checkpoint name")) return;
    Checkpoint checkpoint{name->value, {}, c_.At(step)};
    if (const yaml::Node* slots = step.Get("slot_was_set")) SlotItems(*slots, checkpoint.conditions);
    if (current.events.empty() && current.end_checkpoints.empty()) {
      current.start_checkpoints.push_back(std::move(checkpoint));
    } else {
      // A checkpoint after events ends this part; a following part starts from it.
      current.end_checkpoints.push_back(checkpoint);
      StoryStep next;
      next.block_name = current.block_name;
      next.location = checkpoint.location;
      next.start_checkpoints.push_back(std::move(checkpoint));
      done.push_back(std::move(current));
      current = std::move(next);
    }
  } else if (has("slot_was_set")) {
    c_.CheckKeys(step, {"slot_was_set", "metadata"}, "a slot_was_set step");
    SlotItems(*step.Get("slot_was_set"), current.events);
  } else if (has("active_loop")) {
    c_.CheckKeys(step, {"active_loop", "metadata"}, "an active_loop step");
    const yaml::Node* loop = step.Get("active_loop");
    StoryEvent e;
    e.type = EventType::kActiveLoop;
    e.location = c_.At(step);
    if (!loop->IsNull()) {
      if (!c_.ExpectName(*loop, "'active_loop'")) return;
      e.name = loop->value;
    }
    current.events.push_back(std::move(e));
  } else if (has("or")) {
    c_.CheckKeys(step, {"or", "metadata"}, "an 'or' step");
    const yaml::Node* alternatives = step.Get("or");
    if (!c_.ExpectSeq(*alternatives, "'or'")) return;
    StoryEvent e;
    e.type = EventType::kOr;
    e.location = c_.At(step);
    for (const yaml::NodePtr& alt : alternatives->items) {
      if (alt->IsMap() && (alt->Get("intent") || alt->Get("user"))) {
        StoryEvent user;
        if (User(*alt, user)) e.alternatives.push_back(std::move(user));
      } else if (alt->IsMap() && alt->Get("slot_was_set")) {
        SlotItems(*alt->Get("slot_was_set"), e.alternatives);
      } else {
        c_.Warn(*alt, "Invalid 'or' step: alternatives must be user steps (`intent:`/`user:`) or "
                      "`slot_was_set:`. The whole 'or' step will be skipped.");
        return;
      }
    }
    if (!e.alternatives.empty()) current.events.push_back(std::move(e));
  } else if (has("metadata") && step.entries.size() == 1) {
    return;
  } else {
    const yaml::Node& key = *step.entries.front().first;
    c_.Error(key, "Unknown step kind '" + (key.IsScalar() ? key.value : std::string("?")) + "' in " +
                      (rule ? "rule" : "story") + " '" + current.block_name +
                      "'. A step must have one of: 'intent', 'user', 'action', " +
                      (rule ? "" : "'bot', 'checkpoint', ") + "'slot_was_set', 'active_loop', 'or'.");
  }
}

}  // namespace

StoryData ParseStories(const std::string& text, const std::filesystem::path& path,
                       util::Diagnostics& diagnostics, bool is_test_file) {
  StoryData data;
  FileContext context(path.string(), diagnostics);
  const yaml::NodePtr root = yaml::Parse(text, path.string());
  if (root->IsNull() || !context.ExpectMap(*root, "A stories file")) return data;
  if (!CheckFormatVersion(*root, context)) return data;
  StoryParser parser(context, is_test_file);
  if (const yaml::Node* stories = root->Get("stories")) parser.Blocks(*stories, false, data);
  if (const yaml::Node* rules = root->Get("rules")) parser.Blocks(*rules, true, data);
  return data;
}

}  // namespace trainyard::data
