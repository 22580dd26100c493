#include "core/data/story_graph.h"

#include <algorithm>
#include <map>
#include <set>

namespace trainyard::data {

StoryGraph StoryGraph::Build(StoryData data, util::Diagnostics& diagnostics) {
  StoryGraph graph;
  graph.data_ = std::move(data);
  const auto& steps = graph.data_.steps;

  std::map<std::string, std::vector<size_t>> starts;  // checkpoint → steps starting there
  std::set<std::string> ends;
  for (size_t i = 0; i < steps.size(); ++i) {
    for (const Checkpoint& c : steps[i].start_checkpoints) starts[c.name].push_back(i);
    for (const Checkpoint& c : steps[i].end_checkpoints) ends.insert(c.name);
  }
  for (size_t i = 0; i < steps.size(); ++i)
    for (const Checkpoint& c : steps[i].end_checkpoints)
      if (auto it = starts.find(c.name); it != starts.end())
        for (size_t j : it->second) graph.edges_.emplace_back(i, j);

  std::set<std::string> reported;
  for (const StoryStep& step : steps) {
    for (const Checkpoint& c : step.start_checkpoints)
      if (c.name != kStoryStart && !ends.count(c.name) && reported.insert("s" + c.name).second)
        diagnostics.Warn(c.location, "Unsatisfied start checkpoint '" + c.name + "' in '" +
                                         step.block_name + "': no story ends with this checkpoint, "
                                         "so this part of the story is never reached.");
    for (const Checkpoint& c : step.end_checkpoints)
      if (!starts.count(c.name) && reported.insert("e" + c.name).second)
        diagnostics.Warn(c.location, "Unused checkpoint '" + c.name + "' in '" + step.block_name +
                                         "': no story starts from this checkpoint.");
  }

  // Depth-first topological order; an edge into a step still on the stack closes a cycle.
  // Roots and successors are visited last to first, so that steps the order
  // leaves free come in file order (tracker generation follows this order).
  std::vector<std::vector<size_t>> out(steps.size());
  for (const auto& [from, to] : graph.edges_) out[from].push_back(to);
  for (auto& successors : out) std::reverse(successors.begin(), successors.end());
  enum class Mark { kNew, kActive, kDone };
  std::vector<Mark> mark(steps.size(), Mark::kNew);
  std::vector<size_t> post;
  for (size_t root = steps.size(); root-- > 0;) {
    if (mark[root] != Mark::kNew) continue;
    std::vector<std::pair<size_t, size_t>> stack{{root, 0}};  // (node, next child)
    mark[root] = Mark::kActive;
    while (!stack.empty()) {
      auto& [node, child] = stack.back();
      if (child < out[node].size()) {
        const size_t next = out[node][child++];
        if (mark[next] == Mark::kActive) graph.cyclic_edges_.emplace_back(node, next);
        else if (mark[next] == Mark::kNew) {
          mark[next] = Mark::kActive;
          stack.emplace_back(next, 0);
        }
        continue;
      }
      mark[node] = Mark::kDone;
      post.push_back(node);
      stack.pop_back();
    }
  }
  graph.ordered_.assign(post.rbegin(), post.rend());
  return graph;
}

}  // namespace trainyard::data
