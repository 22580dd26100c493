// RulePolicy (Rasa 3.x): rules as a lookup from dialogue states to the next
// action, matched against the end of a conversation; active loops (forms)
// run until they reject; the default actions of /restart, /back and
// /session_start; a core fallback when nothing matches; and at training time
// the checks that rules are small, complete and do not contradict the stories.

#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "core/graph/component.h"
#include "core/policy/policies.h"
#include "core/util/errors.h"
#include "core/util/option_reader.h"

namespace trainyard::policy {
namespace {

using data::EventType;
using data::StoryEvent;

constexpr const char* kFile = "rule_policy.json";
constexpr const char* kRuleOnlyFile = "rule_only_data.json";
constexpr const char* kDefaultRules = "predicting default action with intent ";
constexpr const char* kLoopRules = "handling active loops and forms - ";
constexpr const char* kLoopWasInterrupted = "loop_was_interrupted";
constexpr const char* kDoNotPredictLoop = "do_not_predict_loop_action";
constexpr const char* kRulesDocs = "https://rasa.com/docs/rasa/rules";

const std::map<std::string, std::string>& DefaultActions() {
  static const std::map<std::string, std::string> m = {
      {"restart", "action_restart"}, {"back", "action_back"}, {"session_start", "action_session_start"}};
  return m;
}

bool Truthy(const Json& v) {
  if (v.is_null()) return false;
  if (v.is_string()) return !v.get<std::string>().empty();
  if (v.is_array() || v.is_object()) return !v.empty();
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  return true;
}

bool IsShouldNotBeSet(const Json& v) { return v.is_string() && v.get<std::string>() == kShouldNotBeSet; }

// The active loop a state names, none for "must not be set".
std::string LoopOf(const State& s) {
  if (!s.contains("active_loop")) return "";
  const Json& name = s["active_loop"].value("name", Json());
  return name.is_string() && !IsShouldNotBeSet(name) ? name.get<std::string>() : "";
}

const Json* PrevAction(const State& s) { return s.contains("prev_action") ? &s["prev_action"] : nullptr; }

bool PrevActionIsListen(const State& s) {
  const Json* p = PrevAction(s);
  return p && p->value("action_name", "") == kActionListen;
}

bool IsSnippetState(const State& s) {
  const Json* p = PrevAction(s);
  return p && p->value("action_name", "") == data::kRuleSnippetAction;
}

// The states after the last rule snippet state (anything may come before
// `...`); empty when nothing follows it.
std::vector<State> RuleStates(const std::vector<State>& states) {
  size_t first = 0;
  for (size_t i = states.size(); i-- > 0;)
    if (IsSnippetState(states[i])) {
      first = i + 1;
      break;
    }
  return {states.begin() + static_cast<std::ptrdiff_t>(first), states.end()};
}

std::string Key(const std::vector<State>& states) { return states.empty() ? "" : Json(states).dump(); }

// Every feature a rule state names holds in the conversation state; "must not
// be set" features are unset there.
bool RuleStateMatches(const State& rule, const State& conversation) {
  for (const auto& [type, rule_sub] : rule.items()) {
    const Json empty = Json::object();
    const Json& conv_sub = conversation.contains(type) ? conversation[type] : empty;
    for (const auto& [key, rule_value] : rule_sub.items()) {
      const Json conv_value = conv_sub.value(key, Json());
      if (IsShouldNotBeSet(rule_value)) {
        if (Truthy(conv_value) && !IsShouldNotBeSet(conv_value)) return false;
      } else if (Truthy(rule_value) && conv_value != rule_value) {
        return false;
      }
    }
  }
  return true;
}

struct Rule {
  std::vector<State> states;
  std::string action;
};
using RuleMap = std::map<std::string, Rule>;  // key → rule

// The rules whose states all hold at the end of the conversation `states`.
// A rule for the conversation start matches only the conversation's start.
std::vector<const std::string*> MatchingKeys(const RuleMap& rules, const std::vector<State>& states) {
  std::vector<const std::string*> out;
  for (const auto& [key, rule] : rules) {
    bool ok = true;
    const size_t n = rule.states.size();
    for (size_t i = 0; i < n && ok; ++i) {
      const State& rule_state = rule.states[n - 1 - i];
      if (i >= states.size()) {
        ok = false;  // the conversation is shorter than the rule
        break;
      }
      const State& conv = states[states.size() - 1 - i];
      const bool rule_prev = PrevAction(rule_state) != nullptr, conv_prev = PrevAction(conv) != nullptr;
      if (!rule_prev && !conv_prev) continue;
      if (!rule_prev || !conv_prev) ok = false;
      else ok = RuleStateMatches(rule_state, conv);
    }
    if (ok) out.push_back(&key);
  }
  return out;
}

// Rasa picks the longest matching rule (by its key); ties go to the smallest
// key, so that a prediction never depends on container order.
const std::string* LongestKey(const std::vector<const std::string*>& keys) {
  const std::string* best = nullptr;
  for (const std::string* k : keys)
    if (!best || k->size() > best->size() || (k->size() == best->size() && *k < *best)) best = k;
  return best;
}

struct RuleOutcome {
  std::string action;  // "" when nothing was predicted
  std::string source;  // the rule key, a default/loop source, or the states' key
  bool no_user = false;
  bool returning_from_unhappy_path = false;
};

struct RuleOptions {
  int priority = 6;
  double core_fallback_threshold = 0.3;
  std::string core_fallback_action_name = "action_default_fallback";
  bool enable_fallback_prediction = true;
  bool restrict_rules = true;
  bool check_for_contradictions = true;
  explicit RuleOptions(const Json& c) {
    const util::OptionReader r(c, "RulePolicy");
    priority = r.Int("priority", 6, std::numeric_limits<int>::min());
    core_fallback_threshold = r.Real("core_fallback_threshold", 0.3, 0, 1);  // compared with confidences
    const std::optional<std::string> action = r.Text("core_fallback_action_name", "an action's name");
    if (action && action->empty()) throw r.Error("'core_fallback_action_name' must be an action's name, not \"\".");
    if (action) core_fallback_action_name = *action;
    enable_fallback_prediction = r.Flag("enable_fallback_prediction", true);
    restrict_rules = r.Flag("restrict_rules", true);
    check_for_contradictions = r.Flag("check_for_contradictions", true);
    r.Flag("use_nlu_confidence_as_score", false);
  }
};

class RuleLookup {
 public:
  RuleMap rules;
  RuleMap loop_unhappy;  // key → {states, loop_was_interrupted | do_not_predict_loop_action}
  std::vector<std::string> rule_only_slots, rule_only_loops, rules_not_in_stories;

