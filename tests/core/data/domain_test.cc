#include "core/data/domain.h"

#include <gtest/gtest.h>

#include "core/util/errors.h"
#include "tests/support/test_helpers.h"

namespace trainyard::data {
namespace {

constexpr const char* kDomain = R"(version: "3.1"
intents:
  - greet
  - inform:
      use_entities: [city]
      ignore_entities: [time]
  - deny:
      use_entities: false
entities:
  - city:
      roles: [departure, destination]
      groups: ["1", "2"]
  - time
slots:
  city:
    type: text
    mappings:
      - type: from_entity
        entity: city
        role: departure
        conditions:
          - active_loop: travel_form
            requested_slot: city
  confirmed:
    type: bool
    influence_conversation: false
    mappings:
      - type: from_intent
        intent: affirm
        value: true
      - type: from_trigger_intent
        intent: greet
        value: false
  level:
    type: categorical
    values: [low, high]
    mappings:
      - type: custom
        action: action_set_level
  amount:
    type: float
    min_value: 0
    max_value: 100
    mappings:
      - type: from_text
        not_intent: [deny]
  extra:
    type: any
    influence_conversation: false
    mappings: []
responses:
  utter_greet:
    - text: "Hey {name}!"
      channel: slack
      buttons:
        - title: yes
          payload: /affirm
    - custom: {blocks: [1, 2]}
  utter_ask_city:
    - text: Where to?
      condition:
        - type: slot
          name: confirmed
          value: true
actions:
  - action_set_level
  - utter_greet
forms:
  travel_form:
    required_slots: [city, amount]
    ignored_intents: greet
session_config:
  session_expiration_time: 30
  carry_over_slots_to_new_session: false
config:
  store_entities_as_slots: false
e2e_actions:
  - Hello there
)";

TEST(Domain, ParsesEveryKey) {
  util::Diagnostics d;
  const Domain domain = ParseDomain(kDomain, "domain.yml", d);
  ASSERT_FALSE(d.has_errors()) << d.all()[0].ToString();
  ASSERT_EQ(domain.intents.size(), 3u);
  const IntentDefinition& inform = domain.intents[1];
  EXPECT_FALSE(inform.use_all_entities);
  EXPECT_EQ(inform.use_entities, (std::vector<std::string>{"city"}));
  EXPECT_EQ(domain.UsedEntities(domain.intents[0]), (std::vector<std::string>{"city", "time"}));
  EXPECT_TRUE(domain.UsedEntities(domain.intents[2]).empty());
  EXPECT_EQ(domain.entities[0].roles, (std::vector<std::string>{"departure", "destination"}));
  EXPECT_EQ(domain.entities[0].groups, (std::vector<std::string>{"1", "2"}));
  ASSERT_EQ(domain.slots.size(), 5u);
  EXPECT_EQ(domain.slots[0].mappings[0].role, "departure");
  EXPECT_EQ(*domain.slots[0].mappings[0].conditions[0].active_loop, "travel_form");
  EXPECT_EQ(domain.slots[1].mappings[0].value, true);
  EXPECT_FALSE(domain.slots[1].influence_conversation);
  EXPECT_EQ(domain.slots[2].values, (std::vector<std::string>{"low", "high"}));
  EXPECT_DOUBLE_EQ(domain.slots[3].max_value, 100);
  EXPECT_EQ(domain.slots[3].mappings[0].not_intent, (std::vector<std::string>{"deny"}));
  EXPECT_EQ(domain.responses.at("utter_greet").variations.size(), 2u);
  EXPECT_EQ(domain.responses.at("utter_greet").variations[0]["buttons"][0]["payload"], "/affirm");
  EXPECT_EQ(domain.responses.at("utter_greet").variations[1]["custom"]["blocks"][1], 2);
  EXPECT_EQ(domain.responses.at("utter_ask_city").variations[0]["condition"][0]["name"], "confirmed");
  EXPECT_EQ(domain.actions, (std::vector<std::string>{"action_set_level", "utter_greet"}));
  EXPECT_EQ(domain.forms[0].required_slots, (std::vector<std::string>{"city", "amount"}));
  EXPECT_EQ(domain.forms[0].ignored_intents, (std::vector<std::string>{"greet"}));
  EXPECT_DOUBLE_EQ(domain.session_config.session_expiration_time, 30);
  EXPECT_FALSE(domain.session_config.carry_over_slots_to_new_session);
  EXPECT_FALSE(domain.store_entities_as_slots);
  EXPECT_EQ(domain.e2e_actions, (std::vector<std::string>{"Hello there"}));
}

struct BadDomain {
  const char* yaml;
  int line;
  const char* message;
};

// Names each table row by the message it expects, so ctest lists readable test names.
void PrintTo(const BadDomain& b, std::ostream* os) { *os << b.message; }

class DomainErrors : public ::testing::TestWithParam<BadDomain> {};

TEST_P(DomainErrors, ReportsLineAndMessage) {
  util::Diagnostics d;
  ParseDomain(GetParam().yaml, "domain.yml", d);
  ASSERT_TRUE(d.has_errors()) << GetParam().yaml;
  EXPECT_EQ(d.errors()[0].location.line, GetParam().line) << d.errors()[0].ToString();
  EXPECT_NE(d.errors()[0].message.find(GetParam().message), std::string::npos) << d.errors()[0].message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, DomainErrors,
    ::testing::Values(
        BadDomain{"version: '3.2'\nintents: [a]\n", 1, "greater than the newest version"},
        BadDomain{"intents:\n  - greet:\n", 2, "cannot have value of `NoneType`"},
        BadDomain{"actions: [a, b, a]\n", 1, "Duplicate actions in domain"},
        BadDomain{"entities: [x, y, x]\n", 1, "Duplicate entities"},
        BadDomain{"slots:\n  s:\n    type: text\n", 2, "has no 'mappings'"},
        BadDomain{"slots:\n  s:\n    type: text\n    auto_fill: false\n    mappings: []\n", 4, "auto_fill"},
        BadDomain{"slots:\n  s:\n    type: txt\n    mappings: []\n", 3, "unknown type 'txt'"},
        BadDomain{"slots:\n  s:\n    type: text\n    mappings:\n      - type: from_magic\n", 5,
                  "invalid slot mapping of type 'from_magic'"},
        BadDomain{"slots:\n  s:\n    type: text\n    mappings:\n      - type: from_entity\n", 5,
                  "specify a value for the key 'entity'"},
        BadDomain{"slots:\n  s:\n    type: any\n    influence_conversation: true\n    mappings: []\n", 3, "cannot influence"},
        BadDomain{"responses:\n  utter_a:\n    - hey there\n", 3, "must be a mapping"},
        BadDomain{"responses:\n  utter_a:\n    - stuff: x\n", 3, "Missing 'text' or 'custom'"},
        BadDomain{"responses:\n  utter_a:\n", 2, "non-empty list"},
        BadDomain{"forms:\n  f:\n    required_slots:\n      s:\n        - type: from_text\n", 4,
                  "2.x format"},
        BadDomain{"session_config:\n  session_expiration_time: -1\n", 2, "0 or more"},
        BadDomain{"intents: greet\n", 1, "must be a list"},
        BadDomain{"templates:\n  utter_a: []\n", 1, "renamed to 'responses'"},
        BadDomain{"intentz: [a]\nintents: [b]\n", 1, "Unknown key 'intentz'"}));

TEST(Domain, DirectoryIsMergedWithCrossFileDuplicatesAsWarnings) {
  testing::TempDir dir;
  dir.Write("domain/a.yml", "intents: [greet]\nresponses:\n  utter_greet:\n    - text: hi\n");
  dir.Write("domain/b.yml", "intents: [bye, greet]\nresponses:\n  utter_greet:\n    - text: yo\n"
                            "session_config:\n  session_expiration_time: 5\n");
  dir.Write("domain/notes.yml", "something: else\n");
  util::Diagnostics d;
  const Domain domain = ReadDomain(dir.path() / "domain", d);
  EXPECT_FALSE(d.has_errors());
  EXPECT_EQ(domain.intents.size(), 2u);
  EXPECT_EQ(domain.responses.at("utter_greet").variations[0]["text"], "hi");
  EXPECT_EQ(d.warning_count(), 1u);
  EXPECT_DOUBLE_EQ(domain.session_config.session_expiration_time, 5);
  EXPECT_EQ(domain.files.size(), 2u);
}

TEST(Domain, MissingPathIsNotFound) {
  util::Diagnostics d;
  EXPECT_THROW(ReadDomain("/nonexistent/domain.yml", d), util::NotFoundError);
}

}  // namespace
}  // namespace trainyard::data
