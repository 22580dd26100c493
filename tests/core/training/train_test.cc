// The orchestration API end to end on small projects (SPEC §10 scenarios
// 1–7, 25, 28, 36, 42, 46) with the components this version implements.

#include "core/training/train.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <algorithm>
#include <fstream>
#include <set>
#include <mutex>
#include <regex>

#include "core/storage/archive.h"
#include "core/training/model.h"
#include "core/util/errors.h"
#include "tests/core/data/project_fixture.h"
#include "tests/support/story_events.h"

namespace fs = std::filesystem;

namespace trainyard::training {
namespace {

constexpr const char* kKeywordConfig =
    "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
    "  - name: KeywordIntentClassifier\npolicies: []\n";

class TrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_ = data::WriteFixture(dir_);
    dir_.Write("config.yml", kKeywordConfig);
    ::setenv("TRAINYARD_CACHE_DIR", (dir_.path() / "cache").c_str(), 1);
    train_.config = options_.config_path;
    train_.domain = options_.domain_path;
    train_.training_files = options_.data_paths;
    train_.output = dir_.path() / "models";
  }
  void TearDown() override { ::unsetenv("TRAINYARD_CACHE_DIR"); }

  size_t ArchiveCount() const {
    size_t n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(train_.output, ec)) n += e.is_regular_file();
    return n;
  }

  // Makes train_ a dry run whose warnings (file:line text) go to warnings_.
  void DryRunCollectingWarnings() {
    train_.on_warning = [this](const util::Diagnostic& d) { warnings_.push_back(d.ToString()); };
    train_.dry_run = true;
  }

  // The collected warnings that contain `text`.
  std::vector<std::string> WarningsWith(const std::string& text) const {
    std::vector<std::string> found;
    for (const std::string& w : warnings_)
      if (w.find(text) != std::string::npos) found.push_back(w);
    return found;
  }

  testing::TempDir dir_;
  data::ImportOptions options_;
  TrainOptions train_;
  std::vector<std::string> warnings_;
};

TEST_F(TrainTest, FullTrainWritesOneArchiveThatParses) {
  train_.fixed_model_name = "model";
  const TrainingResult result = Train(train_);
  ASSERT_TRUE(result.model);
  EXPECT_EQ(result.code, 0);
  EXPECT_EQ(*result.model, train_.output / "model.tar.gz");
  EXPECT_EQ(ArchiveCount(), 1u);
  const auto metadata = storage::ReadArchiveMetadata(*result.model);
  EXPECT_EQ(metadata.model_id.size(), 32u);
  EXPECT_EQ(metadata.domain["intents"].size(), 3u);
  EXPECT_EQ(metadata.nlu_target, "run_RegexMessageHandler");
  // No project_fingerprint given: none, although the tests run inside trainyard's own checkout.
  EXPECT_FALSE(metadata.project_fingerprint);
  const auto model = Model::Load(*result.model);
  EXPECT_EQ(model->Parse("well hi")["intent"]["name"], "greet");
  EXPECT_EQ(model->Parse("/goodbye")["intent"]["name"], "goodbye");
}

TEST_F(TrainTest, GeneratedNamesCarryTheTrainingTypePrefix) {
  const TrainingResult both = Train(train_);
  EXPECT_TRUE(std::regex_match(both.model->filename().string(),
                               std::regex("[0-9]{8}-[0-9]{6}-[a-z]+-[a-z]+\\.tar\\.gz")));
  const TrainingResult nlu = TrainNlu(train_);
  ASSERT_TRUE(nlu.model);
  EXPECT_EQ(nlu.model->filename().string().substr(0, 4), "nlu-");
  EXPECT_EQ(storage::ReadArchiveMetadata(*nlu.model).training_type, 1);
}

TEST_F(TrainTest, NoTempFilesAreLeftBehind) {
  const fs::path tmp = dir_.path() / "tmp";
  fs::create_directories(tmp);
  ::setenv("TMPDIR", tmp.c_str(), 1);
  Train(train_);
  Train(train_);  // cached
  TrainNlu(train_);
  ::unsetenv("TMPDIR");
  EXPECT_TRUE(fs::is_empty(tmp));
  for (const auto& e : fs::directory_iterator(train_.output))
    EXPECT_EQ(e.path().extension(), ".gz") << e.path();
}