  Json ToJson() const {
    Json j = {{"rules", Json::object()}, {"rules_for_loop_unhappy_path", Json::object()},
              {"rule_only_slots", rule_only_slots}, {"rule_only_loops", rule_only_loops},
              {"rules_not_in_stories", rules_not_in_stories}};
    for (const auto& [k, r] : rules) j["rules"][k] = r.action;
    for (const auto& [k, r] : loop_unhappy) j["rules_for_loop_unhappy_path"][k] = r.action;
    return j;
  }
  static RuleLookup FromJson(const Json& j) {
    RuleLookup l;
    auto read = [](const Json& m, RuleMap& out) {
      if (!m.is_object()) return;
      for (const auto& [k, v] : m.items()) {
        const Json states = Json::parse(k, nullptr, false);
        if (!states.is_array() || !v.is_string()) throw util::InvalidConfigError("The model's rule_policy.json is corrupt.");
        out[k] = {states.get<std::vector<State>>(), v.get<std::string>()};
      }
    };
    read(j.value("rules", Json()), l.rules);
    read(j.value("rules_for_loop_unhappy_path", Json()), l.loop_unhappy);
    for (const char* key : {"rule_only_slots", "rule_only_loops", "rules_not_in_stories"}) {
      auto& v = std::string(key) == "rule_only_slots"   ? l.rule_only_slots
                : std::string(key) == "rule_only_loops" ? l.rule_only_loops
                                                        : l.rules_not_in_stories;
      if (j.contains(key) && j[key].is_array()) v = j[key].get<std::vector<std::string>>();
    }
    return l;
  }

