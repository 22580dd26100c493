#pragma once

// Conversation events for dialogue tests, as a story would list them.

#include <string>

#include "core/data/story.h"

namespace trainyard::testing::events {

inline data::StoryEvent Event(data::EventType type, const std::string& name, const data::Json& value = nullptr) {
  data::StoryEvent e;
  e.type = type;
  e.name = name;
  e.value = value;
  return e;
}
inline data::StoryEvent User(const std::string& intent) { return Event(data::EventType::kUser, intent); }
// A user turn told by its text, with an intent (as NLU found it) or without.
inline data::StoryEvent UserText(const std::string& text, const std::string& intent = "") {
  data::StoryEvent e = Event(data::EventType::kUser, intent);
  e.text = text;
  return e;
}
inline data::StoryEvent Action(const std::string& name) { return Event(data::EventType::kAction, name); }
inline data::StoryEvent Slot(const std::string& name, const data::Json& value) {
  return Event(data::EventType::kSlotSet, name, value);
}
inline data::StoryEvent Loop(const std::string& name) { return Event(data::EventType::kActiveLoop, name); }
inline data::StoryEvent Rejected(const std::string& name) { return Event(data::EventType::kActionRejected, name); }

}  // namespace trainyard::testing::events
