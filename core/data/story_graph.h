#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/data/story.h"
#include "core/util/diagnostics.h"

namespace trainyard::data {

// Stories and rules with their checkpoints resolved: steps that end in a
// checkpoint are linked to the steps that start from it. Cycles are allowed
// (stories may loop through checkpoints); the edges that close a cycle are
// listed so that tracker generation (the dialogue issue) can bound them.
// Immutable after Build; safe to share between threads.
class StoryGraph {
 public:
  StoryGraph() = default;

  // Links `data`'s steps. Unsatisfied start checkpoints and unused end
  // checkpoints are reported as warnings (training still runs, as in Rasa).
  static StoryGraph Build(StoryData data, util::Diagnostics& diagnostics);

  const StoryData& data() const { return data_; }
  const std::vector<StoryStep>& steps() const { return data_.steps; }
  // Step indices in an order where each step comes after the steps that
  // lead to its start checkpoints (ignoring cycle-closing edges).
  const std::vector<size_t>& ordered_steps() const { return ordered_; }
  // Directed edges (from step, to step) through a shared checkpoint.
  const std::vector<std::pair<size_t, size_t>>& edges() const { return edges_; }
  const std::vector<std::pair<size_t, size_t>>& cyclic_edges() const { return cyclic_edges_; }
  bool empty() const { return data_.steps.empty(); }

 private:
  StoryData data_;
  std::vector<size_t> ordered_;
  std::vector<std::pair<size_t, size_t>> edges_;
  std::vector<std::pair<size_t, size_t>> cyclic_edges_;
};

}  // namespace trainyard::data