  RuleOutcome Predict(const DialogueTracker& t) const {
    const std::string& latest = t.latest_action();
    // Rasa's default actions overrule everything.
    if (latest == kActionListen && t.has_user_turn()) {
      auto it = DefaultActions().find(t.latest_intent());
      if (it != DefaultActions().end()) return {it->second, kDefaultRules + t.latest_intent()};
    }
    // An active loop runs until it rejects, then the bot listens.
    const std::string& loop = t.active_loop();
    if (!loop.empty() && !t.loop_rejected()) {
      if (latest != loop) return {loop, kLoopRules + loop, true};
      return {kActionListen, std::string(kLoopRules) + loop + " - " + kActionListen, true};
    }
    const std::vector<State> states = t.PastStates();
    RuleOutcome out;
    const std::string* best = LongestKey(MatchingKeys(rules, states));
    if (best) {
      out.action = rules.at(*best).action;
      out.source = *best;
    }
    if (!loop.empty()) {
      std::set<std::string> conditions;
      for (const std::string* k : MatchingKeys(loop_unhappy, states)) conditions.insert(loop_unhappy.at(*k).action);
      const bool listen_from_general_rule =
          out.action == kActionListen && best && LoopOf(rules.at(*best).states.back()).empty();
      if (listen_from_general_rule) {
        // Rules need not switch back to the loop explicitly.
        if (!conditions.count(kDoNotPredictLoop)) return {loop, *best, false, false};
        out.action.clear();
      }
      if (conditions.count(kLoopWasInterrupted)) out.returning_from_unhappy_path = true;
    }
    if (out.source.empty()) out.source = Key(RuleStates(states));
    return out;
  }
};

std::string ActionOf(const StoryEvent& e) { return e.name.empty() ? e.text : e.name; }

class RulePolicy : public graph::Component {
 public:
  RulePolicy(const Json& config, const std::optional<std::string>& resource, const graph::ExecutionContext& c)
      : options_(config) {
    if (resource && c.storage && c.storage->Has(*resource)) {
      std::ifstream in(c.storage->ReadFrom(*resource) / kFile);
      const Json j = Json::parse(in, nullptr, false);
      if (j.is_discarded()) throw util::InvalidConfigError(std::string("The model's ") + kFile + " is corrupt.");
      lookup_ = RuleLookup::FromJson(j);
    }
  }

  graph::Output Run(const std::string& fn, const graph::Inputs& in, const graph::ExecutionContext& c) override {
    if (fn == "predict_action_probabilities") return Predict(in);
    if (fn != "train") throw util::InvalidConfigError("RulePolicy has no method '" + fn + "'.");
    const auto& trackers = *std::any_cast<TrackersPtr>(in.at("training_trackers").value);
    const Json& domain = *std::any_cast<std::shared_ptr<const Json>>(in.at("domain").value);
    Train(trackers, domain, c);
    const auto dir = c.storage->WriteTo(c.node_name);
    std::ofstream(dir / kFile) << lookup_.ToJson().dump();
    std::ofstream(dir / kRuleOnlyFile)
        << Json{{"rule_only_slots", lookup_.rule_only_slots}, {"rule_only_loops", lookup_.rule_only_loops}}.dump();
    if (c.progress) c.progress({1, 1, {{"rules", lookup_.rules.size()}}});
    return {graph::Resource{c.node_name}, graph::RandomFingerprint(), c.node_name};
  }

