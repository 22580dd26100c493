#include "core/data/training_type.h"

#include <gtest/gtest.h>

#include "core/data/importer.h"
#include "tests/core/data/project_fixture.h"

namespace trainyard::data {
namespace {

TrainingPlan PlanFor(const std::string& nlu, const std::string& stories, const std::string& domain = kFixtureDomain) {
  testing::TempDir dir;
  ImportOptions options = WriteFixture(dir, nlu, stories, domain);
  options.lenient_domain = true;
  util::Diagnostics d;
  return PlanTraining(Import(options, d));
}

TEST(TrainingType, FollowsRasasDecisionTable) {
  EXPECT_EQ(PlanFor(kFixtureNlu, kFixtureStories).type, TrainingType::kBoth);
  const TrainingPlan nlu_only = PlanFor(kFixtureNlu, "");
  EXPECT_EQ(nlu_only.type, TrainingType::kNlu);
  EXPECT_EQ(nlu_only.messages.back(), "No stories present. Just a Rasa NLU model will be trained.");
  const TrainingPlan core_only = PlanFor("", kFixtureStories);
  EXPECT_EQ(core_only.type, TrainingType::kCore);
  EXPECT_EQ(core_only.messages.back(), "No NLU data present. Just a Rasa Core model will be trained.");
  const TrainingPlan no_domain = PlanFor(kFixtureNlu, kFixtureStories, "");
  EXPECT_EQ(no_domain.type, TrainingType::kNlu);
  EXPECT_NE(no_domain.messages.back().find("Core training was skipped"), std::string::npos);
  const TrainingPlan nothing = PlanFor("", "");
  EXPECT_FALSE(nothing.has_training_data);
  EXPECT_NE(nothing.messages.back().find("No training data given"), std::string::npos);
}

TEST(TrainingType, EndToEndStoriesWithoutNluFiles) {
  const TrainingPlan plan = PlanFor("", "stories:\n- story: s\n  steps:\n  - user: hi there\n  - action: utter_greet\n");
  EXPECT_EQ(plan.type, TrainingType::kEndToEnd);
  EXPECT_NE(plan.messages.front().find("end-to-end training is currently experimental"), std::string::npos);
}

TEST(TrainingType, EndToEndWithEmptyDomainBecomesNlu) {
  const TrainingPlan plan = PlanFor(kFixtureNlu, "stories:\n- story: s\n  steps:\n  - user: hi\n", "");
  EXPECT_EQ(plan.type, TrainingType::kNlu);
}

TEST(TrainingType, SynonymsAloneArePureNluData) {
  EXPECT_EQ(PlanFor("nlu:\n- synonym: nyc\n  examples: |\n    - new york\n", "").type, TrainingType::kNlu);
}

TEST(UnresolvedSlots, ListsEachUnknownSlotWithItsPlaces) {
  testing::TempDir dir;
  util::Diagnostics d;
  const Project p = Import(
      WriteFixture(dir, kFixtureNlu,
                   "stories:\n- story: s\n  steps:\n  - intent: greet\n  - slot_was_set:\n    - temp1: x\n"
                   "    - name: y\n  - or:\n    - slot_was_set:\n      - temp1: z\n"
                   "rules:\n- rule: r\n  condition:\n  - slot_was_set:\n    - temp4: true\n  steps:\n"
                   "  - intent: greet\n  - action: utter_greet\n"),
      d);
  const auto unresolved = FindUnresolvedSlots(p);
  ASSERT_EQ(unresolved.size(), 2u);
  EXPECT_EQ(unresolved.at("temp1").size(), 2u);
  EXPECT_EQ(unresolved.at("temp1")[0].line, 6);
  EXPECT_EQ(unresolved.at("temp4").size(), 1u);
  EXPECT_FALSE(unresolved.count("name"));
}

}  // namespace
}  // namespace trainyard::data
