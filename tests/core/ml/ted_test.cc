// TEDPolicy end to end through core::training: a seeded training that must
// learn a story set where the same intent needs different actions depending
// on the earlier turns, and the archive round trip.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <tuple>

#include "core/data/story_graph.h"
#include "core/data/story_reader.h"
#include "core/policy/trackers.h"
#include "core/training/model.h"
#include "core/training/train.h"
#include "core/util/errors.h"
#include "tests/support/story_events.h"
#include "tests/support/test_helpers.h"

namespace fs = std::filesystem;

namespace trainyard::ml {
namespace {

// "inform" is answered according to what came two turns before, which only
// the history tells apart; slots and an entity vary the states.
constexpr const char* kStories = R"(version: "3.1"
stories:
- story: pizza
  steps:
  - intent: greet
  - action: utter_greet
  - intent: order
    entities:
    - food: pizza
  - slot_was_set:
    - food: pizza
  - action: utter_ask_size
  - intent: inform
  - action: utter_confirm_pizza
- story: table
  steps:
  - intent: greet
  - action: utter_greet
  - intent: book
  - action: utter_ask_people
  - intent: inform
  - action: utter_confirm_table
- story: bye
  steps:
  - intent: goodbye
  - action: utter_goodbye
- story: table then bye
  steps:
  - intent: book
  - action: utter_ask_people
  - intent: inform
  - action: utter_confirm_table
  - intent: goodbye
  - action: utter_goodbye
  - action: utter_rate_us
)";

constexpr const char* kDomain = R"(version: "3.1"
intents: [greet, order, book, inform, goodbye]
entities: [food]
slots:
  food:
    type: text
    mappings:
    - type: from_entity
      entity: food
responses:
  utter_greet: [{text: hi}]
  utter_ask_size: [{text: size?}]
  utter_confirm_pizza: [{text: ok pizza}]
  utter_ask_people: [{text: how many?}]
  utter_confirm_table: [{text: ok table}]
  utter_goodbye: [{text: bye}]
  utter_rate_us: [{text: rate us}]
)";

std::string Config(int seed, const std::string& policy = "TEDPolicy") {
  return "recipe: default.v1\nlanguage: en\npipeline: []\npolicies:\n  - name: " + policy + "\n    max_history: 5\n"
         "    epochs: 300\n    random_seed: " +
         std::to_string(seed) + "\n";
}

// An end-to-end story: greet, the bot greets back, the user says `text`
// (annotated or not), the bot answers with `action`.
std::string GreetedStory(const std::string& name, const std::string& text, const std::string& action) {
  return "- story: " + name + "\n  steps:\n  - intent: greet\n  - action: utter_greet\n  - user: " + text +
         "\n  - action: " + action + "\n";
}

// Tokens and word counts for the end-to-end texts, keywords for the intents, TED.
std::string EndToEndConfig(int epochs) {
  return "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
         "  - name: CountVectorsFeaturizer\n  - name: KeywordIntentClassifier\n"
         "policies:\n  - name: TEDPolicy\n    epochs: " +
         std::to_string(epochs) + "\n    random_seed: 1\n";
}

class TedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("data/stories.yml", kStories);
    dir_.Write("domain.yml", kDomain);
    ::setenv("TRAINYARD_CACHE_DIR", (dir_.path() / "cache").c_str(), 1);
  }
  void TearDown() override { ::unsetenv("TRAINYARD_CACHE_DIR"); }

  fs::path TrainWith(int seed, const std::string& name, const std::string& policy = "TEDPolicy") {
    dir_.Write(name + ".yml", Config(seed, policy));
    return Train(name, true);
  }

  // Trains the project in dir_ with config `<name>.yml` (core only or all of it).
  fs::path Train(const std::string& name, bool core_only) {
    training::TrainOptions o = testing::ProjectTrainOptions(dir_.path(), name, name);
    o.force_training = true;
    o.augmentation_factor = 0;  // glued stories would make "goodbye" after a table booking ambiguous
    const training::TrainingResult r = core_only ? training::TrainCore(o) : training::Train(o);
    EXPECT_TRUE(r.model.has_value());
    return r.model.value_or(fs::path());
  }

  testing::TempDir dir_;
};