 private:
  void Train(const std::vector<TrainingTracker>& trackers, const Json& domain, const graph::ExecutionContext& c) {
    const std::vector<std::string> actions = ActionNames(domain);
    if (std::find(actions.begin(), actions.end(), options_.core_fallback_action_name) == actions.end())
      throw util::InvalidConfigError("The fallback action '" + options_.core_fallback_action_name +
                                     "' which was configured for the RulePolicy must be present in the domain.");
    std::vector<const TrainingTracker*> rule_trackers, story_trackers;
    for (const TrainingTracker& t : trackers)
      if (!t.is_augmented) (t.is_rule ? rule_trackers : story_trackers).push_back(&t);
    if (options_.restrict_rules) CheckRuleRestriction(rule_trackers);
    if (options_.check_for_contradictions) CheckIncompleteRules(rule_trackers, domain);

    // Rules: the states after `...` before each action, never predicting `...`.
    std::set<std::string> ambiguous;
    std::vector<std::pair<std::vector<State>, std::string>> all_examples;
    std::set<std::string> rule_slots, rule_loops, story_slots, story_loops;
    auto note = [](const std::vector<State>& states, std::set<std::string>& slots, std::set<std::string>& loops) {
      for (const State& s : states) {
        if (s.contains("slots"))
          for (const auto& [name, v] : s["slots"].items()) slots.insert(name);
        if (s.contains("active_loop")) loops.insert(s["active_loop"].value("name", ""));
      }
    };
    for (const TrainingTracker* t : rule_trackers) {
      if (c.cancel) c.cancel->ThrowIfCancelled();
      for (auto& [states, action] : ActionExamples(*t, domain)) {
        note(states, rule_slots, rule_loops);
        std::vector<State> kept = RuleStates(states);
        const std::string key = Key(kept);
        if (!key.empty() && !ambiguous.count(key)) {
          auto [it, inserted] = lookup_.rules.emplace(key, Rule{kept, action});
          if (!inserted && it->second.action != action) {
            lookup_.rules.erase(it);
            ambiguous.insert(key);
          }
        }
        all_examples.emplace_back(std::move(states), std::move(action));
      }
    }
    for (auto it = lookup_.rules.begin(); it != lookup_.rules.end();)
      it = it->second.action == data::kRuleSnippetAction ? lookup_.rules.erase(it) : std::next(it);
    for (const TrainingTracker* t : story_trackers) {
      if (c.cancel) c.cancel->ThrowIfCancelled();
      for (auto& [states, action] : ActionExamples(*t, domain)) {
        note(states, story_slots, story_loops);
        all_examples.emplace_back(std::move(states), std::move(action));
      }
    }
    if (options_.check_for_contradictions) {
      for (const std::string& s : rule_slots)
        if (!story_slots.count(s)) lookup_.rule_only_slots.push_back(s);
      for (const std::string& l : rule_loops)
        if (!story_loops.count(l) && l != kShouldNotBeSet && !l.empty()) lookup_.rule_only_loops.push_back(l);
    }
    // What a loop's unhappy paths say: after an interruption the loop is
    // told so; after a non-listen action inside the loop, other actions follow.
    for (const auto& [states, action] : all_examples) {
      const std::string loop = LoopOf(states.back());
      if (loop.empty()) continue;
      std::vector<State> unhappy;
      if (states.size() > 1 && PrevAction(states[states.size() - 2]))
        unhappy.push_back({{"prev_action", *PrevAction(states[states.size() - 2])}});
      unhappy.push_back(states.back());
      unhappy = RuleStates(unhappy);
      const std::string key = Key(unhappy);
      if (key.empty()) continue;
      const bool after_listen = PrevActionIsListen(states.back());
      if (after_listen && action == loop) lookup_.loop_unhappy[key] = {unhappy, kLoopWasInterrupted};
      else if (!after_listen && action != loop) lookup_.loop_unhappy[key] = {unhappy, kDoNotPredictLoop};
    }
    if (options_.check_for_contradictions) AnalyzeRules(rule_trackers, trackers, domain, c);
  }

