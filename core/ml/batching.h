#pragma once

// How training examples are grouped into batches (libtorch-free).

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace trainyard::ml {

// Rasa's linearly increasing batch size: `first` in the first epoch, `last`
// in the final one.
int BatchSizeForEpoch(int first, int last, int epoch, int epochs);

// The batches of one epoch, as indices into the examples. "sequence":
// shuffled. "balanced": Rasa's balanced batching (labels take turns, rare
// ones repeated within the epoch; see batching.cc). (Lengths need no
// grouping: the models pack sequences, so padding costs no FLOPs outside
// attention.)
std::vector<std::vector<size_t>> MakeBatches(const std::vector<int>& labels, int batch_size,
                                             const std::string& strategy, std::mt19937_64& rng);

}  // namespace trainyard::ml
