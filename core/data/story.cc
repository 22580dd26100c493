#include "core/data/story.h"

namespace trainyard::data {

void StoryData::Merge(StoryData other) {
  for (StoryStep& step : other.steps) steps.push_back(std::move(step));
  story_count += other.story_count;
  rule_count += other.rule_count;
}

bool StoryData::HasEndToEnd() const {
  bool found = false;
  ForEachEvent(*this, [&](const StoryStep&, const StoryEvent& e) { found = found || e.is_end_to_end(); });
  return found;
}

}  // namespace trainyard::data