  // Rasa's incomplete-rules check: what an action sets right after it runs
  // (slots that influence the conversation, the active loop) in one rule, it
  // must set wherever a rule goes on after it, or that rule cannot apply.
  void CheckIncompleteRules(const std::vector<const TrainingTracker*>& rules, const Json& domain) const {
    struct Fingerprint {
      std::set<std::string> slots, loops;
    };
    std::map<std::string, Fingerprint> fingerprints;
    for (const TrainingTracker* t : rules) {
      std::string action;
      for (const StoryEvent& e : t->events) {
        if (e.type == EventType::kAction) action = ActionOf(e);
        else if (e.type == EventType::kUser) action.clear();
        else if (!action.empty() && e.type == EventType::kSlotSet &&
                 !SlotFeatures(domain.contains("slots") ? domain["slots"].value(e.name, Json()) : Json(), Json(1))
                      .is_null())
          fingerprints[action].slots.insert(e.name);
        else if (!action.empty() && e.type == EventType::kActiveLoop)
          fingerprints[action].loops.insert(e.name.empty() ? std::string(kShouldNotBeSet) : e.name);
      }
    }
    if (fingerprints.empty()) return;
    std::vector<util::Diagnostic> errors;
    for (const TrainingTracker* t : rules) {
      const auto examples = ActionExamples(*t, domain);
      for (const auto& [states, next] : examples) {
        const State& state = states.back();
        const Json* prev = PrevAction(state);
        const std::string previous = prev ? prev->value("action_name", prev->value("action_text", "")) : "";
        auto fp = fingerprints.find(previous);
        if (previous.empty() || fp == fingerprints.end() || next == data::kRuleSnippetAction ||
            previous == data::kRuleSnippetAction)
          continue;
        std::string missing;
        for (const std::string& slot : fp->second.slots)
          if (!state.contains("slots") || !state["slots"].contains(slot)) missing += (missing.empty() ? "" : ", ") + slot;
        const SourceOf where = Locate(*t, previous);
        if (!missing.empty())
          errors.push_back({util::Severity::kError,
                            "Incomplete rules found: the action '" + previous + "' in rule '" + t->name +
                                "' does not set some of the slots that it sets in other rules. Slots not set in rule '" +
                                t->name + "': '" + missing +
                                "'. Please update the rule with an appropriate slot or if it is the last action add "
                                "'wait_for_user_input: false' after this action.",
                            where.location});
        if (!fp->second.loops.empty()) {
          const std::string loop = state.contains("active_loop") ? state["active_loop"].value("name", "") : "";
          if (!fp->second.loops.count(loop)) {
            std::string loops;
            for (const std::string& l : fp->second.loops)
              loops += (loops.empty() ? "" : ", ") + (l == kShouldNotBeSet ? std::string("null") : l);
            errors.push_back({util::Severity::kError,
                              "Incomplete rules found: the form '" + previous + "' in rule '" + t->name +
                                  "' does not set the 'active_loop', that it sets in other rules: '" + loops + ", " +
                                  previous +
                                  "'. Please update the rule with the appropriate 'active loop' property or if it is "
                                  "the last action add 'wait_for_user_input: false' after this action.",
                              where.location});
          }
        }
      }
    }
    if (!errors.empty()) throw util::InvalidDataError(std::move(errors));
  }

  struct SourceOf {
    util::SourceLocation location;
  };
  // Where `action` stands in the rule (its first occurrence), for messages.
  static SourceOf Locate(const TrainingTracker& t, const std::string& action) {
    for (const StoryEvent& e : t.events)
      if (e.type == EventType::kAction && ActionOf(e) == action) return {e.location};
    return {t.events.empty() ? util::SourceLocation{} : t.events.front().location};
  }

  void CheckRuleRestriction(const std::vector<const TrainingTracker*>& rules) const {
    std::vector<util::Diagnostic> errors;
    for (const TrainingTracker* t : rules) {
      size_t users = 0;
      const StoryEvent* second = nullptr;
      for (const StoryEvent& e : t->events)
        if (e.type == EventType::kUser && ++users == 2) second = &e;
      if (second)
        errors.push_back({util::Severity::kError,
                          "Found rules '" + t->name +
                              "' that contain more than 1 user message. Rules are not meant to hardcode a state "
                              "machine. Please use stories for these cases.",
                          second->location});
    }
    if (!errors.empty()) throw util::InvalidDataError(std::move(errors));
  }