TEST_F(TedTest, LearnsEveryActionOfItsStoriesAndReloadsIdentically) {
  const fs::path archive = TrainWith(7, "ted");
  const auto model = training::Model::Load(archive);
  util::Diagnostics d;
  const auto graph = data::StoryGraph::Build(data::ParseStories(kStories, "stories.yml", d), d);
  size_t actions = 0, correct = 0;
  std::vector<double> confidences;
  for (const auto& tracker : policy::GenerateTrackers(graph, model->metadata().domain, {})) {
    const auto events = policy::ExplicitEvents(tracker.events, true);
    std::vector<data::StoryEvent> so_far(events.begin(), events.begin() + 1);
    for (size_t i = 1; i < events.size(); ++i) {
      if (events[i].type == data::EventType::kAction) {
        const auto p = model->PredictNextAction(so_far);
        ++actions;
        correct += p["action"] == events[i].name;
        EXPECT_EQ(p["action"], events[i].name) << tracker.name << " step " << i;
        EXPECT_EQ(p["policy"], "policy_0_TEDPolicy");
        confidences.push_back(p["confidence"]);
      }
      so_far.push_back(events[i]);
    }
  }
  EXPECT_EQ(actions, 21u);
  EXPECT_EQ(correct, actions);

  // A second load of the same archive predicts exactly the same confidences.
  using namespace testing::events;
  const auto again = training::Model::Load(archive);
  const std::vector<data::StoryEvent> pizza = {User("greet"), Action("utter_greet"), User("order"),
                                               Slot("food", "pizza"), Action("utter_ask_size"), User("inform")};
  EXPECT_EQ(model->PredictNextAction(pizza), again->PredictNextAction(pizza));
  EXPECT_EQ(again->PredictNextAction(pizza)["action"], "utter_confirm_pizza");
}

// `train --finetune`: TED goes on from the old weights for this training's
// epochs (a fraction of 300 here: 3, which from scratch learn little).
TEST_F(TedTest, FinetuningGoesOnFromTheOldWeights) {
  const fs::path base = TrainWith(7, "base");
  training::TrainOptions o = testing::ProjectTrainOptions(dir_.path(), "base", "finetuned");
  o.augmentation_factor = 0;
  o.model_to_finetune = base;
  o.finetuning_epoch_fraction = 0.01;
  int epochs = 0;
  o.on_event = [&epochs](const graph::TrainingEvent& e) {
    if (e.kind == graph::TrainingEvent::Kind::kProgress && e.node.find("TEDPolicy") != std::string::npos) ++epochs;
  };
  const training::TrainingResult r = training::TrainCore(o);
  ASSERT_TRUE(r.model.has_value());
  EXPECT_EQ(epochs, 3);
  using namespace testing::events;
  const std::vector<data::StoryEvent> pizza = {User("greet"), Action("utter_greet"), User("order"),
                                               Slot("food", "pizza"), Action("utter_ask_size"), User("inform")};
  const std::vector<data::StoryEvent> table = {User("book"), Action("utter_ask_people"), User("inform")};
  const auto finetuned = training::Model::Load(*r.model);
  EXPECT_EQ(finetuned->PredictNextAction(pizza)["action"], "utter_confirm_pizza");
  EXPECT_EQ(finetuned->PredictNextAction(table)["action"], "utter_confirm_table");
  dir_.Write("fresh.yml", "recipe: default.v1\nlanguage: en\npipeline: []\npolicies:\n  - name: TEDPolicy\n"
                          "    max_history: 5\n    epochs: 3\n    random_seed: 7\n");
  const auto fresh = training::Model::Load(Train("fresh", true));
  EXPECT_FALSE(fresh->PredictNextAction(pizza)["action"] == "utter_confirm_pizza" &&
               fresh->PredictNextAction(table)["action"] == "utter_confirm_table");
}

