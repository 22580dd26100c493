#include "core/data/validator.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/data/training_type.h"
#include "core/util/strings.h"

namespace trainyard::data {
namespace {

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Where each name is first used, in file order.
using Uses = std::map<std::string, util::SourceLocation>;

void Note(Uses& uses, const std::string& name, const util::SourceLocation& where) {
  uses.emplace(name, where);
}

bool IsValidUtterance(const Domain& domain, const std::string& action) {
  if (domain.responses.count(action)) return true;
  // `utter_faq` answers the retrieval intent `faq` from `utter_faq/<key>` responses.
  auto it = domain.responses.lower_bound(action + "/");
  return it != domain.responses.end() && util::StartsWith(it->first, action + "/");
}

void CheckNlu(const Project& project, util::Diagnostics& d) {
  const Domain& domain = project.domain;
  const auto domain_intents = domain.IntentNames();
  Uses nlu_intents;
  std::map<std::string, std::set<std::string>> intents_of_text;
  std::map<std::string, util::SourceLocation> text_location;
  for (const Message* m : project.nlu.IntentExamples()) {
    Note(nlu_intents, m->intent, m->location);
    intents_of_text[m->text].insert(m->intent);
    text_location.emplace(m->text, m->location);
  }
  if (!domain.empty()) {
    for (const auto& [intent, where] : nlu_intents)
      if (!domain_intents.count(intent) && !Contains(DefaultIntentNames(), intent))
        d.Warn(where, "There is a message in the training data labeled with intent '" + intent +
                           "'. This intent is not listed in your domain. You should need to add that "
                           "intent to your domain file!");
    for (const IntentDefinition& intent : domain.intents)
      if (!nlu_intents.count(intent.name) && !Contains(DefaultIntentNames(), intent.name))
        d.Warn(intent.location, "The intent '" + intent.name +
                                    "' is listed in the domain file, but is not found in the NLU "
                                    "training data.");
    const auto domain_entities = domain.EntityNames();
    Uses nlu_entities;
    for (const Message* m : project.nlu.IntentExamples())
      for (const EntityAnnotation& e : m->entities) Note(nlu_entities, e.entity, m->location);
    for (const auto& [entity, where] : nlu_entities)
      if (!domain_entities.count(entity))
        d.Warn(where, "The entity '" + entity + "' is annotated in the NLU training data but is "
                                                 "not listed in the domain's 'entities'.");
  }
  for (const auto& [text, intents] : intents_of_text) {
    if (intents.size() < 2) continue;
    d.Warn(text_location[text], "The example '" + text +
                                    "' was found labeled with multiple different intents in the "
                                    "training data. Each annotated message should only appear with "
                                    "one intent. You should fix that conflict The example is labeled "
                                    "with: " + util::Join({intents.begin(), intents.end()}, ", ") + ".");
  }
}

void CheckStories(const Project& project, util::Diagnostics& d) {
  const Domain& domain = project.domain;
  const auto domain_intents = domain.IntentNames();
  const auto forms = domain.FormNames();
  Uses story_intents, story_actions, story_loops;
  ForEachEvent(project.stories, [&](const StoryStep&, const StoryEvent& e) {
    if (e.type == EventType::kUser && !e.name.empty()) Note(story_intents, e.name, e.location);
    if (e.type == EventType::kAction && !e.name.empty() && e.name != kRuleSnippetAction)
      Note(story_actions, e.name, e.location);
    if (e.type == EventType::kActiveLoop && !e.name.empty()) Note(story_loops, e.name, e.location);
  });
  for (const auto& [intent, where] : story_intents)
    if (!domain_intents.count(intent) && !Contains(DefaultIntentNames(), intent))
      d.Error(where, "The intent '" + intent + "' is used in your stories, but it is not listed in "
                                              "the domain file. You should add it to your domain file!");
  for (const auto& [action, where] : story_actions) {
    if (Contains(DefaultActionNames(), action) || forms.count(action)) continue;
    if (util::StartsWith(action, "utter_")) {
      if (!IsValidUtterance(domain, action))
        d.Error(where, "The action '" + action + "' is used in the stories, but is not a valid "
                                                  "utterance action. Please make sure the action is "
                                                  "listed in your domain and there is a template "
                                                  "defined with its name.");
    } else if (!domain.action_locations.count(action)) {
      d.Error(where, "The action '" + action + "' is used in the stories, but is not listed in the "
                                                "domain file. You should add it to your domain file!");
    }
  }
  for (const auto& [loop, where] : story_loops)
    if (!forms.count(loop) && !domain.action_locations.count(loop) && !Contains(DefaultActionNames(), loop))
      d.Error(where, "The form '" + loop + "' is used as 'active_loop' in the stories, but is not "
                                            "listed in the domain's 'forms' or 'actions'.");
  for (const auto& [slot, places] : FindUnresolvedSlots(project))
    d.Error(places.front(), "Unresolved slot: the stories/rules set the slot '" + slot +
                                "' (" + std::to_string(places.size()) +
                                " time(s)), which is not present in your domain. Add it to the "
                                "domain's 'slots' or fix the spelling.");
  if (project.stories.empty()) return;
  for (const IntentDefinition& intent : domain.intents)
    if (!story_intents.count(intent.name) && !Contains(DefaultIntentNames(), intent.name) &&
        !intent.is_retrieval_intent)
      d.Warn(intent.location, "The intent '" + intent.name + "' is not used in any story or rule.");
  for (const auto& [name, response] : domain.responses) {
    if (name.find('/') != std::string::npos || !util::StartsWith(name, "utter_")) continue;
    if (story_actions.count(name)) continue;
    // Forms ask for their required slots with `utter_ask_<slot>` / `utter_ask_<form>_<slot>`.
    bool asked_by_form = false;
    for (const FormDefinition& form : domain.forms)
      for (const std::string& slot : form.required_slots)
        asked_by_form = asked_by_form || name == "utter_ask_" + slot ||
                        name == "utter_ask_" + form.name + "_" + slot;
    if (!asked_by_form)
      d.Warn(response.location, "The utterance '" + name + "' is not used in any story or rule.");
  }
}

void CheckDomain(const Project& project, util::Diagnostics& d) {
  const Domain& domain = project.domain;
  for (const std::string& action : domain.actions) {
    if (!util::StartsWith(action, "utter_") || IsValidUtterance(domain, action)) continue;
    d.Warn(domain.action_locations.at(action),
           "Action '" + action + "' is listed as a response action in the domain file, but there is "
                                 "no matching response defined. Please check your domain.");
  }
  const auto slots = domain.SlotNames();
  for (const FormDefinition& form : domain.forms)
    for (const std::string& slot : form.required_slots)
      if (!slots.count(slot))
        d.Error(form.location, "The form slot '" + slot + "' in form '" + form.name +
                                   "' is not present in the domain slots. Please add the correct "
                                   "slot or check for typos.");
  const auto entities = domain.EntityNames();
  const auto intents = domain.IntentNames();
  for (const SlotDefinition& slot : domain.slots) {
    for (const SlotMapping& m : slot.mappings) {
      if (m.type == "from_entity" && !entities.count(m.entity))
        d.Warn(m.location, "Slot '" + slot.name + "' is mapped from the entity '" + m.entity +
                               "', which is not listed in the domain's 'entities'.");
      for (const auto* list : {&m.intent, &m.not_intent})
        for (const std::string& intent : *list)
          if (!intents.count(intent) && !Contains(DefaultIntentNames(), intent))
            d.Warn(m.location, "A mapping of slot '" + slot.name + "' names the intent '" + intent +
                                   "', which is not listed in the domain.");
    }
  }
}

}  // namespace

void ValidateProject(const Project& project, util::Diagnostics& diagnostics) {
  if (project.domain.empty()) {
    diagnostics.Error({}, "Encountered empty domain during validation.");
    return;
  }
  CheckDomain(project, diagnostics);
  CheckNlu(project, diagnostics);
  CheckStories(project, diagnostics);
}

}  // namespace trainyard::data
