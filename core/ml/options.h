#pragma once

// The options DIET, ResponseSelector and TED share, read with
// util::OptionReader.

#include <string>
#include <vector>

#include "core/util/option_reader.h"

namespace trainyard::ml {

// The similarity loss's options (DIET and TED; see DotProductLoss).
struct SimilarityOptions {
  int negatives = 20;
  std::string loss_type = "cross_entropy";  // or "margin"
  std::string similarity_type = "inner";    // or "cosine"
  double maximum_positive_similarity = 0.8;
  double maximum_negative_similarity = -0.4;
  bool use_maximum_negative_similarity = true;
  double negative_margin_scale = 0.8;
  bool scale_loss = false;
  bool constrain_similarities = false;
  std::string model_confidence = "softmax";  // or "linear_norm"
};

using util::OptionReader;

// The similarity loss's options; the defaults that differ between models are arguments.
SimilarityOptions ReadSimilarity(const OptionReader& r, double maximum_negative_similarity, bool scale_loss);

// `evaluate_every_number_of_epochs` as Rasa checks it: -1 (once, after the
// last of `epochs`, which it returns) or at least 1.
int ReadEvaluateEvery(const OptionReader& r, int fallback, int epochs);

// `featurizers` (DIET's, ResponseSelector's and TED's option): the names of
// the featurizers whose features the model uses (their `alias`, else their
// node name; nlu::Features::Name); empty: every featurizer's.
std::vector<std::string> ReadFeaturizerNames(const OptionReader& r);

// Why TensorBoard's options (tensorboard_log_directory, tensorboard_log_level)
// change nothing: graph::ComponentImplementation::inert.
inline constexpr const char* kNoTensorBoard =
    "trainyard writes no TensorBoard logs; each epoch's losses and accuracies are reported as "
    "training "
    "progress (the log, and a server job's events).";

// Rasa's rank_and_mask over a model's confidences (DIET, ResponseSelector,
// TED): the labels from the most confident down (ties in label order), the
// first `ranking_length` kept (0: all), each with its confidence, divided by
// the kept ones' sum when `renormalize` and some were left out. Rasa
// renormalizes only `renormalize_confidences: true` with softmax confidences
// (ShouldRenormalize).
struct Ranking {
  std::vector<size_t> labels;
  std::vector<double> confidences;
};
Ranking RankAndMask(const std::vector<float>& confidences, int ranking_length, bool renormalize);
bool ShouldRenormalize(bool renormalize_confidences, const SimilarityOptions& similarity);

// The warning for `checkpoint_model: true` without held-out examples (Rasa's
// too): there is nothing to choose the best epoch by.
std::string CheckpointWithoutEvaluation(const std::string& component);

}  // namespace trainyard::ml