TEST_F(TedTest, SameSeedSameModelOtherSeedOtherModel) {
  using namespace testing::events;
  const std::vector<data::StoryEvent> table = {User("book"), Action("utter_ask_people"), User("inform")};
  const auto a = training::Model::Load(TrainWith(3, "a"))->PredictNextAction(table);
  const auto b = training::Model::Load(TrainWith(3, "b"))->PredictNextAction(table);
  const auto c = training::Model::Load(TrainWith(4, "c"))->PredictNextAction(table);
  EXPECT_EQ(a["confidence"], b["confidence"]);
  EXPECT_NE(a["confidence"], c["confidence"]);
}

TEST_F(TedTest, UnexpectedIntentIsFlaggedOnlyWhereTheStoriesNeverHadIt) {
  using namespace testing::events;
  const auto model = training::Model::Load(TrainWith(5, "unexpected", "UnexpecTEDIntentPolicy"));
  // After "how many?" the stories always go on with inform; goodbye there is unlikely.
  const std::vector<data::StoryEvent> asked = {User("book"), Action("utter_ask_people")};
  auto with = [&](const std::string& intent) {
    auto events = asked;
    events.push_back(User(intent));
    return model->PredictNextAction(events);
  };
  const auto unlikely = with("goodbye");
  EXPECT_EQ(unlikely["action"], "action_unlikely_intent");
  EXPECT_EQ(unlikely["confidence"], 1.0);
  EXPECT_EQ(unlikely["policy"], "policy_0_UnexpecTEDIntentPolicy");
  EXPECT_EQ(with("inform")["confidence"], 0.0);
  // Not after a bot action: the policy only judges user turns.
  EXPECT_EQ(model->PredictNextAction(asked)["confidence"], 0.0);
}

TEST_F(TedTest, PredictsInsideLoopsThatOnlyRulesUse) {
  // Two forms only rules use: TED leaves them out of its states (rule_only_data) and still predicts.
  using namespace testing::events;
  std::string domain = kDomain;
  const std::string intents = "intents: [greet, order, book, inform, goodbye]";
  domain.replace(domain.find(intents), intents.size(),
                 "intents: [greet, order, book, inform, goodbye, ask_form, ask_other]");
  domain += "forms:\n  a_form:\n    required_slots: [food]\n  b_form:\n    required_slots: [food]\n";
  dir_.Write("domain.yml", domain);
  dir_.Write("data/rules.yml", "version: \"3.1\"\nrules:\n"
                               "- rule: a\n  steps:\n  - intent: ask_form\n  - action: a_form\n"
                               "  - active_loop: a_form\n"
                               "- rule: b\n  steps:\n  - intent: ask_other\n  - action: b_form\n"
                               "  - active_loop: b_form\n");
  dir_.Write("both.yml", "recipe: default.v1\nlanguage: en\npipeline: []\npolicies:\n  - name: RulePolicy\n"
                         "  - name: TEDPolicy\n    epochs: 5\n    random_seed: 1\n");
  const auto model = training::Model::Load(Train("both", true));
  for (const char* form : {"a_form", "b_form"}) {
    const std::vector<data::StoryEvent> events = {User(std::string(form) == "a_form" ? "ask_form" : "ask_other"),
                                                  Action(form), Loop(form), User("inform")};
    const auto p = model->PredictNextAction(events);
    EXPECT_EQ(p["action"], form);  // the loop's happy path
    EXPECT_EQ(p["policy"], "policy_0_RulePolicy");
  }
}

