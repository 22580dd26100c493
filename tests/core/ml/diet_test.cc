// DIETClassifier end to end: small seeded trainings through core::training
// that must learn, be reproducible, and survive the archive round trip.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>

#include "core/ml/device.h"
#include "core/storage/archive.h"
#include "core/training/model.h"
#include "core/training/nlu_evaluation.h"
#include "core/training/train.h"
#include "core/util/errors.h"
#include "tests/support/test_helpers.h"

namespace fs = std::filesystem;

namespace trainyard::ml {
namespace {

constexpr const char* kNlu = R"(version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello there
    - hi
    - hey friend
    - good morning
    - hello
    - hi there friend
- intent: goodbye
  examples: |
    - bye
    - goodbye for now
    - see you later
    - bye bye
    - farewell friend
    - see you
- intent: order_food
  examples: |
    - i want a [pizza](food)
    - order a [burger](food) please
    - get me some [sushi](food)
    - i would like [pasta](food)
    - can i have a [pizza](food) from [luigi](restaurant)
    - order [sushi](food) from [tokyo house](restaurant)
    - a [burger](food) from [five guys](restaurant) please
    - i want [pasta](food) from [luigi](restaurant)
- intent: book_flight
  examples: |
    - fly from [berlin]{"entity": "city", "role": "departure"} to [paris]{"entity": "city", "role": "destination"}
    - a flight from [rome]{"entity": "city", "role": "departure"} to [london]{"entity": "city", "role": "destination"}
    - from [paris]{"entity": "city", "role": "departure"} to [rome]{"entity": "city", "role": "destination"} please
    - book a flight from [london]{"entity": "city", "role": "departure"} to [berlin]{"entity": "city", "role": "destination"}
    - i need to fly from [madrid]{"entity": "city", "role": "departure"} to [oslo]{"entity": "city", "role": "destination"}
    - fly me to [berlin]{"entity": "city", "role": "destination"}
    - a flight to [madrid]{"entity": "city", "role": "destination"}
    - leaving from [oslo]{"entity": "city", "role": "departure"}
)";

// Two retrieval intents with their responses, for the ResponseSelector.
constexpr const char* kFaq = R"(version: "3.1"
nlu:
- intent: faq/ask_name
  examples: |
    - what is your name
    - who are you
    - tell me your name
    - your name please
- intent: faq/ask_weather
  examples: |
    - how is the weather
    - is it raining
    - will it be sunny today
    - weather forecast please
responses:
  utter_faq/ask_name:
  - text: I am a bot.
  utter_faq/ask_weather:
  - text: Look outside.
)";

std::string Config(int epochs, const std::string& extra = "", int seed = 42) {
  return "recipe: default.v1\nlanguage: en\npipeline:\n"
         "  - name: WhitespaceTokenizer\n"
         "  - name: CountVectorsFeaturizer\n"
         "  - name: CountVectorsFeaturizer\n    analyzer: char_wb\n    min_ngram: 1\n    max_ngram: 4\n"
         "  - name: DIETClassifier\n    epochs: " +
         std::to_string(epochs) +
         "\n    random_seed: " + std::to_string(seed) + "\n    transformer_size: 32\n    number_of_attention_heads: 2\n"
         "    batch_size: [8, 16]\n" +
         extra + "policies: []\n";
}

class DietTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("data/nlu.yml", kNlu);
    dir_.Write("domain.yml", "version: \"3.1\"\nintents: [greet, goodbye, order_food, book_flight]\n"
                             "entities: [food, restaurant, {city: {roles: [departure, destination]}}]\n");
    ::setenv("TRAINYARD_CACHE_DIR", (dir_.path() / "cache").c_str(), 1);
  }
  void TearDown() override { ::unsetenv("TRAINYARD_CACHE_DIR"); }

  // Options that train config `<name>.yml` afresh into model `<name>`,
  // collecting the training's warnings into `warnings`.
  training::TrainOptions CollectingWarnings(const std::string& name,
                                            std::vector<std::string>& warnings) {
    training::TrainOptions o = testing::ProjectTrainOptions(dir_.path(), name, name);
    o.force_training = true;
    o.on_event = [&warnings](const graph::TrainingEvent& e) {
      if (e.kind == graph::TrainingEvent::Kind::kWarning) warnings.push_back(e.message);
    };
    return o;
  }

  fs::path TrainWith(const std::string& config, const std::string& name, std::vector<std::string>* progress = nullptr,
                     const std::string& device = "cpu") {
    dir_.Write(name + ".yml", config);
    training::TrainOptions o = testing::ProjectTrainOptions(dir_.path(), name, name);
    o.force_training = true;
    o.device = device;
    o.on_event = [progress](const graph::TrainingEvent& e) {
      if (progress && e.kind == graph::TrainingEvent::Kind::kProgress)
        progress->push_back(e.progress.metrics.dump());
    };
    const training::TrainingResult r = training::Train(o);
    EXPECT_TRUE(r.model.has_value());
    return r.model.value_or(fs::path());
  }

  testing::TempDir dir_;
};

