// The non-neural NLU components, trained and run directly through their
// graph interface.

#include <gtest/gtest.h>

#include "core/graph/component.h"
#include "core/nlu/components.h"
#include "core/nlu/message.h"
#include "core/nlu/whitespace_tokenizer.h"
#include "core/util/errors.h"
#include "tests/support/test_helpers.h"

namespace trainyard::nlu {
namespace {

using Json = nlohmann::ordered_json;

class ComponentsTest : public ::testing::Test {
 protected:
  void SetUp() override { RegisterNluComponents(); }

  // Training data from (text, intent) pairs plus `extra` patterns/synonyms.
  NluTrainingDataPtr Data(const std::vector<std::pair<std::string, std::string>>& examples,
                          const data::TrainingData& extra = {}) {
    auto d = std::make_shared<NluTrainingData>();
    d->data = extra;
    for (const auto& [text, intent] : examples) {
      NluMessage m;
      m.data.text = text;
      m.data.intent = intent;
      m.tokens = WhitespaceTokenize(text);
      d->data.examples.push_back(m.data);
      d->messages.push_back(m);
    }
    return d;
  }

  graph::ExecutionContext Context(const std::string& node) {
    graph::ExecutionContext c;
    c.node_name = node;
    c.storage = &storage_;
    c.warn = [this](const std::string& w) { warnings_.push_back(w); };
    return c;
  }

  // Trains `component` and returns a loaded instance (as the predict graph would).
  std::unique_ptr<graph::Component> TrainAndLoad(const std::string& component, const NluTrainingDataPtr& data,
                                                 Json config = Json::object()) {
    const graph::ComponentImplementation* impl = graph::FindImplementation(component);
    EXPECT_NE(impl, nullptr) << component;
    const Json merged = graph::MergeConfig(impl->defaults, config);
    const auto context = Context("train_" + component);
    impl->make(merged, std::nullopt, context)->Run("train", {{"training_data", {data, "fp", {}}}}, context);
    return impl->make(merged, "train_" + component, Context("run_" + component));
  }

  NluMessage Process(graph::Component& component, const std::string& text, NluMessage base = {}) {
    base.data.text = text;
    base.tokens = WhitespaceTokenize(text);
    auto in = std::make_shared<const std::vector<NluMessage>>(std::vector<NluMessage>{base});
    const auto out = component.Run("process", {{"messages", {NluMessagesPtr(in), "fp", {}}}}, Context("run"));
    return std::any_cast<NluMessagesPtr>(out.value)->front();
  }