  // Runs the rules over the training conversations, as prediction would,
  // and reports every action a rule predicts differently from a story or
  // another rule (Rasa's contradiction check).
  void AnalyzeRules(const std::vector<const TrainingTracker*>& rule_trackers, const std::vector<TrainingTracker>& all,
                    const Json& domain, const graph::ExecutionContext& c) {
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> sources;  // source → (rule, action)
    std::set<std::string> used_in_stories;
    std::vector<util::Diagnostic> errors;
    auto run = [&](const TrainingTracker& tracker, bool collect) {
      if (c.cancel) c.cancel->ThrowIfCancelled();
      DialogueTracker running(domain, tracker.is_rule);
      bool unpredictable = true;  // the first action is
      for (const StoryEvent& e : ExplicitEvents(tracker.events, true)) {
        if (e.type != EventType::kAction) {
          running.Apply(e);
          continue;
        }
        if (e.name == data::kRuleSnippetAction || unpredictable) {
          unpredictable = e.name == data::kRuleSnippetAction;
          running.Apply(e);
          continue;
        }
        const std::string gold = ActionOf(e);
        auto [predicted, source] = PredictForCheck(running, gold, tracker.is_rule);
        if (collect) {
          if (!source.empty()) {
            std::string rule = tracker.name, action = gold;
            if (source.rfind(kDefaultRules, 0) == 0 || source.rfind(kLoopRules, 0) == 0) {
              action = predicted;
              rule = source;
            }
            sources[source].emplace_back(rule, action);
          }
        } else {
          if (!tracker.is_rule && predicted == gold) used_in_stories.insert(source);
          CheckPrediction(tracker, e, predicted, gold, source, sources, errors);
        }
        running.Apply(e);
      }
    };
    for (const TrainingTracker* t : rule_trackers) run(*t, true);
    for (const TrainingTracker& t : all)
      if (!t.is_augmented) run(t, false);
    if (!errors.empty()) {
      for (util::Diagnostic& d : errors)
        d.message = "Contradicting rules or stories found: " + d.message +
                    " Please update your stories and rules so that they don't contradict each other. You can find "
                    "more information about the usage of rules at " + kRulesDocs + ".";
      throw util::InvalidDataError(std::move(errors));
    }
    std::set<std::string> all_sources;
    for (const auto& [s, v] : sources) all_sources.insert(s);
    for (const auto& [intent, action] : DefaultActions()) all_sources.insert(kDefaultRules + intent);
    if (domain.contains("forms"))
      for (const auto& [form, f] : domain["forms"].items()) {
        all_sources.insert(kLoopRules + form);
        all_sources.insert(std::string(kLoopRules) + form + " - " + kActionListen);
      }
    for (const std::string& s : all_sources)
      if (!used_in_stories.count(s)) lookup_.rules_not_in_stories.push_back(s);
  }

  // The action the rules predict here ("" for none in a story); a loop that
  // the gold action interrupts is rejected first, as in evaluation.
  std::pair<std::string, std::string> PredictForCheck(DialogueTracker& t, const std::string& gold, bool is_rule) const {
    auto once = [&]() -> std::pair<std::string, std::string> {
      RuleOutcome o = lookup_.Predict(t);
      if (o.action.empty() && is_rule)
        o.action = options_.enable_fallback_prediction ? options_.core_fallback_action_name : kActionListen;
      return {o.action, o.source};
    };
    auto result = once();
    if (!t.active_loop().empty() && result.first != gold && result.first == t.active_loop()) {
      StoryEvent rejected;
      rejected.type = EventType::kActionRejected;
      rejected.name = t.active_loop();
      t.Apply(rejected);
      result = once();
    }
    return result;
  }