// `train --finetune`: DIET goes on from the old weights (a few epochs keep
// what 60 taught) while the featurizers add the new examples' words.
TEST_F(DietTest, FinetuningGoesOnFromTheOldWeights) {
  const fs::path base = TrainWith(Config(60), "base");
  const auto before = training::Model::Load(base)->Parse("i want a pizza from luigi");
  dir_.Write("data/more.yml", "version: \"3.1\"\nnlu:\n- intent: greet\n  examples: |\n    - howdy partner\n"
                              "    - howdy\n");
  training::TrainOptions o = testing::ProjectTrainOptions(dir_.path(), "base", "finetuned");
  o.model_to_finetune = base;
  o.finetuning_epoch_fraction = 0.05;  // 3 epochs
  int epochs = 0;
  o.on_event = [&epochs](const graph::TrainingEvent& e) {
    if (e.kind == graph::TrainingEvent::Kind::kProgress && e.node.find("DIETClassifier") != std::string::npos)
      ++epochs;
  };
  const training::TrainingResult r = training::Train(o);
  ASSERT_TRUE(r.model.has_value());
  EXPECT_EQ(epochs, 3);
  const auto model = training::Model::Load(*r.model);
  // The order understood: its intent, and both entities at least as sure as
  // before finetuning (the base model: 0.90 / 0.73), less 0.05: the old
  // weights kept their connection masks although the vocabulary grew.
  auto understood = [&before](const nlohmann::json& parse) {
    const auto& e = parse["entities"];
    auto sure = [&](size_t i) {
      return e[i]["confidence_entity"].get<double>() >
             before["entities"][i]["confidence_entity"].get<double>() - 0.05;
    };
    return parse["intent"]["name"] == "order_food" && e.size() == 2 && e[0]["value"] == "pizza" &&
           e[0]["entity"] == "food" && e[1]["value"] == "luigi" && e[1]["entity"] == "restaurant" &&
           sure(0) && sure(1);
  };
  ASSERT_TRUE(understood(before)) << before.dump();
  ASSERT_GT(before["entities"][1]["confidence_entity"].get<double>(), 0.6) << before.dump();
  const auto order = model->Parse("i want a pizza from luigi");
  EXPECT_TRUE(understood(order)) << order.dump();
  EXPECT_EQ(model->Parse("see you later")["intent"]["name"], "goodbye");
  EXPECT_EQ(model->Parse("fly from berlin to paris")["intent"]["name"], "book_flight");
  // Three epochs from scratch learn far less: the warm start is what kept it.
  const auto fresh = training::Model::Load(TrainWith(Config(3), "fresh"));
  EXPECT_FALSE(understood(fresh->Parse("i want a pizza from luigi"))) << fresh->Parse("i want a pizza from luigi").dump();
}

// use_masked_language_model: hidden tokens are recovered better as training
// goes on (m_loss; m_acc, over the few tokens 16 examples hide, swings
// between 0 and 0.5 from epoch to epoch), and intents are still learned.
TEST_F(DietTest, MaskedLanguageModelLearnsToRecoverHiddenTokens) {
  std::vector<std::string> progress;
  // A fixed batch size: m_loss depends on how many tokens a batch hides.
  std::string config = Config(60, "    use_masked_language_model: true\n");
  config.replace(config.find("[8, 16]"), 7, "16");
  const auto model = training::Model::Load(TrainWith(config, "mlm", &progress));
  ASSERT_EQ(progress.size(), 60u);
  auto mean_m_loss = [&](size_t from, size_t to) {
    double sum = 0;
    for (size_t i = from; i < to; ++i)
      sum += nlohmann::json::parse(progress[i])["m_loss"].get<double>();
    return sum / static_cast<double>(to - from);
  };
  EXPECT_LT(mean_m_loss(50, 60), 0.8 * mean_m_loss(0, 10))
      << progress.front() << " -> " << progress.back();
  EXPECT_EQ(model->Parse("hello friend")["intent"]["name"], "greet");
  EXPECT_EQ(model->Parse("i want a pizza from luigi")["intent"]["name"], "order_food");
}

