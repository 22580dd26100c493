#include "core/policy/story_conflicts.h"

#include <algorithm>
#include <map>
#include <set>

namespace trainyard::policy {

std::vector<util::Diagnostic> FindStoryConflicts(const data::StoryGraph& graph, const Json& domain, int max_history) {
  struct Seen {
    std::map<std::string, std::set<std::string>> stories_by_action;  // ordered for stable messages
    std::string after;                                                // "intent 'x'" / "action 'y'"
    util::SourceLocation location;                                    // the latest story action met here
    size_t order = 0;
  };
  std::map<std::string, Seen> by_history;
  size_t order = 0;
  for (const TrainingTracker& tracker : GenerateTrackers(graph, domain, {})) {
    if (tracker.is_rule) continue;
    DialogueTracker t(domain);
    bool skip_first = FirstActionIsUnpredictable(tracker);
    for (const data::StoryEvent& e : ExplicitEvents(tracker.events, true)) {
      if (e.type == data::EventType::kAction && skip_first) {
        skip_first = false;
      } else if (e.type == data::EventType::kAction && e.name != kActionUnlikelyIntent) {
        std::vector<State> states = t.PastStates();
        if (max_history > 0 && states.size() > static_cast<size_t>(max_history))
          states.erase(states.begin(), states.end() - max_history);
        const State& last = states.back();
        std::string after = "the conversation start";
        if (last.contains("prev_action")) {
          const Json& p = last["prev_action"];
          if (p.value("action_name", "") == kActionListen && last.contains("user"))
            after = last["user"].contains("intent") ? "intent '" + last["user"]["intent"].get<std::string>() + "'"
                                                    : "user text '" + last["user"].value("text", "") + "'";
          else
            after = "action '" + p.value("action_name", p.value("action_text", "")) + "'";
        }
        Seen& seen = by_history[Json(states).dump()];
        if (seen.stories_by_action.empty()) seen.order = order++;
        seen.stories_by_action[e.name.empty() ? e.text : e.name].insert(tracker.name);
        seen.after = after;
        if (seen.stories_by_action.size() > 1 && seen.location.empty()) seen.location = e.location;
      }
      t.Apply(e);
    }
  }
  std::vector<std::pair<size_t, util::Diagnostic>> found;
  for (const auto& [key, seen] : by_history) {
    if (seen.stories_by_action.size() < 2) continue;
    std::string message = "Story structure conflict after " + seen.after + ":";
    for (const auto& [action, stories] : seen.stories_by_action) {
      std::string names;
      for (const std::string& s : stories) names += (names.empty() ? "'" : ", '") + s + "'";
      message += "\n  " + action + " predicted in " + names;
    }
    found.emplace_back(seen.order, util::Diagnostic{util::Severity::kError, message, seen.location});
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<util::Diagnostic> out;
  for (auto& [o, d] : found) out.push_back(std::move(d));
  return out;
}

}  // namespace trainyard::policy
