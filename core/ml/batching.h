#pragma once

// How training examples are grouped into batches (libtorch-free).

#include <cstdint>
#include <map>
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

// evaluate_on_number_of_examples: the examples held out from training to be
// evaluated on, split as Rasa splits them: stratified by label (each label
// gives about its share, and at least one of its examples stays in training),
// an example whose label has no other example always trained on. Refused
// (std::invalid_argument, with why) where Rasa refuses: fewer examples than
// labels held out, or too few left to train on one example of each label.
struct HeldOutSplit {
  std::vector<size_t> train, held_out;  // indices into the examples
};
HeldOutSplit HoldOut(const std::vector<int>& labels, int count, std::mt19937_64& rng);

// checkpoint_model's rule, as Rasa's: an evaluation is kept as the best so far
// when none of its held-out metrics is below that metric's best and at least
// one is above it (the first evaluation always is).
class BestEvaluation {
 public:
  bool Improves(const std::map<std::string, double>& metrics);

 private:
  std::map<std::string, double> best_;
};

}  // namespace trainyard::ml