// use_text_as_label: the ResponseSelector's labels are described by the
// words of their responses; it still picks the right response key, and the
// label words travel in the archive.
TEST_F(DietTest, ResponseSelectorWithTextAsLabel) {
  dir_.Write("data/faq.yml", kFaq);
  dir_.Write("domain.yml", "version: \"3.1\"\nintents: [greet, goodbye, order_food, book_flight, faq]\n"
                           "entities: [food, restaurant, {city: {roles: [departure, destination]}}]\n");
  std::string config = Config(20);
  config.replace(config.find("policies: []\n"), 13,
                 "  - name: ResponseSelector\n    epochs: 60\n    random_seed: 3\n    use_text_as_label: true\n"
                 "policies: []\n");
  const fs::path archive = TrainWith(config, "text_label");
  const auto model = training::Model::Load(archive);
  const auto name = model->Parse("what is your name");
  EXPECT_EQ(name["response_selector"]["default"]["response"]["intent_response_key"], "faq/ask_name") << name.dump();
  EXPECT_EQ(model->Parse("is it raining today")["response_selector"]["default"]["response"]["intent_response_key"],
            "faq/ask_weather");
  EXPECT_EQ(training::Model::Load(archive)->Parse("what is your name").dump(), name.dump());
  // The labels came from their responses' 6 distinct words, not one-hot.
  storage::UnpackArchive(archive, dir_.path() / "unpacked");
  std::ifstream meta(dir_.path() / "unpacked" / "train_ResponseSelector4" / "diet.json");
  ASSERT_TRUE(meta.good());
  EXPECT_EQ(nlohmann::json::parse(meta)["dims"]["label_words"], 6);
}

// intent_tokenization_flag: DIET describes each intent by its parts
// (order_food -> order, food; book_flight -> book, flight; greet; goodbye: 6
// words) instead of a one-hot code; it still tells the intents apart, and
// the description travels in the archive. Without the flag the labels stay
// one-hot.
TEST_F(DietTest, IntentsSplitByTheTokenizerDescribeTheLabels) {
  std::string config = Config(40);
  config.replace(config.find("  - name: WhitespaceTokenizer\n"), 30,
                 "  - name: WhitespaceTokenizer\n    intent_tokenization_flag: true\n");
  const fs::path archive = TrainWith(config, "split_intents");
  const auto model = training::Model::Load(archive);
  EXPECT_EQ(model->Parse("goodbye for now")["intent"]["name"], "goodbye");
  EXPECT_EQ(model->Parse("i want a pizza")["intent"]["name"], "order_food");
  EXPECT_EQ(model->Parse("fly from berlin to paris")["intent"]["name"], "book_flight");
  auto dims = [&](const fs::path& a, const std::string& into) {
    storage::UnpackArchive(a, dir_.path() / into);
    std::ifstream meta(dir_.path() / into / "train_DIETClassifier3" / "diet.json");
    EXPECT_TRUE(meta.good());
    return meta.good() ? nlohmann::json::parse(meta)["dims"] : nlohmann::json();
  };
  const nlohmann::json split = dims(archive, "split");
  EXPECT_EQ(split["label_words"], 6);
  const nlohmann::json whole = dims(TrainWith(Config(1), "whole_intents"), "whole");
  EXPECT_EQ(whole["label_words"], 0);
}

TEST_F(DietTest, LearnsIntentsAndEntitiesAndLossFalls) {
  std::vector<std::string> progress;
  const auto model = training::Model::Load(TrainWith(Config(60), "m", &progress));
  ASSERT_EQ(progress.size(), 60u);
  const double first = nlohmann::json::parse(progress.front())["t_loss"];
  const double last = nlohmann::json::parse(progress.back())["t_loss"];
  EXPECT_LT(last, first * 0.5) << progress.front() << " -> " << progress.back();

  EXPECT_EQ(model->Parse("hello friend")["intent"]["name"], "greet");
  EXPECT_EQ(model->Parse("bye for now")["intent"]["name"], "goodbye");
  const auto order = model->Parse("i want a pizza from luigi");
  EXPECT_EQ(order["intent"]["name"], "order_food");
  ASSERT_EQ(order["intent_ranking"].size(), 4u);
  EXPECT_GT(order["intent"]["confidence"].get<double>(), 0.5);
  ASSERT_EQ(order["entities"].size(), 2u) << order.dump();
  const auto& food = order["entities"][0];
  EXPECT_EQ(food["entity"], "food");
  EXPECT_EQ(food["value"], "pizza");
  EXPECT_EQ(food["start"], 9);
  EXPECT_EQ(food["end"], 14);
  EXPECT_EQ(food["extractor"], "DIETClassifier");
  EXPECT_GT(food["confidence_entity"].get<double>(), 0.5);
  EXPECT_EQ(order["entities"][1]["entity"], "restaurant");
  EXPECT_EQ(order["entities"][1]["value"], "luigi");
  EXPECT_FALSE(food.contains("role"));

  // Roles: the same cities, in new places, get the role their context gives.
  const auto flight = model->Parse("fly from paris to berlin");
  EXPECT_EQ(flight["intent"]["name"], "book_flight");
  ASSERT_EQ(flight["entities"].size(), 2u) << flight.dump();
  EXPECT_EQ(flight["entities"][0]["value"], "paris");
  EXPECT_EQ(flight["entities"][0]["role"], "departure") << flight.dump();
  EXPECT_EQ(flight["entities"][1]["role"], "destination") << flight.dump();
  EXPECT_GT(flight["entities"][1]["confidence_role"].get<double>(), 0.5);
}

