// The end-to-end featurization plumbing: story turns become messages, the
// NLU featurizers run on them, and the collector keys their features.

#include "core/training/components.h"

#include <gtest/gtest.h>

#include "core/data/story_reader.h"
#include "core/graph/component.h"
#include "core/nlu/message.h"
#include "core/policy/policies.h"
#include "tests/support/test_helpers.h"

namespace trainyard::training {
namespace {

using Json = nlohmann::ordered_json;

graph::Output Call(const std::string& component, const std::string& fn, const graph::Inputs& inputs,
                   storage::ModelStorage& storage, const std::optional<std::string>& resource = std::nullopt) {
  RegisterBuiltinComponents();
  const graph::ComponentImplementation* impl = graph::FindImplementation(component);
  EXPECT_NE(impl, nullptr) << component;
  graph::ExecutionContext c;
  c.node_name = "node_" + component;
  c.storage = &storage;
  return impl->make(impl->defaults, resource, c)->Run(fn, inputs, c);
}

TEST(EndToEndPlumbing, StoryTurnsBecomeFeaturizedLookups) {
  testing::TempDir dir;
  storage::ModelStorage storage(dir.path());
  util::Diagnostics d;
  auto graph = std::make_shared<const data::StoryGraph>(data::StoryGraph::Build(
      data::ParseStories("stories:\n- story: s\n  steps:\n  - user: hello there\n  - bot: Hi!\n  - intent: greet\n"
                         "  - action: utter_greet\n  - user: hello there\n",
                         "s.yml", d),
      d));
  const graph::Output converted = Call("CoreFeaturizationInputConverter", "convert_for_training",
                                       {{"story_graph", {graph, "g", {}}}}, storage);
  const auto& data = *std::any_cast<nlu::NluTrainingDataPtr>(converted.value);
  ASSERT_EQ(data.messages.size(), 4u);  // "hello there" once
  EXPECT_EQ(data.messages[0].data.text, "hello there");
  EXPECT_EQ(data.messages[1].data.action_text, "Hi!");
  EXPECT_EQ(data.messages[2].data.intent, "greet");
  EXPECT_EQ(data.messages[3].data.action_name, "utter_greet");

  // Train a featurizer on them, featurize, collect.
  Call("CountVectorsFeaturizer", "train", {{"training_data", converted}}, storage);
  const graph::Output featurized = Call("CountVectorsFeaturizer", "process_training_data",
                                        {{"training_data", converted}}, storage, "node_CountVectorsFeaturizer");
  const graph::Output collected = Call("CoreFeaturizationCollector", "collect", {{"messages", featurized}}, storage);
  const auto& lookup = *std::any_cast<PrecomputationsPtr>(collected.value);
  ASSERT_EQ(lookup.size(), 4u);
  EXPECT_FALSE(lookup.at("text:hello there").empty());
  EXPECT_FALSE(lookup.at("action_name:utter_greet").empty());

  // At inference, the tracker's turns become messages the same way.
  auto events = std::make_shared<const std::vector<data::StoryEvent>>(graph->steps()[0].events);
  const graph::Output inference = Call("CoreFeaturizationInputConverter", "convert_for_inference",
                                       {{"tracker", {policy::ConversationPtr(events), "t", {}}}}, storage);
  EXPECT_EQ(std::any_cast<nlu::NluMessagesPtr>(inference.value)->size(), 4u);
}

}  // namespace
}  // namespace trainyard::training