TEST_F(TrainTest, NoDataReturnsCodeOneAndNoModel) {
  fs::remove_all(dir_.path() / "data");
  fs::create_directories(dir_.path() / "data");
  const TrainingResult result = Train(train_);
  EXPECT_EQ(result.code, 1);
  EXPECT_FALSE(result.model);
  EXPECT_NE(result.messages.back().find("No training data given"), std::string::npos);
  EXPECT_EQ(ArchiveCount(), 0u);
}

TEST_F(TrainTest, OnlyNluDataTrainsAnNluModel) {
  fs::remove(dir_.path() / "data" / "stories.yml");
  const TrainingResult result = Train(train_);
  EXPECT_EQ(result.training_type, data::TrainingType::kNlu);
  ASSERT_TRUE(result.model);
  EXPECT_EQ(result.model->filename().string().substr(0, 4), "nlu-");
  const auto metadata = storage::ReadArchiveMetadata(*result.model);
  EXPECT_FALSE(metadata.core_target);
}

TEST_F(TrainTest, DryRunCodesFollowTheCache) {
  train_.dry_run = true;
  EXPECT_EQ(Train(train_).code, 1);  // never trained
  train_.dry_run = false;
  Train(train_);
  train_.dry_run = true;
  const TrainingResult cached = Train(train_);
  EXPECT_EQ(cached.code, 0);
  EXPECT_NE(cached.messages.back().find("No training of components required"), std::string::npos);
  for (const auto& [node, hit] : *cached.dry_run_results) EXPECT_TRUE(hit) << node;
  train_.force_training = true;
  EXPECT_EQ(Train(train_).code, 8);
  EXPECT_EQ(ArchiveCount(), 1u);  // dry runs write nothing
}

TEST_F(TrainTest, UnchangedRetrainRestoresAndForceRetrains) {
  Train(train_);
  std::vector<graph::TrainingEvent> events;
  std::mutex m;
  train_.on_event = [&](const graph::TrainingEvent& e) {
    std::lock_guard<std::mutex> l(m);
    events.push_back(e);
  };
  Train(train_);
  bool restored = false;
  for (const auto& e : events) restored |= e.kind == graph::TrainingEvent::Kind::kNodeRestored;
  EXPECT_TRUE(restored);
  events.clear();
  train_.force_training = true;
  Train(train_);
  bool retrained = false;
  for (const auto& e : events) retrained |= e.message == "Finished training component 'KeywordIntentClassifier'.";
  EXPECT_TRUE(retrained);
  EXPECT_EQ(ArchiveCount(), 3u);  // every real run writes a new archive
}

TEST_F(TrainTest, NewExampleRetrainsTheClassifier) {
  Train(train_);
  dir_.Write("data/more.yml", "nlu:\n- intent: greet\n  examples: |\n    - howdy\n    - hey there\n");
  train_.dry_run = true;
  const TrainingResult r = Train(train_);
  EXPECT_EQ(r.code, 1);
  EXPECT_FALSE(r.dry_run_results->at("train_KeywordIntentClassifier1"));
}

TEST_F(TrainTest, UnresolvedSlotsAbortWithTheirNames) {
  dir_.Write("data/rules2.yml", "rules:\n- rule: r\n  steps:\n  - intent: greet\n  - slot_was_set:\n    - temp1: x\n");
  try {
    Train(train_);
    FAIL();
  } catch (const util::InvalidDataError& e) {
    const std::string all = e.what();
    EXPECT_NE(all.find("'temp1'"), std::string::npos) << all;
    EXPECT_EQ(all.find("'name'"), std::string::npos) << all;
  }
}

TEST_F(TrainTest, PersistNluDataStoresTrainingDataYml) {
  train_.persist_nlu_training_data = true;
  train_.fixed_model_name = "persisted";
  const TrainingResult result = Train(train_);
  const fs::path out = dir_.path() / "unpacked";
  storage::UnpackArchive(*result.model, out);
  EXPECT_TRUE(fs::exists(out / "nlu_training_data_provider" / "training_data.yml"));
}