TEST_F(DietTest, SameSeedSamePredictionsAcrossTrainingsAndLoads) {
  const fs::path a = TrainWith(Config(15), "a");
  const fs::path b = TrainWith(Config(15), "b");
  const auto ma = training::Model::Load(a);
  const auto mb = training::Model::Load(b);
  const auto ma_again = training::Model::Load(a);
  for (const char* text : {"hi there", "order sushi from luigi", "see you friend", "unknown words here"}) {
    EXPECT_EQ(ma->Parse(text).dump(), mb->Parse(text).dump()) << text;
    EXPECT_EQ(ma->Parse(text).dump(), ma_again->Parse(text).dump()) << text;
  }
  // Another seed gives another model.
  const auto mc = training::Model::Load(TrainWith(Config(15, "", 7), "c"));
  EXPECT_NE(ma->Parse("order sushi from luigi")["intent"]["confidence"],
            mc->Parse("order sushi from luigi")["intent"]["confidence"]);
}

// With two threads, batches of 16 are encoded as two slices of 8 side by
// side (SlicedEncoding); batches of 12 stay whole. Without dropout (nothing
// random but the negatives, drawn alike) that trains what one thread, which
// never slices, trains: the same predictions but for rounding.
TEST_F(DietTest, SlicedBatchesTrainAsWholeBatchesDo) {
  std::string config = Config(20, "    drop_rate: 0\n    use_sparse_input_dropout: false\n");
  const std::string grows = "batch_size: [8, 16]";
  config.replace(config.find(grows), grows.size(), "batch_size: 16");
  auto train = [&](size_t threads, const std::string& name) {
    dir_.Write(name + ".yml", config);
    training::TrainOptions o = testing::ProjectTrainOptions(dir_.path(), name, name);
    o.force_training = true;
    o.device = "cpu";
    o.compute_threads = threads;
    const training::TrainingResult r = training::Train(o);
    EXPECT_TRUE(r.model.has_value());
    return training::Model::Load(r.model.value_or(fs::path()));
  };
  const int threads = torch::get_num_threads();
  const auto one = train(1, "one");
  const auto two = train(2, "two");
  torch::set_num_threads(threads);
  for (const char* text :
       {"hi there", "order sushi from luigi", "fly from oslo to rome", "unknown words here"}) {
    const auto a = one->Parse(text), b = two->Parse(text);
    // The same list (intent ranking, entities): same names, confidences to 1e-3.
    auto same = [&](const char* list, const char* name, const char* confidence) {
      ASSERT_EQ(a[list].size(), b[list].size()) << text;
      for (size_t k = 0; k < a[list].size(); ++k) {
        EXPECT_EQ(a[list][k][name], b[list][k][name]) << text;
        EXPECT_NEAR(a[list][k][confidence].get<double>(), b[list][k][confidence].get<double>(),
                    1e-3)
            << text;
      }
    };
    same("intent_ranking", "name", "confidence");
    same("entities", "value", "confidence_entity");
  }
}

TEST_F(DietTest, OptionsAreCheckedWithTheComponentNamed) {
  for (const std::string& bad :
       {std::string("    loss_type: hinge\n"), std::string("    batch_strategy: random\n"),
        std::string("    connection_density: 0\n"),
        std::string("    weight_averaging_epochs: 2\n"),  // more than the 1 epoch
        std::string("    weight_averaging_epochs: 1\n    checkpoint_model: true\n"),
        std::string("    use_masked_language_model: true\n    number_of_transformer_layers: 0\n"),
        std::string("    dense_dimension: {text: 0}\n"), std::string("    drop_rate: 1\n"),
        std::string("    ranking_length: -1\n"), std::string("    embedding_dimension: 2.5\n"),
        std::string("    share_hidden_layers: true\n"),  // was accepted and ignored
        // Held out: fewer than the 4 intents, or too many to train one per intent (Rasa's bounds).
        std::string("    evaluate_on_number_of_examples: 3\n"),
        std::string("    evaluate_on_number_of_examples: 24\n")}) {
    dir_.Write("bad.yml", Config(1, bad));
    training::TrainOptions o;
    o.config = dir_.path() / "bad.yml";
    o.domain = dir_.path() / "domain.yml";
    o.training_files = {dir_.path() / "data"};
    o.output = dir_.path() / "models";
    try {
      training::Train(o);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const util::Error& e) {
      EXPECT_NE(std::string(e.what()).find("DIETClassifier"), std::string::npos) << e.what();
    }
  }
}

// As in Rasa, evaluate_every_number_of_epochs: -1 evaluates the held-out
// examples once, after the last epoch (it crashed on a division by zero with 0,
// which is now refused, as Rasa refuses it).
TEST_F(DietTest, EvaluatingEveryMinusOneEpochsEvaluatesAfterTheLastOnly) {
  std::vector<std::string> progress;
  TrainWith(
      Config(3, "    evaluate_on_number_of_examples: 4\n    evaluate_every_number_of_epochs: -1\n"),
      "eval", &progress);
  ASSERT_EQ(progress.size(), 3u);
  EXPECT_EQ(progress[0].find("val_i_acc"), std::string::npos) << progress[0];
  EXPECT_EQ(progress[1].find("val_i_acc"), std::string::npos) << progress[1];
  EXPECT_NE(progress[2].find("val_i_acc"), std::string::npos) << progress[2];
}

