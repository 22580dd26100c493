#pragma once

// A small moodbot-like project written into a temp folder, shared by the
// importer, training-type and validator tests.

#include <string>

#include "core/data/importer.h"
#include "tests/support/test_helpers.h"

namespace trainyard::data {

inline constexpr const char* kFixtureDomain = R"(version: "3.1"
intents: [greet, goodbye, mood_great]
slots:
  name:
    type: text
    mappings:
      - type: from_text
responses:
  utter_greet:
  - text: Hey!
  utter_goodbye:
  - text: Bye
actions: [utter_greet, utter_goodbye]
)";

inline constexpr const char* kFixtureNlu = R"(version: "3.1"
nlu:
- intent: greet
  examples: |
    - hi
    - hello
- intent: goodbye
  examples: |
    - bye
    - see you
- intent: mood_great
  examples: |
    - great
    - wonderful
)";

inline constexpr const char* kFixtureStories = R"(version: "3.1"
stories:
- story: happy
  steps:
  - intent: greet
  - action: utter_greet
  - intent: mood_great
  - slot_was_set:
    - name: Ann
  - intent: goodbye
  - action: utter_goodbye
rules:
- rule: bye
  steps:
  - intent: goodbye
  - action: utter_goodbye
)";

// Writes the project; `stories`/`nlu` may be replaced or left out ("").
inline ImportOptions WriteFixture(const testing::TempDir& dir, const std::string& nlu = kFixtureNlu,
                                  const std::string& stories = kFixtureStories,
                                  const std::string& domain = kFixtureDomain) {
  dir.Write("config.yml", "recipe: default.v1\nlanguage: en\n");
  if (!domain.empty()) dir.Write("domain.yml", domain);
  if (!nlu.empty()) dir.Write("data/nlu.yml", nlu);
  if (!stories.empty()) dir.Write("data/stories.yml", stories);
  std::filesystem::create_directories(dir.path() / "data");
  ImportOptions options;
  options.config_path = dir.path() / "config.yml";
  options.domain_path = dir.path() / "domain.yml";
  options.data_paths = {dir.path() / "data"};
  return options;
}

}  // namespace trainyard::data
