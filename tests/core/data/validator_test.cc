#include "core/data/validator.h"

#include <gtest/gtest.h>

#include "tests/core/data/project_fixture.h"

namespace trainyard::data {
namespace {

util::Diagnostics Validate(const std::string& nlu, const std::string& stories,
                           const std::string& domain = kFixtureDomain) {
  testing::TempDir dir;
  util::Diagnostics d;
  const Project p = Import(WriteFixture(dir, nlu, stories, domain), d);
  util::Diagnostics findings;
  ValidateProject(p, findings);
  return findings;
}

bool Has(const std::vector<util::Diagnostic>& items, const std::string& text) {
  for (const auto& i : items)
    if (i.message.find(text) != std::string::npos) return true;
  return false;
}

TEST(Validator, CleanProjectHasNoFindings) {
  const util::Diagnostics d = Validate(kFixtureNlu, kFixtureStories);
  EXPECT_EQ(d.all().size(), 0u) << d.all()[0].ToString();
}

TEST(Validator, IntentInStoriesMissingFromDomainIsAnError) {
  const util::Diagnostics d = Validate(kFixtureNlu, std::string(kFixtureStories) +
                                                        "- rule: r2\n  steps:\n  - intent: unknown_one\n"
                                                        "  - action: utter_greet\n");
  ASSERT_TRUE(d.has_errors());
  EXPECT_TRUE(Has(d.errors(), "The intent 'unknown_one' is used in your stories, but it is not listed"));
  EXPECT_EQ(d.errors()[0].location.line, 19);
}

TEST(Validator, UnknownActionsAndUtterancesAreErrors) {
  const util::Diagnostics d = Validate(
      kFixtureNlu, "stories:\n- story: s\n  steps:\n  - intent: greet\n  - action: utter_nothing\n"
                   "  - action: action_custom\n  - action: action_restart\n");
  EXPECT_TRUE(Has(d.errors(), "'utter_nothing' is used in the stories, but is not a valid utterance"));
  EXPECT_TRUE(Has(d.errors(), "'action_custom' is used in the stories, but is not listed"));
  EXPECT_FALSE(Has(d.errors(), "action_restart"));
}

TEST(Validator, UnusedIntentsAndUtterancesAreWarnings) {
  const util::Diagnostics d = Validate(
      kFixtureNlu, "stories:\n- story: s\n  steps:\n  - intent: greet\n  - action: utter_greet\n");
  EXPECT_FALSE(d.has_errors());
  EXPECT_TRUE(Has(d.warnings(), "The intent 'goodbye' is not used in any story or rule."));
  EXPECT_TRUE(Has(d.warnings(), "The utterance 'utter_goodbye' is not used in any story or rule."));
}

TEST(Validator, UtterActionWithoutResponseWarns) {
  std::string domain = kFixtureDomain;
  domain.replace(domain.find("actions: [utter_greet"), 21, "actions: [utter_missing, utter_greet");
  const util::Diagnostics d = Validate(kFixtureNlu, kFixtureStories, domain);
  EXPECT_TRUE(Has(d.warnings(), "Action 'utter_missing' is listed as a response action"));
}

TEST(Validator, DuplicateExamplesAcrossIntentsWarn) {
  const util::Diagnostics d = Validate(
      std::string(kFixtureNlu) + "- intent: greet\n  examples: |\n    - great\n", kFixtureStories);
  EXPECT_TRUE(Has(d.warnings(), "The example 'great' was found labeled with multiple different intents"));
  EXPECT_TRUE(Has(d.warnings(), "greet, mood_great"));
}

TEST(Validator, NluIntentMissingFromDomainIsReported) {
  const util::Diagnostics d =
      Validate(std::string(kFixtureNlu) + "- intent: stray\n  examples: |\n    - x\n    - y\n", kFixtureStories);
  EXPECT_TRUE(Has(d.all(), "labeled with intent 'stray'. This intent is not listed in your domain"));
}

TEST(Validator, UnresolvedSlotsAndFormSlotsAreErrors) {
  std::string domain = std::string(kFixtureDomain) + "forms:\n  f:\n    required_slots: [name, nope]\n";
  const util::Diagnostics d = Validate(
      kFixtureNlu, std::string(kFixtureStories) + "- rule: r3\n  steps:\n  - intent: greet\n"
                                                  "  - slot_was_set:\n    - ghost: 1\n",
      domain);
  EXPECT_TRUE(Has(d.errors(), "slot 'ghost'"));
  EXPECT_TRUE(Has(d.errors(), "The form slot 'nope' in form 'f' is not present"));
}

TEST(Validator, EmptyDomainIsAnError) {
  const util::Diagnostics d = Validate(kFixtureNlu, kFixtureStories, "");
  ASSERT_EQ(d.error_count(), 1u);
  EXPECT_EQ(d.errors()[0].message, "Encountered empty domain during validation.");
}

}  // namespace
}  // namespace trainyard::data