// weight_averaging_epochs: 2 keeps the mean of the weights after the last
// two epochs. With a fixed batch size and the same held-out evaluation after
// every epoch (LazyAdam brings every row up to date there, as averaging does),
// a 4-epoch training is the first 4 epochs of a 5-epoch one, so the kept
// weights are the mean of those two trainings' (read from the archives).
TEST_F(DietTest, WeightAveragingKeepsTheMeanOfTheLastEpochsWeights) {
  auto config = [](int epochs, const std::string& extra) {
    std::string c = Config(
        epochs,
        "    evaluate_on_number_of_examples: 4\n    evaluate_every_number_of_epochs: 1\n" + extra);
    const std::string grows = "batch_size: [8, 16]";
    return c.replace(c.find(grows), grows.size(), "batch_size: 8");
  };
  auto weights = [this](const fs::path& archive, const std::string& name) {
    const fs::path dir = dir_.path() / ("unpacked_" + archive.stem().stem().string());
    if (!fs::exists(dir)) storage::UnpackArchive(archive, dir);
    for (const auto& entry : fs::recursive_directory_iterator(dir))
      if (entry.path().filename() == "diet.pt") {
        // Module::save nests each submodule's archive under its name.
        torch::serialize::InputArchive in;
        in.load_from(entry.path().string());
        std::string rest = name;
        for (size_t dot = rest.find('.'); dot != std::string::npos; dot = rest.find('.')) {
          torch::serialize::InputArchive child;
          in.read(rest.substr(0, dot), child);
          in = std::move(child);
          rest = rest.substr(dot + 1);
        }
        torch::Tensor t;
        in.read(rest, t);
        return t;
      }
    ADD_FAILURE() << "no diet.pt in " << archive;
    return torch::Tensor();
  };
  const fs::path four = TrainWith(config(4, ""), "four");
  const fs::path five = TrainWith(config(5, ""), "five");
  const fs::path averaged = TrainWith(config(5, "    weight_averaging_epochs: 2\n"), "averaged");
  for (const std::string name : {"text_embed.weight", "sequence_input.weight", "transformer.layer0_query.weight",
                                 "crf.transitions"}) {
    const torch::Tensor last = weights(five, name);
    const torch::Tensor kept = weights(averaged, name);
    EXPECT_TRUE(torch::allclose(kept, (weights(four, name) + last) / 2, 1e-5, 1e-6)) << name;
    EXPECT_FALSE(torch::allclose(kept, last, 1e-3, 1e-4)) << name << ": the last epoch's weights were kept";
  }
  // The archive loads and predicts with them.
  EXPECT_EQ(training::Model::Load(averaged)->Parse("i want a pizza from luigi")["intent_ranking"].size(), 4u);
}

// `featurizers`: DIET learns from the named featurizers' features only,
// featurizers named by their `alias` (else their node name), as in Rasa.
// Before, the option was accepted and every featurizer's features were used.
TEST_F(DietTest, FeaturizersOptionKeepsTheNamedFeaturizersFeaturesOnly) {
  auto config = [](const std::string& featurizers) {
    return "recipe: default.v1\nlanguage: en\npipeline:\n"
           "  - name: WhitespaceTokenizer\n"
           "  - name: CountVectorsFeaturizer\n    alias: words\n"
           "  - name: CountVectorsFeaturizer\n    alias: chars\n    analyzer: char_wb\n    "
           "min_ngram: 1\n"
           "    max_ngram: 4\n"
           "  - name: DIETClassifier\n    epochs: 5\n    random_seed: 1\n    transformer_size: 32\n"
           "    number_of_attention_heads: 2\n" +
           featurizers + "policies: []\n";
  };
  // The origins of the features in the trained model's input layout.
  auto origins = [this](const fs::path& archive) {
    const fs::path dir = dir_.path() / ("unpacked_" + archive.stem().stem().string());
    storage::UnpackArchive(archive, dir);
    std::set<std::string> out;
    for (const auto& entry : fs::recursive_directory_iterator(dir))
      if (entry.path().filename() == "diet.json") {
        std::ifstream in(entry.path());
        const auto meta = nlohmann::json::parse(in);
        for (const char* type : {"sequence", "sentence"})
          for (const auto& part : meta["layout"][type])
            out.insert(part["origin"].get<std::string>());
      }
    return out;
  };
  const fs::path words = TrainWith(config("    featurizers: [words]\n"), "words");
  EXPECT_EQ(origins(words), std::set<std::string>{"run_CountVectorsFeaturizer1"});
  EXPECT_EQ(origins(TrainWith(config(""), "all")),
            (std::set<std::string>{"run_CountVectorsFeaturizer1", "run_CountVectorsFeaturizer2"}));
  EXPECT_EQ(training::Model::Load(words)->Parse("hello there")["intent_ranking"].size(), 4u);
  // Names that none of the featurizers has leave DIET nothing: refused.
  try {
    TrainWith(config("    featurizers: [word]\n"), "typo");
    ADD_FAILURE() << "trained without features";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'featurizers' names none of the featurizers"),
              std::string::npos)
        << e.what();
  }
}

