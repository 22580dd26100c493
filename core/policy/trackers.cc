#include "core/policy/trackers.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <set>

#include "core/util/py_random.h"

namespace trainyard::policy {
namespace {

using data::EventType;
using data::StoryEvent;

// Expands `or` events: every combination of alternatives, in order.
std::vector<std::vector<StoryEvent>> Expand(const std::vector<StoryEvent>& events, size_t limit, bool& truncated) {
  std::vector<std::vector<StoryEvent>> out{{}};
  for (const StoryEvent& e : events) {
    if (e.type != EventType::kOr) {
      for (auto& seq : out) seq.push_back(e);
      continue;
    }
    std::vector<std::vector<StoryEvent>> next;
    for (const auto& seq : out)
      for (const StoryEvent& alt : e.alternatives) {
        if (next.size() >= limit) {
          truncated = true;
          break;
        }
        next.push_back(seq);
        next.back().push_back(alt);
      }
    out = std::move(next);
  }
  return out;
}

std::vector<data::Checkpoint> StartCheckpoints(const data::StoryStep& step) {
  if (!step.start_checkpoints.empty()) return step.start_checkpoints;
  data::Checkpoint start;
  start.name = data::kStoryStart;
  return {start};
}

// A conversation being generated: its events as written (no listens), and the
// dialogue state they lead to with the listens a conversation has.
struct Partial {
  TrainingTracker tracker;
  DialogueTracker state;
  bool listening = false;  // the latest event applied is action_listen
  std::string texts;       // the user texts so far: trackers that differ in them differ
};

StoryEvent Listen() {
  StoryEvent listen;
  listen.type = EventType::kAction;
  listen.name = kActionListen;
  return listen;
}

void Apply(Partial& p, const StoryEvent& e) {
  p.tracker.events.push_back(e);
  if (e.type == EventType::kUser && !p.listening) p.state.Apply(Listen());
  p.state.Apply(e);
  p.listening = e.type == EventType::kAction && e.name == kActionListen;
  if (e.type == EventType::kUser && !e.text.empty()) p.texts += e.text + '\n';
}

// What makes trackers equal for Rasa's deduplication: their dialogue states,
// the last `last_n` of them when last_n > 0.
std::string StatesKey(const std::vector<State>& states, size_t last_n) {
  const size_t from = last_n > 0 && states.size() > last_n ? states.size() - last_n : 0;
  std::string key;
  for (size_t i = from; i < states.size(); ++i) key += states[i].dump() + '\n';
  return key;
}

// The whole history's key: its states and its user texts.
std::string FullKey(const std::vector<State>& states, const std::string& texts) {
  return StatesKey(states, 0) + '\x1e' + texts;
}

// A finished story's key: its states once it listens at the end, as a story does.
std::string StoryEndKey(const Partial& p) {
  DialogueTracker ended = p.state;
  if (!p.listening) ended.Apply(Listen());
  return FullKey(ended.PastStates(), p.texts);
}

bool Satisfies(const Partial& p, const data::Checkpoint& checkpoint) {
  for (const StoryEvent& c : checkpoint.conditions) {
    if (c.type != EventType::kSlotSet) continue;
    const Json value = p.state.SlotValue(c.name);
    if (c.bare_slot ? value.is_null() : value != c.value) return false;
  }
  return true;
}

// Rasa's deduplication when trackers reach a step: of the trackers with equal
// states only the first goes on (all of them would do the same from here).
// With `last_n`, trackers whose last states equal an earlier one's stop here,
// and are kept as finished when their whole history is new.
std::vector<Partial> RemoveDuplicates(std::vector<Partial> incoming, size_t last_n, std::set<std::string>& seen,
                                      std::vector<Partial>& finished) {
  std::set<std::string> step_seen;
  std::vector<Partial> unique;
  for (Partial& p : incoming) {
    const std::vector<State> states = p.state.PastStates();
    const std::string full = FullKey(states, p.texts);
    if (step_seen.count(full)) continue;
    if (last_n == 0) {
      unique.push_back(std::move(p));
    } else if (step_seen.insert(StatesKey(states, last_n)).second) {
      unique.push_back(std::move(p));
    } else if (states.size() > last_n && seen.insert(full).second) {
      finished.push_back(std::move(p));
    }
    step_seen.insert(full);
  }
  return unique;
}

// Python's list[:n] after random.shuffle(list): the order changes even when
// nothing is cut, and the draws are taken either way.
void Subsample(std::vector<Partial>& v, size_t n, util::PyRandom& rng) {
  rng.Shuffle(v);
  if (v.size() > n) v.erase(v.begin() + static_cast<std::ptrdiff_t>(n), v.end());
}

// Every tracker that reached `step`, continued with each way through the
// step's `or` alternatives.
std::vector<Partial> Process(const data::StoryStep& step, const std::vector<Partial>& incoming, size_t limit,
                             bool& cut) {
  const auto alternatives = Expand(step.events, limit, cut);
  std::vector<Partial> out;
  for (const Partial& in : incoming)
    for (const auto& events : alternatives) {
      if (out.size() >= limit) {
        cut = true;
        return out;
      }
      Partial p = in;
      std::string& name = p.tracker.name;
      const bool named = (" > " + name + " > ").find(" > " + step.block_name + " > ") != std::string::npos;
      if (name.empty()) name = step.block_name;
      else if (!step.block_name.empty() && !named) name += " > " + step.block_name;  // each block named once
      for (const StoryEvent& e : events) Apply(p, e);
      out.push_back(std::move(p));
    }
  return out;
}

size_t Count(const std::map<std::string, std::vector<Partial>>& active) {
  size_t n = 0;
  for (const auto& [name, list] : active) n += list.size();
  return n;
}

// Rasa's TrainingDataGenerator for stories: rounds over the steps in order,
// each step continuing the trackers waiting at its start checkpoints, until a
// round reaches no new checkpoint; then up to three augmentation rounds that
// start again from finished stories.
std::vector<TrainingTracker> StoryTrackers(const data::StoryGraph& graph, const Json& domain,
                                           const TrackerOptions& options, bool& cut) {
  const auto& steps = graph.steps();
  std::map<std::string, std::vector<Partial>> active;
  active[data::kStoryStart].push_back(Partial{{}, DialogueTracker(domain), false, ""});
  std::vector<Partial> finished, story_ends;
  std::set<std::string> seen;  // the keys of finished trackers
  util::PyRandom rng(42);
  const size_t factor = static_cast<size_t>(std::max(0, options.augmentation_factor));
  const int augmentation_rounds = factor > 0 ? 3 : 0;
  std::set<std::string> used, previous_unused;
  bool reached = false;
  for (int round = 0; !reached || round < augmentation_rounds;) {
    if (Count(active) == 0) break;
    if (Count(active) + finished.size() + story_ends.size() > options.tracker_limit) {
      cut = true;  // checkpoint loops that never settle would go on forever
      break;
    }
    std::set<std::string> unused;
    for (size_t i : graph.ordered_steps()) {
      const data::StoryStep& step = steps[i];
      if (step.is_rule) continue;
      std::vector<Partial> incoming;
      for (const data::Checkpoint& start : StartCheckpoints(step)) {
        auto it = active.find(start.name);
        if (it != active.end() && !it->second.empty()) {
          for (const Partial& p : it->second)
            if (Satisfies(p, start)) incoming.push_back(p);
          used.insert(start.name);
        } else if (!used.count(start.name)) {
          unused.insert(start.name);  // maybe reached in a later round
        }
      }
      if (incoming.empty()) continue;
      if (options.remove_duplicates)
        incoming = RemoveDuplicates(std::move(incoming), options.unique_last_num_states, seen, finished);
      if (reached) Subsample(incoming, factor * 10, rng);
      std::vector<Partial> out = Process(step, incoming, options.tracker_limit, cut);
      for (const data::Checkpoint& end : step.end_checkpoints) {
        auto& waiting = active[end.name];
        waiting.insert(waiting.end(), out.begin(), out.end());
        if (used.count(end.name)) unused.insert(end.name);  // its steps come again next round
      }
      if (step.end_checkpoints.empty())
        for (Partial& p : out)
          if (!options.remove_duplicates || seen.insert(StoryEndKey(p)).second) story_ends.push_back(std::move(p));
    }
    ++round;
    if (!reached) {
      for (const auto& [name, list] : active)
        if (!used.count(name)) unused.insert(name);
      std::map<std::string, std::vector<Partial>> next;
      for (const std::string& name : unused) {
        auto it = active.find(name);
        if (name != data::kStoryStart && it != active.end()) next[name] = std::move(it->second);
      }
      active = std::move(next);
      reached = unused == previous_unused || Count(active) == 0;
      previous_unused = std::move(unused);
      if (reached) {
        // Trackers waiting at checkpoints no step starts from end there.
        for (const std::string& name : previous_unused) {
          auto it = active.find(name);
          if (!used.count(name) && it != active.end())
            finished.insert(finished.end(), it->second.begin(), it->second.end());
        }
        round = 0;
      }
    }
    if (reached) {
      used.clear();
      active.clear();
      if (options.use_story_concatenation) {
        // Finished stories (glued ones too) go on with a story from the start;
        // the listen they end with is the one the next story starts with.
        Subsample(story_ends, story_ends.size(), rng);
        for (size_t k = 0; k < std::min(factor, story_ends.size()); ++k) {
          active[data::kStoryStart].push_back(story_ends[k]);
          active[data::kStoryStart].back().tracker.is_augmented = true;
        }
      }
    }
  }
  std::vector<Partial> original = std::move(finished), augmented;
  for (Partial& p : story_ends) (p.tracker.is_augmented ? augmented : original).push_back(std::move(p));
  if (factor > 0) Subsample(augmented, factor * 10, rng);
  std::vector<TrainingTracker> out;
  for (auto* list : {&original, &augmented})
    for (Partial& p : *list) out.push_back(std::move(p.tracker));
  return out;
}

}  // namespace

std::vector<TrainingTracker> GenerateTrackers(const data::StoryGraph& graph, const Json& domain,
                                              const TrackerOptions& options, std::vector<std::string>* warnings) {
  bool cut = false;
  std::vector<TrainingTracker> out = StoryTrackers(graph, domain, options, cut);
  for (const data::StoryStep& step : graph.steps()) {
    if (!step.is_rule) continue;
    StoryEvent snippet;
    snippet.type = EventType::kAction;
    snippet.name = data::kRuleSnippetAction;
    std::vector<StoryEvent> events = step.condition;
    if (!step.conversation_start) events.push_back(snippet);
    events.insert(events.end(), step.events.begin(), step.events.end());
    if (!step.wait_for_user_input) events.push_back(snippet);
    for (auto& seq : Expand(events, options.tracker_limit, cut)) {
      if (out.size() >= options.tracker_limit) {
        cut = true;
        break;
      }
      out.push_back({step.block_name, true, false, std::move(seq)});
    }
  }
  if (out.size() > options.tracker_limit) {
    out.resize(options.tracker_limit);
    cut = true;
  }
  if (cut && warnings)
    warnings->push_back("Tracker generation stopped at " + std::to_string(options.tracker_limit) +
                        " trackers; some story combinations are not used for training.");
  return out;
}

std::vector<StoryEvent> ExplicitEvents(const std::vector<StoryEvent>& events, bool final_listen) {
  std::vector<StoryEvent> out;
  out.reserve(events.size() + events.size() / 2 + 2);
  auto is_listen = [](const StoryEvent& e) { return e.type == EventType::kAction && e.name == kActionListen; };
  StoryEvent listen = Listen();
  for (const StoryEvent& e : events) {
    if (e.type == EventType::kUser && (out.empty() || !is_listen(out.back()))) {
      out.push_back(listen);
      out.back().location = e.location;
    }
    out.push_back(e);
  }
  if (final_listen && !out.empty()) {
    const StoryEvent& last = out.back();
    const bool ends_open = last.type == EventType::kUser || is_listen(last) ||
                           (last.type == EventType::kAction && last.name == data::kRuleSnippetAction);
    if (!ends_open) {
      listen.location = last.location;
      out.push_back(listen);
    }
  }
  return out;
}

// What the domain says about entities in dialogue states: which entity labels
// (entity, entity#role, entity#group) each intent passes on.
struct EntityFilter {
  std::map<std::string, std::set<std::string>> per_intent;
  explicit EntityFilter(const Json& domain) {
    std::set<std::string> all;
    std::set<std::string> muted;
    if (domain.contains("entities"))
      for (const Json& e : domain["entities"]) {
        if (e.is_string()) {
          all.insert(e.get<std::string>());
          continue;
        }
        for (const auto& [name, props] : e.items()) {
          if (!props.value("influence_conversation", true)) muted.insert(name);
          all.insert(name);
          for (const char* key : {"roles", "groups"})
            if (props.contains(key))
              for (const Json& r : props[key]) all.insert(name + "#" + r.get<std::string>());
        }
      }
    if (!domain.contains("intents")) return;
    for (const Json& i : domain["intents"]) {
      if (i.is_string()) {
        per_intent[i.get<std::string>()] = Used(all, muted, Json(true), Json());
        continue;
      }
      for (const auto& [name, props] : i.items())
        per_intent[name] = Used(all, muted, props.value("use_entities", Json(true)),
                                props.value("ignore_entities", Json::array()));
    }
  }
  static std::set<std::string> Used(const std::set<std::string>& all, const std::set<std::string>& muted,
                                    const Json& use, const Json& ignore) {
    auto base = [](const std::string& label) { return label.substr(0, label.find('#')); };
    std::set<std::string> listed;
    if (use.is_array())
      for (const Json& u : use) listed.insert(u.get<std::string>());
    std::set<std::string> ignored;
    if (ignore.is_array())
      for (const Json& u : ignore) ignored.insert(u.get<std::string>());
    std::set<std::string> out;
    for (const std::string& label : all) {
      const std::string entity = base(label);
      if (muted.count(entity) || ignored.count(entity) || ignored.count(label)) continue;
      if (use.is_boolean() ? use.get<bool>() : (listed.count(entity) || listed.count(label))) out.insert(label);
    }
    return out;
  }
};

namespace {

Json SlotDefinition(const Json& domain, const std::string& name) {
  if (!domain.contains("slots") || !domain["slots"].contains(name)) return nullptr;
  return domain["slots"][name];
}

}  // namespace

Json SlotFeatures(const Json& slot, const Json& value) {
  if (!slot.is_object() || !slot.value("influence_conversation", true)) return nullptr;
  const std::string type = slot.value("type", "text");
  std::vector<double> f;
  if (type == "bool") {
    if (!value.is_null()) {
      bool b = false;
      if (value.is_boolean()) b = value.get<bool>();
      else if (value.is_number()) b = value.get<double>() != 0;
      else if (value.is_string()) {
        std::string v = value.get<std::string>();
        for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        b = v == "true" || v == "1" || v == "yes" || v == "y";
      }
      f = {1.0, b ? 1.0 : 0.0};
    }
  } else if (type == "categorical") {
    std::vector<std::string> values;
    if (slot.contains("values"))
      for (const Json& v : slot["values"]) {
        std::string s = v.is_string() ? v.get<std::string>() : v.dump();
        for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        values.push_back(s);
      }
    if (std::find(values.begin(), values.end(), "__other__") == values.end()) values.push_back("__other__");
    f.assign(values.size(), 0.0);
    if (!value.is_null()) {
      std::string s = value.is_string() ? value.get<std::string>() : value.dump();
      for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto it = std::find(values.begin(), values.end(), s);
      if (it == values.end()) it = std::find(values.begin(), values.end(), "__other__");
      f[static_cast<size_t>(it - values.begin())] = 1.0;
    }
  } else if (type == "float") {
    if (value.is_number() || value.is_string()) {
      double v = 0;
      bool ok = true;
      if (value.is_number()) v = value.get<double>();
      else {
        try {
          v = std::stod(value.get<std::string>());
        } catch (...) {
          ok = false;
        }
      }
      if (ok) {
        const double lo = slot.value("min_value", 0.0), hi = slot.value("max_value", 1.0);
        const double range = std::abs(hi - lo) > 0 ? std::abs(hi - lo) : 1.0;
        f = {1.0, (std::max(lo, std::min(hi, v)) - lo) / range};
      }
    }
  } else if (type == "list") {
    if (value.is_array() ? !value.empty() : !value.is_null()) f = {1.0};
  } else if (type != "any") {
    if (!value.is_null()) f = {1.0};  // text and custom slot types
  }
  bool any = false;
  for (double x : f) any |= x != 0.0;
  return any ? Json(f) : Json(nullptr);
}

DialogueTracker::DialogueTracker(const Json& domain, bool is_rule) : domain_(&domain), is_rule_(is_rule) {
  if (!is_rule_ && domain_->contains("slots"))
    for (const auto& [name, slot] : (*domain_)["slots"].items())
      if (slot.contains("initial_value") && !slot["initial_value"].is_null()) slots_[name] = slot["initial_value"];
}

Json DialogueTracker::Features(const std::string& slot, const Json& value) const {
  if (value.is_string() && value.get<std::string>() == kShouldNotBeSet) return value;
  return SlotFeatures(SlotDefinition(*domain_, slot), value);
}

void DialogueTracker::Apply(const StoryEvent& e) {
  switch (e.type) {
    case EventType::kUser: {
      user_ = Json::object();
      latest_intent_ = e.name;
      if (!e.name.empty()) {
        user_["intent"] = e.name;
        std::set<std::string> labels;
        for (const auto& en : e.entities) {
          labels.insert(en.entity);
          if (!en.role.empty()) labels.insert(en.entity + "#" + en.role);
          if (!en.group.empty()) labels.insert(en.entity + "#" + en.group);
        }
        if (!labels.empty()) {
          if (!entity_filter_) entity_filter_ = std::make_shared<const EntityFilter>(*domain_);
          auto it = entity_filter_->per_intent.find(e.name);
          std::vector<std::string> kept;
          for (const std::string& l : labels)
            if (it == entity_filter_->per_intent.end() || it->second.count(l)) kept.push_back(l);
          if (!kept.empty()) user_["entities"] = kept;
        }
      } else {
        user_["text"] = e.text;
      }
      SetSlotsFromEntities(e);
      break;
    }
    case EventType::kAction: {
      if (e.name == kActionUnlikelyIntent) break;
      history_.push_back(CurrentState());
      latest_action_ = e.name.empty() ? e.text : e.name;
      prev_action_ = e.name.empty() ? Json{{"action_text", e.text}} : Json{{"action_name", e.name}};
      loop_rejected_ = false;  // any action resets a rejection (Rasa's set_latest_action)
      break;
    }
    case EventType::kSlotSet:
      if (e.value.is_null() && !e.bare_slot) {
        if (is_rule_) slots_[e.name] = kShouldNotBeSet;
        else slots_.erase(e.name);
      } else {
        slots_[e.name] = e.bare_slot ? Json("filled") : e.value;
      }
      break;
    case EventType::kActiveLoop:
      active_loop_ = e.name;
      loop_state_ = e.name.empty() && is_rule_ ? kShouldNotBeSet : e.name;
      loop_rejected_ = false;
      break;
    case EventType::kActionRejected:
      if (!active_loop_.empty() && e.name == active_loop_) loop_rejected_ = true;
      break;
    case EventType::kOr:
      break;  // expanded before
  }
}

// Rasa makes the slots a user turn fills implicit: every slot with a
// from_entity mapping (not conditioned on an active loop) takes the value of
// the last matching entity, all of them for list slots.
void DialogueTracker::SetSlotsFromEntities(const StoryEvent& e) {
  if (e.entities.empty() || !domain_->contains("slots")) return;
  if (domain_->contains("config") && !(*domain_)["config"].value("store_entities_as_slots", true)) return;
  for (const auto& [name, slot] : (*domain_)["slots"].items()) {
    Json values = Json::array();
    if (slot.contains("mappings"))
      for (const Json& m : slot["mappings"]) {
        if (m.value("type", "") != "from_entity") continue;
        if (m.contains("conditions") && !m["conditions"].empty() &&
            !m["conditions"][0].value("active_loop", Json()).is_null())
          continue;
        for (const auto& en : e.entities)
          if (en.entity == m.value("entity", "") && en.role == m.value("role", "") && en.group == m.value("group", ""))
            values.push_back(en.value);
      }
    if (values.empty()) continue;
    slots_[name] = slot.value("type", "") == "list" ? values : values.back();
  }
}

Json DialogueTracker::SlotValue(const std::string& name) const {
  auto it = slots_.find(name);
  return it == slots_.end() ? Json() : it->second;
}

State DialogueTracker::CurrentState() const {
  State s = Json::object();
  if (!active_loop_.empty() || !loop_state_.empty()) s["active_loop"] = {{"name", loop_state_}};
  if (!prev_action_.is_null()) s["prev_action"] = prev_action_;
  Json slots = Json::object();
  for (const auto& [name, value] : slots_) {
    Json f = Features(name, value);
    if (!f.is_null()) slots[name] = std::move(f);
  }
  if (!slots.empty()) s["slots"] = std::move(slots);
  if (!user_.is_null()) s["user"] = user_;
  return s;
}

std::vector<State> DialogueTracker::PastStates() const {
  std::vector<State> out = history_;
  out.push_back(CurrentState());
  return out;
}

std::vector<std::pair<std::vector<State>, std::string>> ActionExamples(const TrainingTracker& tracker,
                                                                      const Json& domain) {
  DialogueTracker t(domain, tracker.is_rule);
  std::vector<std::pair<std::vector<State>, std::string>> out;
  // A story that starts with a bot action starts mid-conversation: that first
  // action is unpredictable and no example (Rasa marks it so).
  bool skip_first = FirstActionIsUnpredictable(tracker);
  for (const StoryEvent& e : ExplicitEvents(tracker.events, true)) {
    if (e.type == EventType::kAction && skip_first) {
      skip_first = false;
    } else if (e.type == EventType::kAction && e.name != kActionUnlikelyIntent) {
      std::vector<State> states = t.PastStates();
      out.emplace_back(std::move(states), e.name.empty() ? e.text : e.name);
    }
    t.Apply(e);
  }
  return out;
}

bool FirstActionIsUnpredictable(const TrainingTracker& tracker) {
  return !tracker.is_rule && !tracker.events.empty() && tracker.events.front().type == EventType::kAction &&
         tracker.events.front().name != kActionListen;
}

namespace {

void RemoveRuleOnly(State& s, const Json& rule_only) {
  if (!rule_only.is_object()) return;
  if (s.contains("slots")) {
    for (const Json& slot : rule_only.value("rule_only_slots", Json::array()))
      s["slots"].erase(slot.get<std::string>());
    if (s["slots"].empty()) s.erase("slots");
  }
  for (const Json& loop : rule_only.value("rule_only_loops", Json::array()))
    if (s.contains("active_loop") && s["active_loop"].value("name", "") == loop.get<std::string>())
      s.erase("active_loop");
}

}  // namespace

std::vector<State> StoryPolicyStates(const std::vector<StoryEvent>& events, const Json& domain,
                                     const Json& rule_only_data) {
  DialogueTracker t(domain);
  std::vector<State> out;
  Json last_visible_action;  // the previous action as the last visible turn saw it
  bool hidden = false;
  // `t` is the conversation before an action flagged `hide`, or at its end.
  auto visit = [&](bool hide) {
    State s = t.CurrentState();
    if (!hidden) last_visible_action = s.contains("prev_action") ? s["prev_action"] : Json();
    // A loop's happy path goes on as hidden or visible as it was.
    const bool loop_goes_on = !t.active_loop().empty() && t.latest_action() == t.active_loop();
    if (!loop_goes_on) hidden = hide;
    if (hidden) return;
    RemoveRuleOnly(s, rule_only_data);
    const bool after_listen = s.contains("prev_action") && s["prev_action"].value("action_name", "") == kActionListen;
    if (!out.empty() && !after_listen) {
      // Between user turns the user part is the last visible state's.
      if (out.back().contains("user")) s["user"] = out.back()["user"];
      else s.erase("user");
    }
    if (!last_visible_action.is_null()) s["prev_action"] = last_visible_action;
    out.push_back(std::move(s));
  };
  for (const StoryEvent& e : ExplicitEvents(events, false)) {
    if (e.type == EventType::kAction && e.name != kActionUnlikelyIntent) visit(e.hide_rule_turn);
    t.Apply(e);
  }
  visit(false);
  return out;
}

std::vector<std::string> ActionNames(const Json& domain) {
  std::vector<std::string> out = {kActionListen, "action_restart", "action_session_start", "action_default_fallback",
                                  "action_deactivate_loop", "action_revert_fallback_events",
                                  "action_default_ask_affirmation", "action_default_ask_rephrase",
                                  "action_two_stage_fallback", "action_unlikely_intent", "action_back",
                                  "action_send_text", "action_extract_slots"};
  std::set<std::string> seen(out.begin(), out.end());
  auto add = [&](const std::string& a) {
    if (seen.insert(a).second) out.push_back(a);
  };
  if (domain.contains("actions"))
    for (const auto& a : domain["actions"]) add(a.get<std::string>());
  if (domain.contains("responses"))
    for (const auto& [name, r] : domain["responses"].items())
      if (name.rfind("utter_", 0) == 0 && name.find('/') == std::string::npos) add(name);
  if (domain.contains("forms"))
    for (const auto& [name, f] : domain["forms"].items()) add(name);
  if (domain.contains("e2e_actions"))
    for (const auto& a : domain["e2e_actions"]) add(a.get<std::string>());
  return out;
}

}  // namespace trainyard::policy