// End-to-end stories: user texts reach TED through the NLU featurizers, so
// that a text never seen in the stories still counts by its words.
TEST_F(TedTest, EndToEndUserTextsCountByTheirWords) {
  dir_.Write("data/stories.yml", "version: \"3.1\"\nstories:\n" +
                                     GreetedStory("sushi", "I would love some sushi", "utter_sushi") +
                                     GreetedStory("pizza", "a pizza would be great", "utter_pizza"));
  dir_.Write("data/nlu.yml", "version: \"3.1\"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n    - hello\n"
                            "- intent: order\n  examples: |\n    - some food\n");
  dir_.Write("domain.yml", "version: \"3.1\"\nintents: [greet, order]\nresponses:\n  utter_greet: [{text: hi}]\n"
                          "  utter_sushi: [{text: sushi}]\n  utter_pizza: [{text: pizza}]\n");
  dir_.Write("e2e.yml", EndToEndConfig(100));
  const auto model = training::Model::Load(Train("e2e", false));

  using namespace testing::events;
  auto next = [&](const data::StoryEvent& user) {
    return model->PredictNextAction({User("greet"), Action("utter_greet"), user});
  };
  // Texts the stories never had: their one known word decides.
  EXPECT_EQ(next(UserText("pizza please"))["action"], "utter_pizza");
  EXPECT_EQ(next(UserText("sushi tonight"))["action"], "utter_sushi");
  // With an intent the stories never had there, the text decides, and says so.
  const auto both = next(UserText("pizza please", "order"));
  EXPECT_EQ(both["action"], "utter_pizza");
  EXPECT_EQ(both["end_to_end"], true);
  // Intent-only turns are predicted from the intent, as before.
  EXPECT_EQ(model->PredictNextAction({User("greet")})["action"], "utter_greet");
  EXPECT_EQ(model->PredictNextAction({User("greet")})["end_to_end"], false);
}

// `featurizers`: TED's end-to-end texts get the features of the named
// featurizers only. Word counts tell "pizza please" from "sushi tonight";
// the lexical featurizer's casing and position features do not.
TEST_F(TedTest, EndToEndTextsGetTheNamedFeaturizersFeaturesOnly) {
  dir_.Write("data/stories.yml",
             "version: \"3.1\"\nstories:\n" +
                 GreetedStory("sushi", "I would love some sushi", "utter_sushi") +
                 GreetedStory("pizza", "a pizza would be great", "utter_pizza"));
  dir_.Write("data/nlu.yml",
             "version: \"3.1\"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n    - hello\n");
  dir_.Write("domain.yml",
             "version: \"3.1\"\nintents: [greet]\nresponses:\n  utter_greet: [{text: hi}]\n"
             "  utter_sushi: [{text: sushi}]\n  utter_pizza: [{text: pizza}]\n");
  using namespace testing::events;
  // (model name, featurizers' aliases or none, TED's featurizers, whether the texts can be told
  // apart)
  const std::vector<std::tuple<std::string, bool, std::string, bool>> cases = {
      {"words", true, "words", true},
      {"shape", true, "shape", false},
      {"unaliased", false, "run_CountVectorsFeaturizer1",
       true}};  // the node's name, not its e2e copy's
  for (const auto& [name, aliased, used, apart] : cases) {
    dir_.Write(name + ".yml",
               "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
               "  - name: CountVectorsFeaturizer\n" +
                   std::string(aliased ? "    alias: words\n" : "") +
                   "  - name: LexicalSyntacticFeaturizer\n" +
                   std::string(aliased ? "    alias: shape\n" : "") +
                   "  - name: KeywordIntentClassifier\npolicies:\n  - name: TEDPolicy\n"
                   "    epochs: 100\n    random_seed: 1\n    featurizers: [" +
                   used + "]\n");
    const auto model = training::Model::Load(Train(name, false));
    auto next = [&](const std::string& text) {
      return model->PredictNextAction({User("greet"), Action("utter_greet"), UserText(text)});
    };
    const auto pizza = next("pizza please"), sushi = next("sushi tonight");
    if (apart) {
      EXPECT_EQ(pizza["action"], "utter_pizza") << name;
      EXPECT_EQ(sushi["action"], "utter_sushi") << name;
    } else {  // two lower-case words each: the same features, the same prediction
      EXPECT_EQ(pizza["action"], sushi["action"]) << name;
      EXPECT_DOUBLE_EQ(pizza["confidence"].get<double>(), sushi["confidence"].get<double>())
          << name;
    }
  }
}