// An entity annotation that does not start and end at token boundaries is
// warned of with the example's line, as Rasa warns of it ("misaligned entity
// annotation"): it was learned from the tokens it overlaps without a word.
TEST_F(DietTest, MisalignedEntityAnnotationsAreWarnedOfWithTheirLine) {
  std::string nlu = kNlu;
  const std::string example = "    - i would like [pasta](food)\n";
  nlu.replace(nlu.find(example), example.size(), "    - i would like [pasta ](food) now\n");
  dir_.Write("data/nlu.yml", nlu);
  dir_.Write("misaligned.yml", Config(1));
  std::vector<std::string> warnings;
  ASSERT_TRUE(training::Train(CollectingWarnings("misaligned", warnings)).model.has_value());
  ASSERT_EQ(warnings.size(), 1u) << ::testing::PrintToString(warnings);
  EXPECT_NE(
      warnings[0].find(
          "nlu.yml:24: Misaligned entity annotation in message 'i would like pasta  now' with "
          "intent 'order_food': the entity food = 'pasta ' (13-19) does not start and end at "
          "token boundaries (tokens: 'i' (0-1), 'would' (2-7), 'like' (8-12), 'pasta' (13-18), "
          "'now' (20-23))"),
      std::string::npos)
      << warnings[0];
}

// One intent: DIET still learns its entities, and says that every text
// gets that intent (Rasa would train nothing, silently but for a log line).
TEST_F(DietTest, OneIntentIsWarnedOfAndItsEntitiesStillLearned) {
  const std::string nlu = kNlu;
  dir_.Write("data/nlu.yml",
             "version: \"3.1\"\nnlu:\n" +
                 nlu.substr(nlu.find("- intent: order_food"),
                            nlu.find("- intent: book_flight") - nlu.find("- intent: order_food")));
  dir_.Write("one.yml", Config(40));
  std::vector<std::string> warnings;
  const auto result = training::Train(CollectingWarnings("one", warnings));
  ASSERT_TRUE(result.model.has_value());
  EXPECT_TRUE(std::any_of(warnings.begin(), warnings.end(), [](const std::string& w) {
    return w.find(
               "DIETClassifier: the training data has one intent, 'order_food', so every text gets "
               "it") != std::string::npos;
  })) << ::testing::PrintToString(warnings);
  const auto parse = training::Model::Load(*result.model)->Parse("i want a pizza");
  EXPECT_EQ(parse["intent"]["name"], "order_food");
  ASSERT_EQ(parse["entities"].size(), 1u) << parse.dump();
  EXPECT_EQ(parse["entities"][0]["value"], "pizza");
}