TEST_F(TrainTest, UnimplementedComponentsAreNamedBeforeTraining) {
  dir_.Write("config.yml", "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
                           "  - name: JiebaTokenizer\npolicies:\n  - name: TEDPolicy\n");
  try {
    Train(train_);
    FAIL();
  } catch (const util::InvalidConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'JiebaTokenizer'"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("'TEDPolicy'"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ArchiveCount(), 0u);
}

TEST_F(TrainTest, ImpossibleModelOptionsAreRefusedWithTheirLineBeforeAnythingTrains) {
  // A zero-wide sparse input layer crashed DIET's training (SIGFPE); each value here must be refused
  // with where config.yml writes the component, on a dry run as well, and before any node runs.
  struct Case {
    std::string components, key, where;
  };
  const std::vector<Case> cases = {
      {"  - name: DIETClassifier\n    dense_dimension: {text: 0}\n", "'dense_dimension.text'", "config.yml:6:5"},
      {"  - name: DIETClassifier\n    drop_rate: 1.0\n", "'drop_rate'", "config.yml:6:5"},
      {"  - name: DIETClassifier\n    evaluate_every_number_of_epochs: 0\n", "'evaluate_every_number_of_epochs'",
       "config.yml:6:5"},
      {"  - name: ResponseSelector\n    number_of_negative_examples: 0\n", "'number_of_negative_examples'",
       "config.yml:6:5"},
      {"  - name: ResponseSelector\n    retrieval_intent: [faq]\n", "'retrieval_intent'", "config.yml:6:5"},
      {"  - name: CountVectorsFeaturizer\n    min_ngram: 3\n    max_ngram: 2\n", "'max_ngram' (2)", "config.yml:6:5"},
      {"  - name: LogisticRegressionClassifier\n    tol: -1\n", "'tol'", "config.yml:6:5"},
      {"  - name: KeywordIntentClassifier\n    case_sensitive: 3\n", "'case_sensitive'", "config.yml:6:5"},
      // Not trained, so refused on its own line all the same.
      {"  - name: KeywordIntentClassifier\n  - name: FallbackClassifier\n    threshold: 7\n", "'threshold'",
       "config.yml:7:5"},
  };
  for (const Case& c : cases) {
    dir_.Write("config.yml", "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
                             "  - name: CountVectorsFeaturizer\n" + c.components + "policies: []\n");
    for (const bool dry_run : {true, false}) {
      train_.dry_run = dry_run;
      try {
        Train(train_);
        ADD_FAILURE() << c.components;
      } catch (const util::InvalidDataError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(c.where + ": error: "), std::string::npos) << what;
        EXPECT_NE(what.find(c.key), std::string::npos) << what;
      }
    }
  }
  train_.dry_run = false;
  // Rasa refuses 0 for TED's evaluate_every_number_of_epochs (its test_config has such a file).
  for (const auto& [policy, option] : std::vector<std::pair<std::string, std::string>>{
           {"TEDPolicy", "max_history: 0"},
           {"TEDPolicy", "evaluate_every_number_of_epochs: 0"},
           {"AugmentedMemoizationPolicy", "max_history: 0"},
           {"RulePolicy", "core_fallback_threshold: 5"},
           {"RulePolicy", "restrict_rules: 7"}}) {
    dir_.Write("config.yml", "recipe: default.v1\nlanguage: en\npipeline: []\npolicies:\n"
                             "  - name: MemoizationPolicy\n  - name: " + policy + "\n    " + option + "\n");
    const std::string key = option.substr(0, option.find(':'));
    try {
      Train(train_);
      ADD_FAILURE() << policy << " " << option;
    } catch (const util::InvalidDataError& e) {
      EXPECT_NE(std::string(e.what()).find("config.yml:6:5: error: " + policy + ": '" + key + "'"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_EQ(ArchiveCount(), 0u);
  EXPECT_FALSE(fs::exists(dir_.path() / "cache")) << "a node ran";
}

TEST_F(TrainTest, OptionsAComponentDoesNotHaveAreWarnedOfWithAGuess) {
  dir_.Write("config.yml", "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
                           "  - name: KeywordIntentClassifier\n    case_sensitiv: false\n    colour: red\n"
                           "policies:\n  - name: MemoizationPolicy\n    max_histroy: 3\n");
  DryRunCollectingWarnings();
  std::vector<std::string>& warnings = warnings_;
  Train(train_);
  auto warned = [&warnings](const std::string& text) {
    return std::any_of(warnings.begin(), warnings.end(),
                       [&text](const std::string& w) { return w.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(warned("config.yml:5:5: warning: 'case_sensitiv' is not an option of trainyard's "
                     "KeywordIntentClassifier; it is ignored. Did you mean 'case_sensitive'?"));
  EXPECT_TRUE(warned("'colour' is not an option of trainyard's KeywordIntentClassifier; it is ignored."));
  EXPECT_FALSE(warned("'colour' is not an option of trainyard's KeywordIntentClassifier; it is ignored. Did"));
  EXPECT_TRUE(warned("config.yml:9:5: warning: 'max_histroy' is not an option of trainyard's MemoizationPolicy; "
                     "it is ignored. Did you mean 'max_history'?"));
  // Training only the dialogue says nothing of the pipeline.
  warnings.clear();
  TrainCore(train_);
  EXPECT_FALSE(warned("case_sensitiv"));
  EXPECT_TRUE(warned("max_histroy"));
}

// Rasa's options that trainyard accepts but that change nothing (TensorBoard,
// TED's per-attribute layers) are warned of where config.yml sets them to
// something else than their default; a copied default stays quiet.
TEST_F(TrainTest, OptionsThatChangeNothingHereAreWarnedOfWhenSet) {
  dir_.Write("config.yml",
             "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
             "  - name: CountVectorsFeaturizer\n  - name: DIETClassifier\n    "
             "tensorboard_log_directory: ./tb\n"
             "    run_eagerly: false\npolicies:\n  - name: TEDPolicy\n    encoding_dimension: 64\n"
             "    hidden_layers_sizes: {text: [], action_text: [], label_action_text: []}\n  - "
             "name: RulePolicy\n");
  DryRunCollectingWarnings();
  Train(train_);
  const std::vector<std::string> inert = WarningsWith("has no effect");
  ASSERT_EQ(inert.size(), 2u) << ::testing::PrintToString(warnings_);
  EXPECT_NE(inert[0].find(
                "config.yml:6:5: warning: 'tensorboard_log_directory' has no effect in trainyard's "
                "DIETClassifier: trainyard writes no TensorBoard logs"),
            std::string::npos)
      << inert[0];
  EXPECT_NE(inert[1].find("config.yml:10:5: warning: 'encoding_dimension' has no effect in "
                          "trainyard's TEDPolicy: "),
            std::string::npos)
      << inert[1];
}

// dense_dimension's label member sizes nothing here (DIET's and
// ResponseSelector's labels go straight to their hidden and embedding
// layers): set to another value than the component's default, alone or
// through a plain number for both members, it is warned of; its default, or
// dense_dimension.text alone, is not.
TEST_F(TrainTest, DenseDimensionsLabelMemberIsWarnedOfWhenSet) {
  auto warnings_for = [this](const std::string& options) {
    dir_.Write("config.yml",
               "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
               "  - name: CountVectorsFeaturizer\n" +
                   options + "policies: []\n");
    warnings_.clear();
    DryRunCollectingWarnings();
    TrainNlu(train_);
    return WarningsWith("dense_dimension");
  };
  std::vector<std::string> w =
      warnings_for("  - name: DIETClassifier\n    dense_dimension: {text: 256, label: 64}\n");
  ASSERT_EQ(w.size(), 1u) << ::testing::PrintToString(warnings_);
  EXPECT_NE(
      w[0].find("config.yml:6:5: warning: 'dense_dimension.label' has no effect in trainyard's "
                "DIETClassifier: the labels' features"),
      std::string::npos)
      << w[0];
  EXPECT_EQ(warnings_for("  - name: DIETClassifier\n    dense_dimension: {text: 256, label: 20}\n")
                .size(),
            0u);
  EXPECT_EQ(warnings_for("  - name: DIETClassifier\n    dense_dimension: {text: 256}\n").size(),
            0u);
  EXPECT_EQ(warnings_for("  - name: DIETClassifier\n    dense_dimension: 20\n").size(), 0u);
  EXPECT_EQ(warnings_for("  - name: DIETClassifier\n    dense_dimension: 256\n").size(), 1u);
  // ResponseSelector's default label member is 512.
  EXPECT_EQ(
      warnings_for("  - name: ResponseSelector\n    dense_dimension: {text: 512, label: 512}\n")
          .size(),
      0u);
  w = warnings_for("  - name: ResponseSelector\n    dense_dimension: {text: 512, label: 128}\n");
  ASSERT_EQ(w.size(), 1u) << ::testing::PrintToString(warnings_);
  EXPECT_NE(w[0].find("'dense_dimension.label' has no effect in trainyard's ResponseSelector"),
            std::string::npos)
      << w[0];
}

// Featurizers are named by `alias` (no unknown-option warning for it), two
// featurizers may not share one (Rasa refuses it too), and a name in DIET's
// `featurizers` that no featurizer has is warned of on DIET's line.
TEST_F(TrainTest, FeaturizerAliasesAreUniqueAndDietsFeaturizersAreChecked) {
  const std::string head =
      "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
      "  - name: CountVectorsFeaturizer\n    alias: words\n"
      "  - name: CountVectorsFeaturizer\n    analyzer: char_wb\n";
  dir_.Write("config.yml", head +
                               "  - name: DIETClassifier\n    featurizers: [words, wrods, "
                               "run_CountVectorsFeaturizer2]\npolicies: []\n");
  DryRunCollectingWarnings();
  std::vector<std::string>& warnings = warnings_;
  TrainNlu(train_);
  ASSERT_EQ(warnings.size(), 1u) << ::testing::PrintToString(warnings);
  EXPECT_NE(warnings[0].find(
                "config.yml:9:5: warning: DIETClassifier: 'featurizers' lists 'wrods', but no "
                "featurizer before it has that name"),
            std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[0].find("'words', 'run_CountVectorsFeaturizer2'"), std::string::npos)
      << warnings[0];

  dir_.Write("config.yml", head + "    alias: words\n  - name: DIETClassifier\npolicies: []\n");
  try {
    TrainNlu(train_);
    ADD_FAILURE() << "two featurizers named 'words'";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "config.yml:7:5: error: Expected the featurizers to have unique names, "
                  "but 'words' is also the alias of the CountVectorsFeaturizer at "),
              std::string::npos)
        << e.what();
  }

  // TED's `featurizers` name the pipeline's featurizers (its end-to-end texts'
  // features): checked against the whole pipeline, on TED's line, also when
  // only the dialogue trains.
  dir_.Write("config.yml", head +
                               "  - name: DIETClassifier\npolicies:\n  - name: TEDPolicy\n"
                               "    featurizers: [run_CountVectorsFeaturizer2, wrods]\n");
  warnings.clear();
  TrainCore(train_);
  // (The fixture's rules are warned of too: no RulePolicy.)
  const std::vector<std::string> listed = WarningsWith("'featurizers'");
  ASSERT_EQ(listed.size(), 1u) << ::testing::PrintToString(warnings);
  EXPECT_NE(listed[0].find("config.yml:11:5: warning: TEDPolicy: 'featurizers' lists 'wrods'"),
            std::string::npos)
      << listed[0];
}

TEST_F(TrainTest, DefaultConfigTrainsEveryComponentAndPredicts) {
  // No pipeline, no policies: Rasa's defaults (DIET, ResponseSelector, Memoization, Rule, UnexpecTED, TED).
  using namespace testing::events;
  dir_.Write("config.yml", "recipe: default.v1\nlanguage: en\n");
  train_.fixed_model_name = "defaults";
  const TrainingResult result = Train(train_);
  ASSERT_TRUE(result.model);
  const auto model = Model::Load(*result.model);
  EXPECT_EQ(model->Parse("hello")["intent"]["name"], "greet");
  // The rule in the fixture answers goodbye anywhere.
  EXPECT_EQ(model->PredictNextAction({User("greet"), Action("utter_greet"), User("goodbye")})["action"],
            "utter_goodbye");
}

TEST_F(TrainTest, KilledTrainingLeavesNoArchiveUnderTheFinalName) {
  train_.fixed_model_name = "killed";
  // Make the archive big enough that the kill lands while it is written.
  std::string big = "nlu:\n- intent: greet\n  examples: |\n";
  for (int i = 0; i < 40000; ++i) big += "    - hello number " + std::to_string(i) + " with some padding text\n";
  dir_.Write("data/big.yml", big);
  train_.persist_nlu_training_data = true;
  for (int delay_ms : {5, 20, 60, 120}) {
    const pid_t child = fork();
    if (child == 0) {
      ::setenv("TMPDIR", dir_.path().c_str(), 1);  // its temp model storage dies with the test dir
      try {
        Train(train_);
      } catch (...) {
      }
      _exit(0);
    }
    usleep(delay_ms * 1000);
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    const fs::path final_archive = train_.output / "killed.tar.gz";
    if (fs::exists(final_archive)) {
      // If it got there, it is whole.
      EXPECT_NO_THROW(storage::ReadArchiveMetadata(final_archive)) << delay_ms;
      fs::remove(final_archive);
    }
  }
  // A later run trains and trusts only whole cache entries.
  const TrainingResult after = Train(train_);
  ASSERT_TRUE(after.model);
  EXPECT_EQ(Model::Load(*after.model)->Parse("hello number 7 with some padding text")["intent"]["name"], "greet");
}

}  // namespace
}  // namespace trainyard::training

namespace trainyard::training {
namespace {

TEST_F(TrainTest, FeaturizerConfigChangeRetrainsThatNodeAndItsDescendantsOnly) {
  auto config = [&](int max_ngram) {
    dir_.Write("config.yml", "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
                             "  - name: CountVectorsFeaturizer\n  - name: CountVectorsFeaturizer\n"
                             "    analyzer: char_wb\n    min_ngram: 1\n    max_ngram: " + std::to_string(max_ngram) +
                             "\n  - name: KeywordIntentClassifier\npolicies: []\n");
  };
  config(4);
  Train(train_);
  config(3);
  train_.dry_run = true;
  const TrainingResult r = Train(train_);
  EXPECT_EQ(r.code, 1);
  const auto& hits = *r.dry_run_results;
  EXPECT_TRUE(hits.at("train_CountVectorsFeaturizer1"));
  EXPECT_TRUE(hits.at("run_CountVectorsFeaturizer1"));
  EXPECT_FALSE(hits.at("train_CountVectorsFeaturizer2"));
  EXPECT_FALSE(hits.at("run_CountVectorsFeaturizer2"));
  EXPECT_FALSE(hits.at("train_KeywordIntentClassifier3"));
  train_.dry_run = false;
  std::vector<std::string> trained;
  std::mutex m;
  train_.on_event = [&](const graph::TrainingEvent& e) {
    std::lock_guard<std::mutex> l(m);
    if (e.kind == graph::TrainingEvent::Kind::kNodeFinished) trained.push_back(e.node);
  };
  const TrainingResult real = Train(train_);
  std::sort(trained.begin(), trained.end());
  EXPECT_EQ(trained, (std::vector<std::string>{"train_CountVectorsFeaturizer2", "train_KeywordIntentClassifier3"}));
  EXPECT_EQ(Model::Load(*real.model)->Parse("see you")["intent"]["name"], "goodbye");
}

}  // namespace
}  // namespace trainyard::training

namespace trainyard::training {
namespace {

TEST_F(TrainTest, FinetuneModelResolution) {
  train_.model_to_finetune = "/nonexistent/model.tar.gz";
  try {
    Train(train_);
    FAIL();
  } catch (const util::NotFoundError& e) {
    EXPECT_NE(std::string(e.what()).find("No model for finetuning found"), std::string::npos);
  }
  train_.model_to_finetune = train_.output;  // a directory without models
  fs::create_directories(train_.output);
  EXPECT_THROW(Train(train_), util::NotFoundError);
  train_.model_to_finetune.reset();
  train_.fixed_model_name = "first";
  Train(train_);
  train_.fixed_model_name = "second";
  train_.model_to_finetune = train_.output;  // newest archive in it
  const TrainingResult finetuned = Train(train_);
  ASSERT_TRUE(finetuned.model);
  const auto schema = storage::ReadArchiveMetadata(*finetuned.model).train_schema;
  EXPECT_EQ(schema["nodes"]["train_KeywordIntentClassifier1"]["constructor_name"], "load");
}

TEST_F(TrainTest, FinetuneAcceptsNewExamplesOfKnownLabelsButNotNewLabels) {
  train_.fixed_model_name = "base";
  const TrainingResult base = Train(train_);
  train_.model_to_finetune = *base.model;
  train_.fixed_model_name = "more";
  dir_.Write("data/more.yml", "nlu:\n- intent: greet\n  examples: |\n    - howdy\n    - good day\n");
  const TrainingResult more = Train(train_);
  ASSERT_TRUE(more.model);
  EXPECT_EQ(Model::Load(*more.model)->Parse("howdy")["intent"]["name"], "greet");

  dir_.Write("data/new.yml", "nlu:\n- intent: brand_new\n  examples: |\n    - something new\n    - very new\n");
  try {
    Train(train_);
    FAIL();
  } catch (const util::InvalidConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("NLU training data contains new labels"), std::string::npos) << e.what();
  }
  fs::remove(dir_.path() / "data" / "new.yml");
  dir_.Write("config.yml", std::string(kKeywordConfig) + "# changed\n");  // comments do not matter
  EXPECT_NO_THROW(Train(train_));
  dir_.Write("config.yml", "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
                           "  - name: KeywordIntentClassifier\n    case_sensitive: false\npolicies: []\n");
  try {
    Train(train_);
    FAIL();
  } catch (const util::InvalidConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("more than just the 'epoch' keys have been changed"), std::string::npos);
  }
}

}  // namespace
}  // namespace trainyard::training

namespace trainyard::training {
namespace {

TEST_F(TrainTest, KeywordClassifierAndMemoizationTrainEndToEnd) {
  dir_.Write("config.yml", "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
                           "  - name: KeywordIntentClassifier\npolicies:\n  - name: MemoizationPolicy\n"
                           "    max_history: 3\n");
  train_.fixed_model_name = "memo";
  const TrainingResult result = Train(train_);
  ASSERT_TRUE(result.model);
  EXPECT_EQ(result.training_type, data::TrainingType::kBoth);
  const fs::path out = dir_.path() / "unpacked";
  const auto metadata = storage::UnpackArchive(*result.model, out);
  EXPECT_EQ(*metadata.core_target, "select_prediction");
  std::ifstream in(out / "train_MemoizationPolicy0" / "memorized_turns.json");
  const auto memo = nlohmann::ordered_json::parse(in);
  EXPECT_EQ(memo["max_history"], 3);
  // The fixture's story: greet → utter_greet; mood_great; goodbye → utter_goodbye (+ listens).
  std::set<std::string> actions;
  for (const auto& [key, action] : memo["lookup"].items()) actions.insert(action.get<std::string>());
  EXPECT_EQ(actions, (std::set<std::string>{"utter_greet", "utter_goodbye", "action_listen"}));
  EXPECT_TRUE(fs::exists(out / "domain_provider" / "domain.yml"));
  EXPECT_EQ(Model::Load(*result.model)->Parse("see you")["intent"]["name"], "goodbye");
}

}  // namespace
}  // namespace trainyard::training

namespace trainyard::training {
namespace {

constexpr const char* kMemoConfig =
    "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
    "  - name: KeywordIntentClassifier\npolicies:\n  - name: MemoizationPolicy\n";

TEST_F(TrainTest, OnlyCoreDataTrainsACoreModel) {
  dir_.Write("config.yml", kMemoConfig);
  fs::remove(dir_.path() / "data" / "nlu.yml");
  const TrainingResult result = Train(train_);
  EXPECT_EQ(result.training_type, data::TrainingType::kCore);
  ASSERT_TRUE(result.model);
  EXPECT_EQ(result.model->filename().string().substr(0, 5), "core-");
  const auto schema = storage::ReadArchiveMetadata(*result.model).train_schema["nodes"];
  EXPECT_FALSE(schema.contains("nlu_training_data_provider"));
  EXPECT_TRUE(schema.contains("train_MemoizationPolicy0"));
}

TEST_F(TrainTest, TrainCoreAndTrainNluRefuseMissingInputsWithRasasMessages) {
  dir_.Write("config.yml", kMemoConfig);
  TrainOptions no_domain = train_;
  no_domain.domain = dir_.path() / "missing.yml";
  const TrainingResult a = TrainCore(no_domain);
  EXPECT_FALSE(a.model);
  EXPECT_NE(a.messages.back().find("Core training was skipped because no valid domain file was found"),
            std::string::npos);

  dir_.Write("data/e2e.yml", "stories:\n- story: e2e\n  steps:\n  - user: hello there\n  - action: utter_greet\n");
  const TrainingResult b = TrainCore(train_);
  EXPECT_FALSE(b.model);
  EXPECT_NE(b.messages.back().find("Stories file contains e2e stories."), std::string::npos);
  fs::remove(dir_.path() / "data" / "e2e.yml");

  TrainOptions no_nlu = train_;
  no_nlu.training_files.clear();
  EXPECT_NE(TrainNlu(no_nlu).messages.back().find("No NLU data given."), std::string::npos);
  no_nlu.training_files = {dir_.path() / "data" / "stories.yml"};
  const TrainingResult c = TrainNlu(no_nlu);
  EXPECT_FALSE(c.model);
  EXPECT_NE(c.messages.back().find("Please verify the data format."), std::string::npos);
  EXPECT_EQ(ArchiveCount(), 0u);
}

TEST_F(TrainTest, ResponseTextChangesDoNotRetrainPoliciesButNewResponsesDo) {
  dir_.Write("config.yml", kMemoConfig);
  Train(train_);
  train_.dry_run = true;
  std::string domain = data::kFixtureDomain;
  domain.replace(domain.find("  - text: Hey!"), 14, "  - text: Hey!\n  - text: Hello you!");
  dir_.Write("domain.yml", domain);
  const TrainingResult variation = Train(train_);
  EXPECT_EQ(variation.code, 0) << "a new response variation must not retrain anything";
  std::string added = domain;
  added.replace(added.find("actions: [utter_greet, utter_goodbye]"), 38,
                "  utter_new:\n  - text: New!\nactions: [utter_greet, utter_goodbye, utter_new]");
  dir_.Write("domain.yml", added);
  const TrainingResult response = Train(train_);
  EXPECT_EQ(response.code, 1);
  EXPECT_FALSE(response.dry_run_results->at("train_MemoizationPolicy0"));
}

}  // namespace
}  // namespace trainyard::training

namespace trainyard::training {
namespace {

TEST_F(TrainTest, DucklingIsAcceptedAndExtractsNothing) {
  dir_.Write("config.yml", "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
                           "  - name: DucklingEntityExtractor\n    url: http://localhost:8000\n"
                           "  - name: KeywordIntentClassifier\npolicies: []\n");
  const TrainingResult result = Train(train_);
  ASSERT_TRUE(result.model);
  const auto parsed = Model::Load(*result.model)->Parse("hi in 3 days");
  EXPECT_EQ(parsed["intent"]["name"], "greet");
  EXPECT_TRUE(parsed["entities"].empty());
}

}  // namespace
}  // namespace trainyard::training

namespace trainyard::training {
namespace {

TEST_F(TrainTest, FinetuneRefusesDomainChangesForDialogueButNotForNluOnly) {
  dir_.Write("config.yml", kMemoConfig);
  train_.fixed_model_name = "base";
  const TrainingResult base = Train(train_);
  std::string domain = data::kFixtureDomain;
  domain.replace(domain.find("intents: [greet, goodbye, mood_great]"), 37,
                 "intents: [greet, goodbye, mood_great, brand_new]");
  dir_.Write("domain.yml", domain);
  train_.model_to_finetune = *base.model;
  train_.fixed_model_name = "tuned";
  try {
    Train(train_);
    FAIL();
  } catch (const util::InvalidConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("keys that affect the training of core components have changed"),
              std::string::npos) << e.what();
  }
  // NLU-only finetuning does not look at the domain.
  train_.model_to_finetune.reset();
  train_.fixed_model_name = "nlu_base";
  const TrainingResult nlu_base = TrainNlu(train_);
  train_.model_to_finetune = *nlu_base.model;
  train_.fixed_model_name = "nlu_tuned";
  EXPECT_TRUE(TrainNlu(train_).model);
}

}  // namespace
}  // namespace trainyard::training

