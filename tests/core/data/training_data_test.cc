#include "core/data/training_data.h"

#include <gtest/gtest.h>

namespace trainyard::data {
namespace {

Message Example(const std::string& text, const std::string& intent, const std::string& key = "") {
  Message m;
  m.text = text;
  m.intent = intent;
  m.intent_response_key = key;
  return m;
}

TEST(TrainingData, MergeUnitesEverythingAndWarnsOnConflictingSynonyms) {
  util::Diagnostics d;
  TrainingData a, b;
  a.examples = {Example("hi", "greet")};
  a.synonyms = {{"NYC", "New York"}};
  a.lookups = {{"city", {"Paris"}, {}}};
  b.examples = {Example("what's your name", "faq", "faq/ask_name")};
  b.synonyms = {{"NYC", "New York City"}};
  b.lookups = {{"city", {"Rome"}, {}}};
  b.responses["utter_faq/ask_name"] = {};
  a.Merge(b, d);
  EXPECT_EQ(a.examples.size(), 2u);
  EXPECT_EQ(a.synonyms.at("NYC"), "New York City");
  EXPECT_EQ(d.warning_count(), 1u);
  ASSERT_EQ(a.lookups.size(), 1u);
  EXPECT_EQ(a.lookups[0].elements, (std::vector<std::string>{"Paris", "Rome"}));
  EXPECT_EQ(a.RetrievalIntents(), (std::set<std::string>{"faq"}));
  EXPECT_EQ(a.Intents(), (std::set<std::string>{"faq", "greet"}));
  EXPECT_TRUE(a.responses.count("utter_faq/ask_name"));
}

TEST(TrainingData, PureNluDataIsOnlyWhatNluFilesProvide) {
  TrainingData t;
  Message from_story = Example("hello", "greet");
  from_story.origin = MessageOrigin::kStory;
  t.examples.push_back(from_story);
  EXPECT_FALSE(t.HasPureNluData());
  t.regexes.push_back({"zip", "[0-9]{5}", {}});
  EXPECT_TRUE(t.HasPureNluData());
}

}  // namespace
}  // namespace trainyard::data
