#pragma once

// Rasa's story structure check (`rasa data validate --max-history N`): two
// stories that reach the same last N dialogue states but continue with
// different bot actions contradict each other; no policy can learn both.

#include <vector>

#include "core/data/story_graph.h"
#include "core/policy/trackers.h"
#include "core/util/diagnostics.h"

namespace trainyard::policy {

// One error per conflicting history, at the action of the story that met the
// conflict last: "Story structure conflict after intent 'deny':" then one
// line per action and the stories that predict it.
std::vector<util::Diagnostic> FindStoryConflicts(const data::StoryGraph& graph, const Json& domain, int max_history);

}  // namespace trainyard::policy
