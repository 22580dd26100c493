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

std::vector<std::pair<std::vector<State>, std::string>> ActionExamples(const TrainingTracker& tracker,
                                                                      const Json& domain) {
  std::set<std::string> featurized_slots;
  if (domain.contains("slots"))
    for (const auto& [name, slot] : domain["slots"].items())
      if (slot.value("influence_conversation", true)) featurized_slots.insert(name);
  std::vector<std::pair<std::vector<State>, std::string>> out;
  std::vector<State> history;
  Json user = nullptr;
  Json prev_action = {{"action_name", "action_listen"}};
  Json slots = Json::object();
  std::string active_loop;
  auto current = [&] {
    State s = Json::object();
    if (!user.is_null()) s["user"] = user;
    s["prev_action"] = prev_action;
    if (!slots.empty()) s["slots"] = slots;
    if (!active_loop.empty()) s["active_loop"] = {{"name", active_loop}};
    return s;
  };
  bool bot_acted = false;  // a bot action since the last user turn: the bot must listen next
  for (const StoryEvent& e : tracker.events) {
    switch (e.type) {
      case EventType::kUser: {
        if (bot_acted) {
          history.push_back(current());
          out.emplace_back(history, "action_listen");
          bot_acted = false;
        }
        user = Json::object();
        if (!e.name.empty()) user["intent"] = e.name;
        else user["text"] = e.text;
        std::set<std::string> entities;
        for (const auto& en : e.entities) entities.insert(en.entity);
        if (!entities.empty()) user["entities"] = entities;
        prev_action = {{"action_name", "action_listen"}};
        break;
      }
      case EventType::kAction: {
        if (e.name == data::kRuleSnippetAction) break;
        const std::string action = e.name.empty() ? e.text : e.name;
        history.push_back(current());
        out.emplace_back(history, action);
        prev_action = e.name.empty() ? Json{{"action_text", e.text}} : Json{{"action_name", e.name}};
        bot_acted = true;
        break;
      }
      case EventType::kSlotSet:
        if (featurized_slots.count(e.name)) {
          if (e.value.is_null() && !e.bare_slot) slots.erase(e.name);
          else slots[e.name] = e.bare_slot ? Json("filled") : e.value;
        }
        break;
      case EventType::kActiveLoop:
        active_loop = e.name;
        break;
      case EventType::kOr:
        break;  // expanded before
    }
  }
  // A story ends by listening to the user (rules may not: wait_for_user_input).
  if (bot_acted && !tracker.is_rule) {
    history.push_back(current());
    out.emplace_back(history, "action_listen");
  }
  return out;
}

}  // namespace trainyard::policy