// CRFEntityExtractor (before: refused as not implemented): a linear-chain
// CRF over Rasa's hand-made token features, trained by L-BFGS; it finds the
// fixture's entities and their roles (departure / destination cities, by a
// CRF of its own that sees the entity types), is reproducible and survives the
// archive.
TEST_F(DietTest, CrfEntityExtractorLearnsEntitiesFromTokenFeatures) {
  const std::string config =
      "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
      "  - name: CRFEntityExtractor\n  - name: KeywordIntentClassifier\npolicies: []\n";
  dir_.Write("crf.yml", config);
  std::vector<std::string> warnings;
  training::TrainOptions o = CollectingWarnings("crf", warnings);
  const auto first = training::Train(o);
  ASSERT_TRUE(first.model.has_value());
  const auto model = training::Model::Load(*first.model);
  const auto parse = model->Parse("i want a pizza from luigi");
  ASSERT_EQ(parse["entities"].size(), 2u) << parse.dump();
  EXPECT_EQ(parse["entities"][0]["entity"], "food");
  EXPECT_EQ(parse["entities"][0]["value"], "pizza");
  EXPECT_EQ(parse["entities"][0]["start"], 9);
  EXPECT_EQ(parse["entities"][0]["extractor"], "CRFEntityExtractor");
  EXPECT_GT(parse["entities"][0]["confidence_entity"].get<double>(), 0.5);
  EXPECT_LE(parse["entities"][0]["confidence_entity"].get<double>(), 1.0);
  EXPECT_EQ(parse["entities"][1]["entity"], "restaurant");
  // A city it saw, in a sentence it did not see.
  const auto city = model->Parse("fly from oslo to rome");
  ASSERT_EQ(city["entities"].size(), 2u) << city.dump();
  EXPECT_EQ(city["entities"][0]["entity"], "city");
  EXPECT_EQ(city["entities"][0]["value"], "oslo");
  EXPECT_EQ(city["entities"][0]["role"], "departure") << city.dump();
  EXPECT_EQ(city["entities"][1]["role"], "destination") << city.dump();
  EXPECT_GT(city["entities"][1]["confidence_role"].get<double>(), 0.5);
  EXPECT_FALSE(parse["entities"][0].contains("role")) << parse.dump();  // food has no roles
  // The archive, and a second training, give the same answers.
  EXPECT_EQ(training::Model::Load(*first.model)->Parse("i want a pizza from luigi").dump(),
            parse.dump());
  o.fixed_model_name = "crf_again";
  EXPECT_EQ(
      training::Model::Load(*training::Train(o).model)->Parse("i want a pizza from luigi").dump(),
      parse.dump());

  // Features that need what trainyard lacks are refused on the component's line.
  dir_.Write(
      "pos.yml",
      "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
      "  - name: CRFEntityExtractor\n    features: [[low], [bias, pos], [low]]\npolicies: []\n");
  training::TrainOptions bad = testing::ProjectTrainOptions(dir_.path(), "pos", "pos");
  bad.dry_run = true;
  try {
    training::Train(bad);
    ADD_FAILURE() << "trained with pos features";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "pos.yml:5:5: error: CRFEntityExtractor: the feature 'pos' needs spaCy"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(DietTest, MarginLossLinearNormAndRelativeAttentionTrain) {
  const auto model = training::Model::Load(
      TrainWith(Config(40, "    loss_type: margin\n    model_confidence: linear_norm\n"
                           "    use_key_relative_attention: true\n    use_value_relative_attention: true\n"
                           "    BILOU_flag: false\n    evaluate_on_number_of_examples: 4\n"
                           "    evaluate_every_number_of_epochs: 10\n    checkpoint_model: true\n"),
                "margin"));
  const auto greet = model->Parse("hello there friend");
  EXPECT_EQ(greet["intent"]["name"], "greet");
  double sum = 0;
  for (const auto& r : greet["intent_ranking"]) sum += r["confidence"].get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-4);
}

TEST_F(DietTest, ResponseSelectorPicksTheResponseOfARetrievalIntent) {
  dir_.Write("data/faq.yml", kFaq);
  dir_.Write("domain.yml", "version: \"3.1\"\nintents: [greet, goodbye, order_food, book_flight, faq]\n"
                           "entities: [food, restaurant, {city: {roles: [departure, destination]}}]\n");
  const std::string config = Config(40) + "  - name: ResponseSelector\n    epochs: 60\n    random_seed: 3\n"
                                          "    retrieval_intent: faq\n    hidden_layers_sizes:\n      text: [32]\n      label: [32]\n"
                                          "    dense_dimension:\n      text: 64\n      label: 64\n";
  const std::string fixed = config.substr(0, config.find("policies: []\n")) +
                            config.substr(config.find("policies: []\n") + 13) + "policies: []\n";
  const auto model = training::Model::Load(TrainWith(fixed, "rs"));
  const auto parse = model->Parse("what is your name");
  ASSERT_TRUE(parse.contains("response_selector")) << parse.dump();
  const auto& rs = parse["response_selector"];
  EXPECT_EQ(rs["all_retrieval_intents"], nlohmann::ordered_json::array({"faq"}));
  EXPECT_EQ(rs["faq"]["response"]["intent_response_key"], "faq/ask_name");
  EXPECT_EQ(rs["faq"]["response"]["utter_action"], "utter_faq/ask_name");
  EXPECT_EQ(rs["faq"]["response"]["responses"][0]["text"], "I am a bot.");
  EXPECT_EQ(rs["faq"]["ranking"].size(), 2u);
  EXPECT_EQ(model->Parse("is it sunny")["response_selector"]["faq"]["response"]["intent_response_key"],
            "faq/ask_weather");
  EXPECT_EQ(parse["intent"]["name"], "faq");

  // `trainyard test nlu`'s response selection report: retrieval examples only,
  // full keys against the selector's (one test example is labelled wrongly).
  data::TrainingData test;
  auto add = [&](const std::string& text, const std::string& intent, const std::string& key) {
    data::Message m;
    m.text = text;
    m.intent = intent;
    m.intent_response_key = key;
    test.examples.push_back(m);
  };
  add("what is your name", "faq", "faq/ask_name");
  add("is it sunny", "faq", "faq/ask_weather");
  add("who are you", "faq", "faq/ask_weather");
  add("hello there", "greet", "");
  const training::NluEvaluation e = training::EvaluateNlu(*model, test);
  EXPECT_EQ(e.response_examples, 3u);
  EXPECT_NEAR(e.response_accuracy, 2.0 / 3, 1e-9);
  EXPECT_EQ(e.response_report["faq/ask_weather"]["support"], 2);
  EXPECT_EQ(e.response_report["faq/ask_weather"]["confused_with"]["faq/ask_name"], 1);
  ASSERT_EQ(e.response_errors.size(), 1u);
  EXPECT_EQ(e.response_errors[0]["text"], "who are you");
  EXPECT_EQ(e.response_errors[0]["intent_response_key_prediction"]["name"], "faq/ask_name");
  EXPECT_FALSE(e.predictions[3].contains("intent_response_key_target"));
  training::WriteNluEvaluation(e, dir_.path() / "results");
  EXPECT_TRUE(fs::exists(dir_.path() / "results" / "response_selection_report.json"));
  EXPECT_TRUE(fs::exists(dir_.path() / "results" / "response_selection_errors.json"));
}

TEST_F(DietTest, LogisticRegressionClassifierSeparatesIntents) {
  const std::string config =
      "recipe: default.v1\nlanguage: en\npipeline:\n  - name: WhitespaceTokenizer\n"
      "  - name: CountVectorsFeaturizer\n  - name: CountVectorsFeaturizer\n    analyzer: char_wb\n"
      "    min_ngram: 1\n    max_ngram: 4\n  - name: LogisticRegressionClassifier\n    ranking_length: 2\n"
      "policies: []\n";
  const fs::path archive = TrainWith(config, "lr");
  const auto model = training::Model::Load(archive);
  EXPECT_EQ(model->Parse("hello friend")["intent"]["name"], "greet");
  EXPECT_EQ(model->Parse("see you later")["intent"]["name"], "goodbye");
  const auto order = model->Parse("i want a burger please");
  EXPECT_EQ(order["intent"]["name"], "order_food");
  EXPECT_EQ(order["intent_ranking"].size(), 2u);
  // Deterministic: the same data gives the same weights.
  const auto again = training::Model::Load(TrainWith(config, "lr2"));
  EXPECT_EQ(again->Parse("i want a burger please").dump(), order.dump());
}

// TRAINYARD_COUNT_OPS=1: training.json carries the operator calls per step
// by phase, which add up to the total; the dense parameters' Adam is a few
// calls, not some per parameter. Without the variable nothing is counted.
TEST_F(DietTest, CountsOperatorCallsPerStepWhenAsked) {
  auto stats = [&](const fs::path& archive, const std::string& name) {
    const fs::path dir = dir_.path() / (name + "_unpacked");
    storage::UnpackArchive(archive, dir);
    for (const auto& entry : fs::recursive_directory_iterator(dir))
      if (entry.path().filename() == "training.json" && entry.path().string().find("DIET") != std::string::npos)
        return nlohmann::json::parse(std::ifstream(entry.path()));
    ADD_FAILURE() << "no DIET training.json in " << archive;
    return nlohmann::json();
  };
  ::setenv("TRAINYARD_COUNT_OPS", "1", 1);
  const nlohmann::json counted = stats(TrainWith(Config(2), "ops"), "ops");
  ::unsetenv("TRAINYARD_COUNT_OPS");
  ASSERT_TRUE(counted.contains("ops_per_step")) << counted.dump();
  const nlohmann::json& ops = counted["ops_per_step"];
  ASSERT_TRUE(counted.contains("phase_seconds")) << counted.dump();
  const nlohmann::json& seconds = counted["phase_seconds"];
  for (const char* phase : {"batch", "encode", "backward", "optimizer", "other"})
    EXPECT_TRUE(ops.contains(phase)) << phase << " " << ops.dump();
  // The losses are their own phases, or one ("heads") where a sliced batch
  // runs them side by side.
  EXPECT_TRUE(ops.contains("heads") || (ops.contains("intent_loss") && ops.contains("entity_loss")))
      << ops.dump();
  double sum = 0, seconds_sum = 0;
  for (const auto& [phase, count] : ops.items()) {
    if (phase == "total") continue;
    sum += count.get<double>();
    ASSERT_TRUE(seconds.contains(phase)) << phase << " " << seconds.dump();
    EXPECT_GE(seconds[phase].get<double>(), 0) << phase;
    seconds_sum += seconds[phase].get<double>();
  }
  EXPECT_EQ(seconds.size() + 1, ops.size()) << seconds.dump();
  EXPECT_NEAR(sum, ops["total"].get<double>(), 1e-6);
  // The phases split the steps' time, which is part of the training's.
  EXPECT_GT(seconds["backward"].get<double>(), 0);
  EXPECT_LE(seconds_sum, counted["seconds"].get<double>());
  EXPECT_GT(ops["backward"].get<double>(), 50);
  EXPECT_LT(ops["optimizer"].get<double>(), 100) << ops.dump();  // 49 here; ~9 per parameter before
  const nlohmann::json plain = stats(TrainWith(Config(2), "plain"), "plain");
  EXPECT_FALSE(plain.contains("ops_per_step"));
  EXPECT_FALSE(plain.contains("phase_seconds"));
}

TEST_F(DietTest, TrainsOnCudaWhenPresent) {
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device";
  const auto model = training::Model::Load(TrainWith(Config(60), "gpu", nullptr, "cuda"));
  EXPECT_EQ(model->Parse("hello friend")["intent"]["name"], "greet");
  EXPECT_EQ(model->Parse("i want a pizza from luigi")["intent"]["name"], "order_food");
}

}  // namespace
}  // namespace trainyard::ml
