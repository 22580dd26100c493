#include "core/ml/options.h"

#include <algorithm>

namespace trainyard::ml {

SimilarityOptions ReadSimilarity(const OptionReader& r, double maximum_negative_similarity, bool scale_loss) {
  SimilarityOptions s;
  s.negatives = r.Int("number_of_negative_examples", 20, 1);
  s.loss_type = r.Choice("loss_type", "cross_entropy", {"cross_entropy", "margin"});
  const std::string similarity = r.Choice("similarity_type", "auto", {"auto", "inner", "cosine"});
  s.similarity_type = similarity != "auto" ? similarity : s.loss_type == "margin" ? "cosine" : "inner";
  s.maximum_positive_similarity = r.Num("maximum_positive_similarity", 0.8);
  s.maximum_negative_similarity = r.Num("maximum_negative_similarity", maximum_negative_similarity);
  s.use_maximum_negative_similarity = r.Flag("use_maximum_negative_similarity", true);
  s.negative_margin_scale = r.Num("negative_margin_scale", 0.8);
  s.scale_loss = r.Flag("scale_loss", scale_loss);
  s.constrain_similarities = r.Flag("constrain_similarities", false);
  s.model_confidence = r.Choice("model_confidence", "softmax", {"softmax", "linear_norm"});
  return s;
}

int ReadEvaluateEvery(const OptionReader& r, int fallback, int epochs) {
  const int every = r.Int("evaluate_every_number_of_epochs", fallback, -1);
  if (every == 0)
    throw r.Error("'evaluate_every_number_of_epochs' must be -1 (after the last epoch) or at least 1, not 0.");
  return every == -1 ? std::max(epochs, 1) : every;
}

std::vector<std::string> ReadFeaturizerNames(const OptionReader& r) {
  using Json = OptionReader::Json;
  const Json& listed = r.Get("featurizers");
  if (!listed.is_null() && !listed.is_array())
    throw r.Error(
        "'featurizers' must be a list of featurizer names (their 'alias', else their node name).");
  std::vector<std::string> names;
  for (const Json& f : listed.is_array() ? listed : Json::array()) {
    if (!f.is_string())
      throw r.Error("'featurizers' must list featurizer names as texts, not " + f.dump() + ".");
    names.push_back(f.get<std::string>());
  }
  return names;
}

Ranking RankAndMask(const std::vector<float>& confidences, int ranking_length, bool renormalize) {
  Ranking r;
  r.labels.resize(confidences.size());
  for (size_t i = 0; i < r.labels.size(); ++i) r.labels[i] = i;
  std::stable_sort(r.labels.begin(), r.labels.end(),
                   [&](size_t a, size_t b) { return confidences[a] > confidences[b]; });
  if (ranking_length > 0 && static_cast<size_t>(ranking_length) < r.labels.size())
    r.labels.resize(static_cast<size_t>(ranking_length));
  double total = 0;
  for (size_t label : r.labels) total += confidences[label];
  const bool divide = renormalize && r.labels.size() < confidences.size() && total > 0;
  for (size_t label : r.labels)
    r.confidences.push_back(divide ? confidences[label] / total
                                   : static_cast<double>(confidences[label]));
  return r;
}

bool ShouldRenormalize(bool renormalize_confidences, const SimilarityOptions& similarity) {
  return renormalize_confidences && similarity.model_confidence == "softmax";
}

std::string CheckpointWithoutEvaluation(const std::string& component) {
  return component +
         ": 'checkpoint_model: true' keeps the epoch that did best on the held-out examples, but "
         "'evaluate_on_number_of_examples' holds out none; the last epoch's weights are kept.";
}

}  // namespace trainyard::ml
