#include "core/data/nlu_reader.h"

#include <gtest/gtest.h>

#include "core/util/errors.h"
#include "tests/support/test_helpers.h"

namespace trainyard::data {
namespace {

constexpr const char* kNlu = R"(version: "3.1"
nlu:
- intent: greet
  metadata: {sentiment: neutral}
  examples: |
    - hey
    - hello there
- intent: inform
  examples: |
    - I want [chinese](cuisine) food
    - in [NYC](city:New York City)
    - from [Berlin]{"entity": "city", "role": "from"} to [Rome]{"entity": "city", "role": "to"}
- intent: faq/ask_name
  examples:
    - text: what is your name?
      metadata: {source: web}
- intent: check_balance+transfer_money
  examples: |
    - how much do I have and send 5 to Bob
- synonym: vegetarian
  examples: |
    - veggie
    - vegan
- regex: zipcode
  examples: |
    - [0-9]{5}
- lookup: city
  examples: |
    - Paris
    - London
responses:
  utter_faq/ask_name:
  - text: I am a bot.
)";

TEST(NluReader, ReadsEveryFeature) {
  util::Diagnostics d;
  const TrainingData data = ParseNluYaml(kNlu, "nlu.yml", d);
  ASSERT_FALSE(d.has_errors()) << d.all()[0].ToString();
  EXPECT_EQ(d.warning_count(), 0u);
  ASSERT_EQ(data.examples.size(), 7u);
  EXPECT_EQ(data.examples[0].intent, "greet");
  EXPECT_EQ(data.examples[0].metadata["intent"]["sentiment"], "neutral");
  EXPECT_EQ(data.examples[0].location.line, 6);  // "- hey" is on line 6
  EXPECT_EQ(data.examples[1].location.line, 7);
  EXPECT_EQ(data.examples[2].text, "I want chinese food");
  EXPECT_EQ(data.examples[4].entities[1].role, "to");
  EXPECT_EQ(data.examples[5].intent, "faq");
  EXPECT_EQ(data.examples[5].intent_response_key, "faq/ask_name");
  EXPECT_EQ(data.examples[5].metadata["example"]["source"], "web");
  EXPECT_TRUE(data.examples[6].is_multi_intent());
  EXPECT_EQ(data.synonyms.at("NYC"), "New York City");
  EXPECT_EQ(data.synonyms.at("veggie"), "vegetarian");
  EXPECT_EQ(data.synonyms.at("vegan"), "vegetarian");
  ASSERT_EQ(data.regexes.size(), 1u);
  EXPECT_EQ(data.regexes[0].pattern, "[0-9]{5}");
  ASSERT_EQ(data.lookups.size(), 1u);
  EXPECT_EQ(data.lookups[0].elements, (std::vector<std::string>{"Paris", "London"}));
  EXPECT_EQ(data.responses.at("utter_faq/ask_name").variations[0]["text"], "I am a bot.");
  EXPECT_EQ(data.RetrievalIntents(), (std::set<std::string>{"faq"}));
  EXPECT_EQ(data.Entities(), (std::set<std::string>{"city", "cuisine"}));
  EXPECT_EQ(data.EntityRoles(), (std::set<std::string>{"from", "to"}));
}

TEST(NluReader, ContentProblemsAreWarningsAndSkipped) {
  util::Diagnostics d;
  const TrainingData data = ParseNluYaml(
      "nlu:\n- intent: greet\n  examples: |\n    - hi\n    hello without dash\n- intent: \"\"\n"
      "  examples: |\n    - x\n- intent: empty\n- foo: bar\n- just a string\n",
      "nlu.yml", d);
  EXPECT_FALSE(d.has_errors());
  EXPECT_EQ(data.examples.size(), 1u);
  ASSERT_EQ(d.warning_count(), 5u);
  EXPECT_EQ(d.warnings()[0].location.line, 5);
  EXPECT_NE(d.warnings()[0].message.find("doesn't start with a '-'"), std::string::npos);
  EXPECT_NE(d.warnings()[1].message.find("empty name"), std::string::npos);
  EXPECT_NE(d.warnings()[2].message.find("has no examples"), std::string::npos);
  EXPECT_NE(d.warnings()[3].message.find("Could not find supported key"), std::string::npos);
}

TEST(NluReader, BadEntityJsonIsAnErrorOnTheExampleLine) {
  util::Diagnostics d;
  ParseNluYaml("nlu:\n- intent: a\n  examples: |\n    - ok\n    - to [Rome]{\"entity\": rome}\n", "nlu.yml", d);
  ASSERT_EQ(d.error_count(), 1u);
  EXPECT_EQ(d.errors()[0].location.line, 5);
  EXPECT_NE(d.errors()[0].message.find("Incorrect training data format"), std::string::npos);
}

TEST(NluReader, SchemaErrorsAreErrors) {
  util::Diagnostics d;
  ParseNluYaml("nlu:\n- intent: a\n  examples: 42\n- intent: b\n  exmples: |\n    - x\n", "nlu.yml", d);
  ASSERT_EQ(d.error_count(), 2u);
  EXPECT_EQ(d.errors()[0].location.line, 3);
  EXPECT_EQ(d.errors()[1].location.line, 5);
  EXPECT_NE(d.errors()[1].message.find("Unknown key 'exmples'"), std::string::npos);
}

TEST(NluReader, NewerFormatVersionSkipsTheFile) {
  util::Diagnostics d;
  const TrainingData data = ParseNluYaml("version: '4.0'\nnlu:\n- intent: a\n  examples: |\n    - x\n", "n.yml", d);
  EXPECT_TRUE(data.empty());
  ASSERT_EQ(d.warning_count(), 1u);
  EXPECT_NE(d.warnings()[0].message.find("greater format version"), std::string::npos);
}

TEST(NluReader, VersionWrittenAsNumberWarnsButReads) {
  util::Diagnostics d;
  const TrainingData data = ParseNluYaml("version: 3.1\nnlu:\n- intent: a\n  examples: |\n    - x\n", "n.yml", d);
  EXPECT_EQ(data.examples.size(), 1u);
  EXPECT_EQ(d.warning_count(), 1u);
}

TEST(NluReader, LookupTableFromFile) {
  testing::TempDir dir;
  dir.Write("data/plates.txt", "tacos\nbeef\n\nmapo tofu\n");
  const auto nlu = dir.Write("data/nlu.yml", "nlu:\n- lookup: plates\n  examples: plates.txt\n");
  util::Diagnostics d;
  const TrainingData data = ParseNluYaml("nlu:\n- lookup: plates\n  examples: plates.txt\n", nlu, d);
  ASSERT_EQ(data.lookups.size(), 1u);
  EXPECT_EQ(data.lookups[0].elements, (std::vector<std::string>{"tacos", "beef", "mapo tofu"}));
}

TEST(NluReader, RasaJsonFormat) {
  util::Diagnostics d;
  const TrainingData data = ParseNluJson(R"({"rasa_nlu_data": {
    "common_examples": [{"text": "i want tacos", "intent": "order",
                         "entities": [{"start": 7, "end": 12, "value": "tacos", "entity": "food"}]}],
    "regex_features": [{"name": "zip", "pattern": "[0-9]{5}"}],
    "entity_synonyms": [{"value": "taco", "synonyms": ["tacos"]}],
    "lookup_tables": [{"name": "food", "elements": ["tacos", "pizza"]}]}})",
                                         "nlu.json", d);
  EXPECT_FALSE(d.has_errors());
  ASSERT_EQ(data.examples.size(), 1u);
  EXPECT_EQ(data.examples[0].entities[0].end, 12);
  EXPECT_EQ(data.synonyms.at("tacos"), "taco");
  EXPECT_EQ(data.lookups[0].elements.size(), 2u);
}

TEST(NluReader, BrokenJsonNamesLineAndColumn) {
  util::Diagnostics d;
  try {
    ParseNluJson("{\n  \"rasa_nlu_data\": {,}\n}", "nlu.json", d);
    FAIL();
  } catch (const util::InvalidDataError& e) {
    EXPECT_EQ(e.details()[0].location.line, 2);
  }
}

}  // namespace
}  // namespace trainyard::data

namespace trainyard::data {
namespace {

TEST(NluReader, JsonNumberOverflowIsAnErrorNotACrash) {
  util::Diagnostics d;
  EXPECT_THROW(ParseNluJson("{\"rasa_nlu_data\": {\"x\": 7e777}}", "nlu.json", d), util::InvalidDataError);
}

}  // namespace
}  // namespace trainyard::data
