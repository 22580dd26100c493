// Imports and validates the real Rasa projects in ../shared/corpus and checks
// their counts. Skipped when ../shared is absent.

#include <gtest/gtest.h>

#include "core/data/importer.h"
#include "core/data/training_type.h"
#include "core/data/validator.h"
#include "core/util/errors.h"
#include "tests/support/test_helpers.h"

namespace fs = std::filesystem;

namespace trainyard::data {
namespace {

struct Expected {
  const char* project;
  const char* data;  // data path inside the project
  size_t domain_intents, examples, stories, rules;
  TrainingType type;
};

void PrintTo(const Expected& e, std::ostream* os) { *os << e.project; }

class CorpusProject : public ::testing::TestWithParam<Expected> {};

TEST_P(CorpusProject, ImportsValidatesAndCounts) {
  const Expected& e = GetParam();
  const fs::path dir = testing::CorpusProject(e.project);
  if (dir.empty()) GTEST_SKIP() << "../shared is not present";
  ImportOptions options;
  options.config_path = dir / "config.yml";
  options.domain_path = dir / "domain.yml";
  options.data_paths = {dir / e.data};
  util::Diagnostics d;
  Project p;
  try {
    p = Import(options, d);
  } catch (const util::InvalidDataError& err) {
    FAIL() << err.what();
  }
  ValidateProject(p, d);
  for (const auto& err : d.errors()) ADD_FAILURE() << err.ToString();
  EXPECT_EQ(p.domain.intents.size(), e.domain_intents);
  EXPECT_EQ(p.intent_example_count(), e.examples);
  EXPECT_EQ(p.stories.story_count, e.stories);
  EXPECT_EQ(p.stories.rule_count, e.rules);
  EXPECT_EQ(PlanTraining(p).type, e.type);
}

INSTANTIATE_TEST_SUITE_P(
    Corpus, CorpusProject,
    ::testing::Values(
        Expected{"moodbot", "data", 7, 68, 3, 2, TrainingType::kBoth},
        Expected{"initbot", "data", 7, 68, 3, 2, TrainingType::kBoth},
        Expected{"formbot", "data", 9, 286, 2, 6, TrainingType::kBoth},
        Expected{"concertbot", "data", 11, 29, 6, 5, TrainingType::kBoth},
        Expected{"knowledgebasebot", "data", 4, 44, 1, 4, TrainingType::kBoth},
        Expected{"e2ebot", "data", 4, 33, 4, 0, TrainingType::kEndToEnd},
        Expected{"reminderbot", "data", 8, 35, 1, 7, TrainingType::kBoth},
        Expected{"responseselectorbot", "data", 8, 76, 3, 3, TrainingType::kBoth},
        Expected{"rulesbot", "data", 11, 286, 0, 13, TrainingType::kBoth},
        Expected{"sara", "data", 42, 4995, 276, 53, TrainingType::kBoth},
        Expected{"helpdesk-assistant", "data", 17, 438, 14, 7, TrainingType::kBoth},
        Expected{"rasa_testdata/test_moodbot", "data", 7, 68, 3, 2, TrainingType::kBoth},
        Expected{"rasa_testdata/test_e2ebot", "data", 2, 10, 2, 0, TrainingType::kEndToEnd},
        Expected{"rasa_testdata/test_restaurantbot", "data", 2, 31, 1, 1, TrainingType::kBoth},
        Expected{"rasa_testdata/test_multiproject", "nonexistent", 4, 32, 0, 4, TrainingType::kBoth},
        Expected{"rasa_testdata/test_response_selector_bot", "data", 8, 76, 0, 3, TrainingType::kBoth},
        Expected{"rasa_testdata/test_validation", "data", 2, 1, 1, 0, TrainingType::kBoth}));

TEST(Corpus, CarbonBotsTwoZeroDomainSaysWhatToMigrate) {
  const fs::path dir = testing::CorpusProject("carbon-bot");
  if (dir.empty()) GTEST_SKIP() << "../shared is not present";
  ImportOptions options;
  options.config_path = dir / "config.yml";
  options.domain_path = dir / "domain.yml";
  options.data_paths = {dir / "data"};
  util::Diagnostics d;
  try {
    Import(options, d);
    FAIL() << "carbon-bot's 2.0 domain should not load";
  } catch (const util::InvalidDataError& e) {
    const util::Diagnostic& first = e.details().front();
    EXPECT_EQ(first.location.line, 39);
    EXPECT_NE(first.message.find("Slot 'context_scenario' has no 'mappings'"), std::string::npos);
    EXPECT_NE(first.message.find("rasa data migrate"), std::string::npos);
  }
  // Training keeps going NLU-only, as Rasa does with a domain it cannot load.
  options.lenient_domain = true;
  util::Diagnostics lenient;
  const Project p = Import(options, lenient);
  EXPECT_EQ(PlanTraining(p).type, TrainingType::kNlu);
  EXPECT_GT(p.intent_example_count(), 2000u);
}

struct BadFixture {
  const char* file;  // under rasa_testdata
  const char* kind;  // "domain", "stories" or "nlu"
  int line;          // expected line of the first error (0 = any)
  const char* message;
};

void PrintTo(const BadFixture& b, std::ostream* os) { *os << b.file; }

class InvalidFixture : public ::testing::TestWithParam<BadFixture> {};

TEST_P(InvalidFixture, FailsWithAClearLocatedError) {
  const BadFixture& b = GetParam();
  const fs::path shared = testing::SharedDir();
  if (shared.empty()) GTEST_SKIP() << "../shared is not present";
  const fs::path file = shared / "corpus/rasa_testdata" / b.file;
  ImportOptions options;
  options.config_path = "";
  options.domain_path = std::string(b.kind) == "domain" ? file : fs::path();
  options.data_paths = {};
  if (std::string(b.kind) != "domain") options.data_paths = {file};
  util::Diagnostics d;
  try {
    Import(options, d);
    FAIL() << b.file << " should fail";
  } catch (const util::InvalidDataError& e) {
    // The fixtures predate 3.x slot mappings, so other errors come too; the
    // one the fixture is about must be among them, at the right place.
    const util::Diagnostic* match = nullptr;
    for (const auto& x : e.details())
      if (x.severity == util::Severity::kError && x.message.find(b.message) != std::string::npos && !match)
        match = &x;
    ASSERT_NE(match, nullptr) << e.what();
    EXPECT_EQ(match->location.file, file.string());
    if (b.line) {
      EXPECT_EQ(match->location.line, b.line) << match->ToString();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    RasaFixtures, InvalidFixture,
    ::testing::Values(
        BadFixture{"test_wrong_yaml_stories/wrong_yaml.yml", "stories", 0, "Failed to read"},
        BadFixture{"test_domains/invalid_format.yml", "domain", 0, "Failed to read"},
        BadFixture{"test_domains/wrong_response_format.yml", "domain", 17, "must be a mapping"},
        BadFixture{"test_domains/wrong_custom_response_format.yml", "domain", 0,
                   "Missing 'text' or 'custom'"},
        BadFixture{"test_domains/empty_response_format.yml", "domain", 16, "non-empty list"},
        BadFixture{"test_domains/missing_text_for_templates.yml", "domain", 0, "must be a mapping"},
        BadFixture{"test_domains/duplicate_actions.yml", "domain", 0, "Duplicate actions"},
        BadFixture{"test_domains/duplicate_entities.yml", "domain", 0, "Duplicate entities"},
        BadFixture{"test_domains/duplicate_intents.yml", "domain", 0, "Duplicate intents"}));

}  // namespace
}  // namespace trainyard::data