// Finetuning with a new story whose text brings new words: TED's input table
// grows, and the old weights must keep their connection masks (drawn after
// that table) to go on predicting as before; with masks drawn anew the
// finetuned model predicted utter_sushi for "pizza please".
TEST_F(TedTest, FinetuningWithNewWordsKeepsWhatItLearned) {
  dir_.Write("data/stories.yml", "version: \"3.1\"\nstories:\n" +
                                     GreetedStory("sushi", "I would love some sushi", "utter_sushi") +
                                     GreetedStory("pizza", "a pizza would be great", "utter_pizza"));
  const std::string nlu = "version: \"3.1\"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n    - hello\n"
                          "- intent: order\n  examples: |\n    - some food\n";
  dir_.Write("data/nlu.yml", nlu);
  dir_.Write("domain.yml", "version: \"3.1\"\nintents: [greet, order]\nresponses:\n  utter_greet: [{text: hi}]\n"
                          "  utter_sushi: [{text: sushi}]\n  utter_pizza: [{text: pizza}]\n");
  dir_.Write("e2e.yml", EndToEndConfig(100));
  const fs::path base = Train("e2e", false);
  dir_.Write("data/nlu.yml", nlu + "    - tacos and burritos\n");
  dir_.Write("data/more_stories.yml", "version: \"3.1\"\nstories:\n" +
                                          GreetedStory("lasagne", "a large lasagne", "utter_pizza"));
  training::TrainOptions o = testing::ProjectTrainOptions(dir_.path(), "e2e", "finetuned");
  o.augmentation_factor = 0;
  o.model_to_finetune = base;
  o.finetuning_epoch_fraction = 0.03;  // 3 epochs
  const training::TrainingResult r = training::Train(o);
  ASSERT_TRUE(r.model.has_value());
  using namespace testing::events;
  for (const auto& [text, action] : std::vector<std::pair<std::string, std::string>>{
           {"pizza please", "utter_pizza"}, {"sushi tonight", "utter_sushi"}}) {
    const std::vector<data::StoryEvent> turns = {User("greet"), Action("utter_greet"), UserText(text)};
    const auto before = training::Model::Load(base)->PredictNextAction(turns);
    const auto after = training::Model::Load(*r.model)->PredictNextAction(turns);
    ASSERT_EQ(before["action"], action);
    EXPECT_EQ(after["action"], action) << after.dump();
    // The new lasagne story moves confidences a little (up to 0.15 seen); the
    // wrong masks dropped them from 0.89 to 0.12.
    EXPECT_NEAR(after["confidence"].get<double>(), before["confidence"].get<double>(), 0.2) << after.dump();
  }
}