  void CheckPrediction(const TrainingTracker& tracker, const StoryEvent& event, const std::string& predicted,
                       const std::string& gold, const std::string& source,
                       const std::map<std::string, std::vector<std::pair<std::string, std::string>>>& sources,
                       std::vector<util::Diagnostic>& errors) {
    if (predicted.empty() || source.empty() || predicted == gold) return;
    if (ShouldDelete(source, tracker, predicted)) {
      lookup_.rules.erase(source);
      return;
    }
    std::set<std::string> contradicting;
    auto it = sources.find(source);
    if (it != sources.end())
      for (const auto& [rule, action] : it->second)
        if (action != gold) contradicting.insert(rule);
    if (contradicting.empty()) return;
    std::string names;
    for (const std::string& r : contradicting) names += (names.empty() ? "" : ", ") + r;
    std::string message = "the prediction of the action '" + gold + "' in " + (tracker.is_rule ? "rule" : "story") +
                          " '" + tracker.name + "' is contradicting with rule(s) '" + names + "'";
    if (predicted != options_.core_fallback_action_name) message += " which predicted action '" + predicted + "'";
    errors.push_back({util::Severity::kError, message + ".", event.location});
  }

  // A story goes on after a rule that predicted action_listen after an
  // unpredictable action, and a longer rule starts the same way: the short
  // rule is dropped rather than reported.
  bool ShouldDelete(const std::string& source, const TrainingTracker& tracker, const std::string& predicted) const {
    if (tracker.is_rule || predicted != kActionListen) return false;
    auto it = lookup_.rules.find(source);
    if (it == lookup_.rules.end()) return false;
    size_t prev_actions = 0;
    for (const State& s : it->second.states) prev_actions += PrevAction(s) != nullptr;
    if (prev_actions > 1) return false;
    const auto& mine = it->second.states;
    for (const auto& [key, rule] : lookup_.rules) {
      if (key == source || rule.states.size() <= mine.size()) continue;
      if (std::equal(mine.begin(), mine.end(), rule.states.begin())) return true;
    }
    return false;
  }

  graph::Output Predict(const graph::Inputs& in) const {
    const Json& domain = *std::any_cast<std::shared_ptr<const Json>>(in.at("domain").value);
    const auto& events = *std::any_cast<ConversationPtr>(in.at("tracker").value);
    const std::vector<std::string> actions = ActionNames(domain);
    auto prediction = EmptyPrediction(actions, "RulePolicy", options_.priority);
    DialogueTracker t(domain);
    for (const StoryEvent& e : ExplicitEvents(events, false)) t.Apply(e);
    const RuleOutcome o = lookup_.Predict(t);
    if (!o.action.empty())
      SetProbability(*prediction, actions, o.action, 1.0);
    else if (options_.enable_fallback_prediction)
      SetProbability(*prediction, actions, options_.core_fallback_action_name, options_.core_fallback_threshold);
    prediction->is_no_user_prediction = o.no_user;
    prediction->loop_interrupted = o.returning_from_unhappy_path;
    prediction->hide_rule_turn = std::find(lookup_.rules_not_in_stories.begin(), lookup_.rules_not_in_stories.end(),
                                           o.source) != lookup_.rules_not_in_stories.end();
    return {PolicyPredictionPtr(prediction), graph::RandomFingerprint(), std::nullopt};
  }

  RuleOptions options_;
  RuleLookup lookup_;
};

}  // namespace

void RegisterRulePolicy() {
  graph::ComponentImplementation impl;
  impl.version = "2";  // 2: the incomplete-rules check
  impl.defaults = {{"priority", 6},
                   {"core_fallback_threshold", 0.3},
                   {"core_fallback_action_name", "action_default_fallback"},
                   {"enable_fallback_prediction", true},
                   {"restrict_rules", true},
                   {"check_for_contradictions", true},
                   {"use_nlu_confidence_as_score", false}};
  impl.make = [](const Json& config, const std::optional<std::string>& resource, const graph::ExecutionContext& c) {
    return std::make_unique<RulePolicy>(config, resource, c);
  };
  impl.check = [](const Json& config) { RuleOptions{config}; };
  graph::RegisterImplementation("RulePolicy", impl);
}

}  // namespace trainyard::policy