  testing::TempDir dir_;
  storage::ModelStorage storage_{dir_.path()};
  std::vector<std::string> warnings_;
};

// The WhitespaceTokenizer node applies `token_pattern` from its config, in
// training and prediction alike; none by default; a bad pattern is refused.
TEST_F(ComponentsTest, WhitespaceTokenizerAppliesItsTokenPattern) {
  const graph::ComponentImplementation* impl = graph::FindImplementation("WhitespaceTokenizer");
  ASSERT_NE(impl, nullptr);
  auto tokens = [&](const Json& config, const std::string& fn) {
    auto component = impl->make(graph::MergeConfig(impl->defaults, config), std::nullopt, Context("t"));
    NluMessage m;
    m.data.text = "meet at 10:30";
    std::vector<std::string> out;
    if (fn == "process") {
      auto in = std::make_shared<const std::vector<NluMessage>>(std::vector<NluMessage>{m});
      const auto r = component->Run("process", {{"messages", {NluMessagesPtr(in), "fp", {}}}}, Context("t"));
      for (const Token& t : std::any_cast<NluMessagesPtr>(r.value)->front().tokens) out.push_back(t.text);
    } else {
      auto data = std::make_shared<NluTrainingData>();
      data->messages.push_back(m);
      const auto r = component->Run("process_training_data", {{"training_data", {NluTrainingDataPtr(data), "fp", {}}}},
                                    Context("t"));
      for (const Token& t : std::any_cast<NluTrainingDataPtr>(r.value)->messages.front().tokens) out.push_back(t.text);
    }
    return out;
  };
  const Json words = {{"token_pattern", "(?u)\\b\\w+\\b"}};
  using V = std::vector<std::string>;
  EXPECT_EQ(tokens(Json::object(), "process"), (V{"meet", "at", "10:30"}));
  EXPECT_EQ(tokens(words, "process"), (V{"meet", "at", "10", "30"}));
  EXPECT_EQ(tokens(words, "process_training_data"), (V{"meet", "at", "10", "30"}));
  EXPECT_THROW(impl->check(graph::MergeConfig(impl->defaults, {{"token_pattern", "(?P<x>a)"}})),
               util::InvalidConfigError);
}

// intent_tokenization_flag: the tokenizer splits each training example's
// intent at intent_split_symbol (empty parts dropped), which DIET then
// describes its labels by; off by default, and an empty symbol is refused.
TEST_F(ComponentsTest, WhitespaceTokenizerSplitsIntentsWhenAsked) {
  const graph::ComponentImplementation* impl = graph::FindImplementation("WhitespaceTokenizer");
  ASSERT_NE(impl, nullptr);
  auto parts = [&](const Json& config, const std::string& intent) {
    auto component =
        impl->make(graph::MergeConfig(impl->defaults, config), std::nullopt, Context("t"));
    auto data = std::make_shared<NluTrainingData>();
    NluMessage m;
    m.data.text = "hello";
    m.data.intent = intent;
    data->messages.push_back(m);
    const auto r =
        component->Run("process_training_data",
                       {{"training_data", {NluTrainingDataPtr(data), "fp", {}}}}, Context("t"));
    return std::any_cast<NluTrainingDataPtr>(r.value)->messages.front().intent_tokens;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(parts(Json::object(), "alarm_query"), V{});
  EXPECT_EQ(parts({{"intent_tokenization_flag", true}}, "alarm_query"), (V{"alarm", "query"}));
  EXPECT_EQ(parts({{"intent_tokenization_flag", true}}, "greet"), (V{"greet"}));
  EXPECT_EQ(
      parts({{"intent_tokenization_flag", true}, {"intent_split_symbol", "+"}}, "greet+ask_name"),
      (V{"greet", "ask_name"}));
  EXPECT_EQ(
      parts({{"intent_tokenization_flag", true}, {"intent_split_symbol", "+"}}, "+greet++bye+"),
      (V{"greet", "bye"}));
  EXPECT_EQ(parts({{"intent_tokenization_flag", true}}, ""), V{});
  EXPECT_THROW(impl->check(graph::MergeConfig(impl->defaults, {{"intent_tokenization_flag", true},
                                                               {"intent_split_symbol", ""}})),
               util::InvalidConfigError);
}

TEST_F(ComponentsTest, RegexFeaturizerMarksTokensAMatchOverlaps) {
  data::TrainingData extra;
  extra.regexes = {{"zipcode", "[0-9]{5}", {}}, {"greet", "hel+o", {}}};
  extra.lookups = {{"city", {"new york", "paris"}, {}}};
  auto featurizer = TrainAndLoad("RegexFeaturizer", Data({{"hi", "greet"}}, extra));
  const NluMessage m = Process(*featurizer, "hello from new york 10001");
  ASSERT_EQ(m.features.size(), 2u);
  const SparseMatrix& seq = m.features[0].matrix;
  EXPECT_EQ(seq.rows, 5);
  EXPECT_EQ(seq.cols, 3);
  EXPECT_EQ(seq.At(0, 1), 1.0f);  // hello ~ greet
  EXPECT_EQ(seq.At(2, 2), 1.0f);  // new ~ city
  EXPECT_EQ(seq.At(3, 2), 1.0f);  // york ~ city
  EXPECT_EQ(seq.At(4, 0), 1.0f);  // 10001 ~ zipcode
  EXPECT_EQ(seq.At(1, 0) + seq.At(1, 1) + seq.At(1, 2), 0.0f);
  EXPECT_EQ(m.features[1].type, FeatureType::kSentence);
  EXPECT_EQ(m.features[1].matrix.nnz(), 3u);
}

TEST_F(ComponentsTest, RegexEntityExtractorUsesPatternsNamedLikeEntities) {
  data::TrainingData extra;
  extra.lookups = {{"city", {"Berlin", "Paris"}, {}}, {"unused", {"zzz"}, {}}};
  auto d = std::const_pointer_cast<NluTrainingData>(Data({{"to Berlin", "inform"}}, extra));
  data::EntityAnnotation e;
  e.start = 3;
  e.end = 9;
  e.entity = "city";
  e.value = "Berlin";
  d->data.examples[0].entities.push_back(e);
  auto extractor = TrainAndLoad("RegexEntityExtractor", d);
  const NluMessage m = Process(*extractor, "fly to paris");
  ASSERT_EQ(m.entities.size(), 1u);
  EXPECT_EQ(m.entities[0]["entity"], "city");
  EXPECT_EQ(m.entities[0]["value"], "paris");  // case-insensitive by default
  EXPECT_EQ(m.entities[0]["start"], 7);
  EXPECT_EQ(m.entities[0]["end"], 12);
}

TEST_F(ComponentsTest, EntitySynonymMapperReplacesValuesCaseInsensitively) {
  data::TrainingData extra;
  extra.synonyms = {{"NYC", "New York"}, {"big apple", "New York"}};
  auto mapper = TrainAndLoad("EntitySynonymMapper", Data({{"hi", "greet"}}, extra));
  NluMessage base;
  base.entities = Json::array({{{"entity", "city"}, {"value", "nyc"}, {"start", 0}, {"end", 3}},
                               {{"entity", "city"}, {"value", "Paris"}, {"start", 4}, {"end", 9}}});
  const NluMessage m = Process(*mapper, "nyc Paris", base);
  EXPECT_EQ(m.entities[0]["value"], "New York");
  EXPECT_EQ(m.entities[0]["processors"][0], "EntitySynonymMapper");
  EXPECT_EQ(m.entities[1]["value"], "Paris");
}

TEST_F(ComponentsTest, FallbackClassifierOnLowConfidenceOrAmbiguity) {
  auto fallback = TrainAndLoad("FallbackClassifier", Data({}), {{"threshold", 0.5}, {"ambiguity_threshold", 0.1}});
  NluMessage low;
  low.intent = {{"name", "greet"}, {"confidence", 0.4}};
  EXPECT_EQ(Process(*fallback, "x", low).intent["name"], "nlu_fallback");
  NluMessage close;
  close.intent = {{"name", "greet"}, {"confidence", 0.55}};
  close.intent_ranking = Json::array({{{"name", "greet"}, {"confidence", 0.55}}, {{"name", "bye"}, {"confidence", 0.5}}});
  const NluMessage out = Process(*fallback, "x", close);
  EXPECT_EQ(out.intent["name"], "nlu_fallback");
  EXPECT_EQ(out.intent_ranking.size(), 3u);
  NluMessage sure;
  sure.intent = {{"name", "greet"}, {"confidence", 0.9}};
  EXPECT_EQ(Process(*fallback, "x", sure).intent["name"], "greet");
}

TEST_F(ComponentsTest, LexicalSyntacticFeaturizerOneHotsWindowFeatures) {
  auto featurizer = TrainAndLoad("LexicalSyntacticFeaturizer", Data({{"Hello World 42", "greet"}, {"ok", "affirm"}}));
  const NluMessage m = Process(*featurizer, "Hello 42");
  ASSERT_EQ(m.features.size(), 1u);
  const SparseMatrix& seq = m.features[0].matrix;
  EXPECT_EQ(seq.rows, 2);
  // Token 0 has no left neighbour: 6 features of itself + 3 of its right neighbour.
  EXPECT_EQ(seq.indptr[1] - seq.indptr[0], 9);
  EXPECT_EQ(seq.indptr[2] - seq.indptr[1], 9);
}

TEST_F(ComponentsTest, LexicalSyntacticFeaturizerRefusesSpacyFeatures) {
  const graph::ComponentImplementation* impl = graph::FindImplementation("LexicalSyntacticFeaturizer");
  EXPECT_THROW(impl->make({{"features", Json::array({Json::array({"pos"})})}}, std::nullopt, Context("n")),
               util::InvalidConfigError);
}

// Rasa's misaligned entity annotations: an entity must start at a token's
// start and end at a token's end; the warnings stop after `limit` messages
// and count the rest.
TEST(MisalignedEntities, StartAndEndMustBeTokenBoundariesAndTheRestIsCounted) {
  auto message = [](int start, int end) {
    NluMessage m;
    m.data.text = "fly to new york";
    m.tokens = {{"fly", 0, 3}, {"to", 4, 6}, {"new", 7, 10}, {"york", 11, 15}};
    data::EntityAnnotation e;
    e.entity = "city";
    e.start = start;
    e.end = end;
    m.data.entities = {e};
    return m;
  };
  EXPECT_TRUE(MisalignedEntities(message(7, 15)).empty());   // "new york": two whole tokens
  EXPECT_EQ(MisalignedEntities(message(6, 15)).size(), 1u);  // " new york"
  EXPECT_EQ(MisalignedEntities(message(7, 14)).size(), 1u);  // "new yor"
  const std::vector<NluMessage> messages = {message(7, 15), message(6, 15), message(8, 15),
                                            message(7, 14)};
  std::vector<const NluMessage*> pointers;
  for (const NluMessage& m : messages) pointers.push_back(&m);
  const std::vector<std::string> warnings = MisalignedEntityWarnings(pointers, 2);
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_NE(warnings[0].find(
                "the entity city = ' new york' (6-15) does not start and end at token boundaries"),
            std::string::npos)
      << warnings[0];
  EXPECT_EQ(warnings[2], "... and 1 more message with misaligned entity annotations.");
}

}  // namespace
}  // namespace trainyard::nlu