// entity_recognition: TED tags the entities of end-to-end user texts, and
// finds them in a text it never saw by what it learned of their words.
TEST_F(TedTest, EndToEndEntitiesAreRecognizedInTheLastUserText) {
  dir_.Write("data/stories.yml", "version: \"3.1\"\nstories:\n" +
                                     GreetedStory("sushi", "I would love some [sushi](food)", "utter_ok") +
                                     GreetedStory("pizza", "a [pizza](food) would be great", "utter_ok") +
                                     GreetedStory("nothing", "nothing for me", "utter_goodbye"));
  dir_.Write("data/nlu.yml", "version: \"3.1\"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n    - hello\n");
  dir_.Write("domain.yml", "version: \"3.1\"\nintents: [greet]\nentities: [food]\nresponses:\n"
                          "  utter_greet: [{text: hi}]\n  utter_ok: [{text: ok}]\n  utter_goodbye: [{text: bye}]\n");
  dir_.Write("entities.yml", EndToEndConfig(300));
  const fs::path archive = Train("entities", false);
  const auto model = training::Model::Load(archive);
  using namespace testing::events;
  auto after = [&](const std::string& text) {
    return model->PredictNextAction({User("greet"), Action("utter_greet"), UserText(text)});
  };
  const auto pizza = after("I would love some pizza");
  EXPECT_EQ(pizza["action"], "utter_ok");
  EXPECT_EQ(pizza["end_to_end"], true);
  ASSERT_EQ(pizza["entities"].size(), 1u) << pizza.dump();
  EXPECT_EQ(pizza["entities"][0]["entity"], "food");
  EXPECT_EQ(pizza["entities"][0]["value"], "pizza");
  EXPECT_EQ(pizza["entities"][0]["start"], 18);
  EXPECT_EQ(pizza["entities"][0]["end"], 23);
  EXPECT_EQ(after("nothing for me")["entities"].size(), 0u);
  // Entities belong to the user's turn: not reported once the bot has acted.
  EXPECT_EQ(model->PredictNextAction({User("greet"), Action("utter_greet"), UserText("a sushi would be great"),
                                      Action("utter_ok")})["entities"].size(),
            0u);
  // The tagger is part of the archive: a second load finds the same.
  EXPECT_EQ(training::Model::Load(archive)->PredictNextAction(
                {User("greet"), Action("utter_greet"), UserText("I would love some pizza")}),
            pizza);
}

// ranking_length keeps the top actions' confidences and zeroes the rest;
// renormalize_confidences divides the kept ones by their sum, with softmax
// confidences only (Rasa's rank_and_mask). Before, both were ignored.
TEST_F(TedTest, RankingLengthMasksAndRenormalizesAsRasa) {
  auto top = [this](const std::string& name, const std::string& options) {
    dir_.Write(name + ".yml", Config(7) + options);
    using namespace testing::events;
    return training::Model::Load(Train(name, true))
        ->PredictNextAction({User("book"), Action("utter_ask_people"), User("inform")});
  };
  const auto plain = top("plain", "");
  ASSERT_EQ(plain["action"], "utter_confirm_table");
  ASSERT_LT(plain["confidence"].get<double>(), 0.999);
  EXPECT_EQ(top("kept", "    ranking_length: 1\n")["confidence"], plain["confidence"]);
  const auto renormalized =
      top("renormalized", "    ranking_length: 1\n    renormalize_confidences: true\n");
  EXPECT_EQ(renormalized["action"], "utter_confirm_table");
  EXPECT_DOUBLE_EQ(renormalized["confidence"].get<double>(), 1.0);
  // linear_norm confidences are not renormalized.
  const auto linear = top("linear", "    model_confidence: linear_norm\n");
  ASSERT_LT(linear["confidence"].get<double>(), 0.999);
  EXPECT_EQ(top("linear_ranked",
                "    model_confidence: linear_norm\n    ranking_length: 1\n"
                "    renormalize_confidences: true\n")["confidence"],
            linear["confidence"]);
}

