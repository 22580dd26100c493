#include "core/policy/trackers.h"

#include <map>
#include <set>

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

bool StartsStory(const data::StoryStep& step) {
  if (step.start_checkpoints.empty()) return true;
  for (const data::Checkpoint& c : step.start_checkpoints)
    if (c.name == data::kStoryStart) return true;
  return false;
}

}  // namespace

std::vector<TrainingTracker> GenerateTrackers(const data::StoryGraph& graph, const TrackerOptions& options,
                                              std::vector<std::string>* warnings) {
  const auto& steps = graph.steps();
  std::map<size_t, std::vector<size_t>> next;
  std::set<std::pair<size_t, size_t>> cyclic(graph.cyclic_edges().begin(), graph.cyclic_edges().end());
  for (const auto& edge : graph.edges())
    if (!cyclic.count(edge)) next[edge.first].push_back(edge.second);
  std::vector<TrainingTracker> out;
  bool cut = false;
  // Depth-first through checkpoints; each path from a story start to a step
  // without continuation is one conversation.
  struct Frame {
    size_t step;
    std::vector<StoryEvent> events;
    std::string name;
  };
  for (size_t i : graph.ordered_steps()) {
    if (steps[i].is_rule || !StartsStory(steps[i])) continue;
    std::vector<Frame> stack{{i, {}, steps[i].block_name}};
    while (!stack.empty()) {
      Frame f = std::move(stack.back());
      stack.pop_back();
      f.events.insert(f.events.end(), steps[f.step].events.begin(), steps[f.step].events.end());
      auto it = next.find(f.step);
      if (it == next.end() || it->second.empty()) {
        for (auto& seq : Expand(f.events, options.tracker_limit, cut)) {
          if (out.size() >= options.tracker_limit) {
            cut = true;
            break;
          }
          out.push_back({f.name, false, std::move(seq)});
        }
        continue;
      }
      for (size_t child : it->second) {
        const std::string name = steps[child].block_name == steps[f.step].block_name
                                     ? f.name
                                     : f.name + " > " + steps[child].block_name;
        stack.push_back({child, f.events, name});
      }
    }
  }
  for (const data::StoryStep& step : steps) {
    if (!step.is_rule) continue;
    std::vector<StoryEvent> events = step.condition;
    events.insert(events.end(), step.events.begin(), step.events.end());
    for (auto& seq : Expand(events, options.tracker_limit, cut)) {
      if (out.size() >= options.tracker_limit) {
        cut = true;
        break;
      }
      out.push_back({step.block_name, true, std::move(seq)});
    }
  }
  if (cut && warnings)
    warnings->push_back("Tracker generation stopped at " + std::to_string(options.tracker_limit) +
                        " trackers; some story combinations are not used for training.");
  return out;
}

namespace {

// Replays events and records the dialogue state before each bot action.
class StateMachine {
 public:
  explicit StateMachine(const Json& domain) {
    if (domain.contains("slots"))
      for (const auto& [name, slot] : domain["slots"].items())
        if (slot.value("influence_conversation", true)) featurized_slots_.insert(name);
  }

  // Feeds one event; returns the example (history, action) it completes, if any.
  void Feed(const StoryEvent& e, std::vector<std::pair<std::vector<State>, std::string>>& out) {
    switch (e.type) {
      case EventType::kUser: {
        if (bot_acted_) Act("action_listen", out);
        user_ = Json::object();
        if (!e.name.empty()) user_["intent"] = e.name;
        else user_["text"] = e.text;
        std::set<std::string> entities;
        for (const auto& en : e.entities) entities.insert(en.entity);
        if (!entities.empty()) user_["entities"] = entities;
        prev_action_ = {{"action_name", "action_listen"}};
        bot_acted_ = false;
        break;
      }
      case EventType::kAction: {
        if (e.name == data::kRuleSnippetAction) break;
        Act(e.name.empty() ? e.text : e.name, out);
        prev_action_ = e.name.empty() ? Json{{"action_text", e.text}} : Json{{"action_name", e.name}};
        bot_acted_ = e.name != "action_listen";
        break;
      }
      case EventType::kSlotSet:
        if (featurized_slots_.count(e.name)) {
          if (e.value.is_null() && !e.bare_slot) slots_.erase(e.name);
          else slots_[e.name] = e.bare_slot ? Json("filled") : e.value;
        }
        break;
      case EventType::kActiveLoop:
        active_loop_ = e.name;
        break;
      case EventType::kOr:
        break;  // expanded before
    }
  }

  State Current() const {
    State s = Json::object();
    if (!user_.is_null()) s["user"] = user_;
    s["prev_action"] = prev_action_;
    if (!slots_.empty()) s["slots"] = slots_;
    if (!active_loop_.empty()) s["active_loop"] = {{"name", active_loop_}};
    return s;
  }

  // Records the state before `action`.
  void Act(const std::string& action, std::vector<std::pair<std::vector<State>, std::string>>& out) {
    history_.push_back(Current());
    out.emplace_back(history_, action);
  }

  bool bot_acted() const { return bot_acted_; }
  const std::vector<State>& history() const { return history_; }

 private:
  std::set<std::string> featurized_slots_;
  std::vector<State> history_;
  Json user_ = nullptr;
  Json prev_action_ = {{"action_name", "action_listen"}};
  Json slots_ = Json::object();
  std::string active_loop_;
  bool bot_acted_ = false;  // a bot action since the last user turn: the bot must listen next
};

}  // namespace

std::vector<std::pair<std::vector<State>, std::string>> ActionExamples(const TrainingTracker& tracker,
                                                                      const Json& domain) {
  StateMachine machine(domain);
  std::vector<std::pair<std::vector<State>, std::string>> out;
  for (const StoryEvent& e : tracker.events) machine.Feed(e, out);
  // A story ends by listening to the user (rules may not: wait_for_user_input).
  if (machine.bot_acted() && !tracker.is_rule) machine.Act("action_listen", out);
  return out;
}

std::vector<State> ConversationStates(const std::vector<data::StoryEvent>& events, const Json& domain) {
  StateMachine machine(domain);
  std::vector<std::pair<std::vector<State>, std::string>> ignored;
  for (const StoryEvent& e : events) machine.Feed(e, ignored);
  std::vector<State> states = machine.history();
  states.push_back(machine.Current());
  return states;
}

std::vector<std::string> ActionNames(const Json& domain) {
  std::vector<std::string> out = {"action_listen", "action_restart", "action_session_start", "action_default_fallback",
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
