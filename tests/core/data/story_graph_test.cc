#include "core/data/story_graph.h"

#include <gtest/gtest.h>

#include "core/data/story_reader.h"

namespace trainyard::data {
namespace {

StoryGraph Build(const std::string& yaml, util::Diagnostics& d) {
  return StoryGraph::Build(ParseStories(yaml, "stories.yml", d), d);
}

TEST(StoryGraph, LinksCheckpointsAndOrdersProducersFirst) {
  util::Diagnostics d;
  const StoryGraph g = Build(
      "stories:\n"
      "- story: tail\n  steps:\n  - checkpoint: mid\n  - intent: bye\n  - action: utter_bye\n"
      "- story: head\n  steps:\n  - intent: hi\n  - action: utter_hi\n  - checkpoint: mid\n",
      d);
  EXPECT_EQ(d.warning_count(), 0u);
  ASSERT_EQ(g.steps().size(), 2u);
  ASSERT_EQ(g.edges().size(), 1u);
  EXPECT_EQ(g.edges()[0], (std::pair<size_t, size_t>{1, 0}));
  const auto& order = g.ordered_steps();
  EXPECT_LT(std::find(order.begin(), order.end(), 1) - order.begin(),
            std::find(order.begin(), order.end(), 0) - order.begin());
  EXPECT_TRUE(g.cyclic_edges().empty());
}

TEST(StoryGraph, StepsTheOrderLeavesFreeComeInFileOrder) {
  util::Diagnostics d;
  const StoryGraph g = Build(
      "stories:\n"
      "- story: a\n  steps:\n  - intent: a\n  - checkpoint: c\n"
      "- story: b\n  steps:\n  - intent: b\n"
      "- story: c1\n  steps:\n  - checkpoint: c\n  - intent: x\n"
      "- story: c2\n  steps:\n  - checkpoint: c\n  - intent: y\n",
      d);
  ASSERT_EQ(g.steps().size(), 4u);
  EXPECT_EQ(g.ordered_steps(), (std::vector<size_t>{0, 1, 2, 3}));
}

TEST(StoryGraph, CheckpointInTheMiddleSplitsTheStory) {
  util::Diagnostics d;
  const StoryGraph g = Build(
      "stories:\n- story: s\n  steps:\n  - intent: a\n  - checkpoint: c\n  - intent: b\n", d);
  ASSERT_EQ(g.steps().size(), 2u);
  EXPECT_EQ(g.steps()[0].end_checkpoints[0].name, "c");
  EXPECT_EQ(g.steps()[1].start_checkpoints[0].name, "c");
  EXPECT_EQ(g.edges().size(), 1u);
}

TEST(StoryGraph, CyclesAreAllowedAndReported) {
  util::Diagnostics d;
  const StoryGraph g = Build(
      "stories:\n"
      "- story: a\n  steps:\n  - checkpoint: x\n  - intent: a\n  - checkpoint: y\n"
      "- story: b\n  steps:\n  - checkpoint: y\n  - intent: b\n  - checkpoint: x\n",
      d);
  EXPECT_EQ(g.edges().size(), 2u);
  EXPECT_EQ(g.cyclic_edges().size(), 1u);
  EXPECT_EQ(g.ordered_steps().size(), 2u);
}

TEST(StoryGraph, UnusedAndUnsatisfiedCheckpointsWarn) {
  util::Diagnostics d;
  Build("stories:\n- story: a\n  steps:\n  - checkpoint: never_made\n  - intent: a\n"
        "- story: b\n  steps:\n  - intent: b\n  - checkpoint: never_used\n",
        d);
  ASSERT_EQ(d.warning_count(), 2u);
  EXPECT_NE(d.warnings()[0].message.find("Unsatisfied start checkpoint 'never_made'"), std::string::npos);
  EXPECT_NE(d.warnings()[1].message.find("Unused checkpoint 'never_used'"), std::string::npos);
  EXPECT_EQ(d.warnings()[0].location.line, 4);
}

}  // namespace
}  // namespace trainyard::data