namespace trainyard::training {
namespace {

using namespace testing::events;

TEST_F(TrainTest, MemoizedStoriesPredictTheNextAction) {
  dir_.Write("config.yml", kMemoConfig);
  train_.fixed_model_name = "memo";
  const auto model = Model::Load(*Train(train_).model);
  const auto first = model->PredictNextAction({User("greet")});
  EXPECT_EQ(first["action"], "utter_greet");
  EXPECT_EQ(first["confidence"], 1.0);
  EXPECT_EQ(first["policy"], "policy_0_MemoizationPolicy");
  EXPECT_EQ(model->PredictNextAction({User("greet"), Action("utter_greet")})["action"], "action_listen");
  // Never seen: nothing remembered, confidence 0.
  EXPECT_EQ(model->PredictNextAction({User("mood_great"), Action("utter_goodbye"), User("greet")})["confidence"], 0.0);
}

TEST_F(TrainTest, AugmentedMemoizationBacksOffToShorterHistories) {
  dir_.Write("config.yml", "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
                           "  - name: KeywordIntentClassifier\npolicies:\n  - name: AugmentedMemoizationPolicy\n"
                           "    max_history: 2\n");
  train_.fixed_model_name = "augmented";
  const auto model = Model::Load(*Train(train_).model);
  // An unseen opening before "greet": the full history is unknown, the last state is remembered.
  const auto p = model->PredictNextAction({User("goodbye"), Action("utter_goodbye"), User("greet")});
  EXPECT_EQ(p["action"], "utter_greet");
}

TEST_F(TrainTest, NluOnlyModelsCannotPredictActions) {
  const auto model = Model::Load(*TrainNlu(train_).model);
  EXPECT_THROW(model->PredictNextAction({User("greet")}), util::InvalidConfigError);
}

}  // namespace
}  // namespace trainyard::training

namespace trainyard::training {
namespace {

TEST_F(TrainTest, TrainGraphTrainsAnImportedProjectForAGivenType) {
  util::Diagnostics d;
  const data::Project project = data::Import(options_, d);
  const TrainingResult result = TrainGraph(train_, project, data::TrainingType::kNlu);
  ASSERT_TRUE(result.model);
  EXPECT_EQ(result.training_type, data::TrainingType::kNlu);
  EXPECT_EQ(storage::ReadArchiveMetadata(*result.model).training_type, 1);
}

}  // namespace
}  // namespace trainyard::training