// evaluate_on_number_of_examples: TED holds out examples and evaluates them
// every evaluate_every_number_of_epochs (before, it trained on all of them and
// evaluated nothing); checkpoint_model keeps the weights of the best
// evaluation, Rasa's rule: the first epoch that reaches the best accuracy. With
// a fixed batch size that is a training of exactly that many epochs.
TEST_F(TedTest, HeldOutExamplesAreEvaluatedAndTheBestEpochIsKept) {
  auto config = [](int epochs, bool checkpoint) {
    return "recipe: default.v1\nlanguage: en\npipeline: []\npolicies:\n  - name: TEDPolicy\n    "
           "max_history: 5\n"
           "    epochs: " +
           std::to_string(epochs) +
           "\n    random_seed: 2\n    batch_size: 4\n"
           "    evaluate_on_number_of_examples: 8\n    evaluate_every_number_of_epochs: 1\n" +
           (checkpoint ? "    checkpoint_model: true\n" : "");
  };
  auto train = [this](const std::string& name, const std::string& config,
                      std::vector<double>* accuracies) {
    dir_.Write(name + ".yml", config);
    training::TrainOptions o = testing::ProjectTrainOptions(dir_.path(), name, name);
    o.force_training = true;
    o.augmentation_factor = 0;
    o.on_event = [accuracies](const graph::TrainingEvent& e) {
      if (e.kind != graph::TrainingEvent::Kind::kProgress ||
          e.node.find("TEDPolicy") == std::string::npos)
        return;
      ASSERT_TRUE(e.progress.metrics.contains("val_acc")) << e.progress.metrics.dump();
      accuracies->push_back(e.progress.metrics["val_acc"].get<double>());
    };
    const training::TrainingResult r = training::TrainCore(o);
    EXPECT_TRUE(r.model.has_value());
    return training::Model::Load(r.model.value_or(fs::path()));
  };
  constexpr int kEpochs = 40;
  std::vector<double> accuracies;
  const auto kept = train("kept", config(kEpochs, true), &accuracies);
  ASSERT_EQ(accuracies.size(), static_cast<size_t>(kEpochs));
  const int best = static_cast<int>(std::max_element(accuracies.begin(), accuracies.end()) -
                                    accuracies.begin()) +
                   1;
  ASSERT_LT(best, kEpochs)
      << "the last epoch was the best: nothing to tell a checkpoint from the last weights";
  EXPECT_GT(accuracies[static_cast<size_t>(best - 1)], accuracies.front());

  std::vector<double> unused;
  const auto at_best = train("at_best", config(best, false), &unused);
  const auto last = train("last", config(kEpochs, false), &unused);
  using namespace testing::events;
  const std::vector<std::vector<data::StoryEvent>> dialogues = {
      {User("greet"), Action("utter_greet"), User("book")},
      {User("book"), Action("utter_ask_people"), User("inform")},
      {User("goodbye")}};
  bool differs_from_last = false;
  for (const auto& events : dialogues) {
    EXPECT_EQ(kept->PredictNextAction(events)["confidence"],
              at_best->PredictNextAction(events)["confidence"]);
    differs_from_last = differs_from_last || kept->PredictNextAction(events)["confidence"] !=
                                                 last->PredictNextAction(events)["confidence"];
  }
  EXPECT_TRUE(differs_from_last);
}

// Held-out counts Rasa refuses are refused, naming the policy; a checkpoint
// without held-out examples is warned of.
TEST_F(TedTest, HeldOutCountsThatCannotBeSplitAreRefused) {
  auto train = [this](const std::string& name, const std::string& options,
                      std::vector<std::string>* warnings) {
    dir_.Write(name + ".yml",
               "recipe: default.v1\nlanguage: en\npipeline: []\npolicies:\n  - name: TEDPolicy\n"
               "    epochs: 2\n    random_seed: 1\n" +
                   options);
    training::TrainOptions o = testing::ProjectTrainOptions(dir_.path(), name, name);
    o.force_training = true;
    o.augmentation_factor = 0;
    o.on_event = [warnings](const graph::TrainingEvent& e) {
      if (e.kind == graph::TrainingEvent::Kind::kWarning) warnings->push_back(e.message);
    };
    return training::TrainCore(o);
  };
  std::vector<std::string> warnings;
  for (const std::string count : {"1", "1000"}) {
    try {
      train("bad" + count, "    evaluate_on_number_of_examples: " + count + "\n", &warnings);
      ADD_FAILURE() << "held out " << count;
    } catch (const util::Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("TEDPolicy"), std::string::npos) << what;
      EXPECT_NE(what.find(count == "1" ? "hold out at least" : "hold out at most"),
                std::string::npos)
          << what;
    }
  }
  EXPECT_TRUE(train("no_eval", "    checkpoint_model: true\n", &warnings).model.has_value());
  EXPECT_TRUE(std::any_of(warnings.begin(), warnings.end(), [](const std::string& w) {
    return w.find("TEDPolicy: 'checkpoint_model: true'") != std::string::npos;
  })) << ::testing::PrintToString(warnings);
}

}  // namespace
}  // namespace trainyard::ml
