#pragma once

// Sparse features of a message, in CSR form, as featurizers attach them and
// DIET (core/ml) consumes them. Rasa keeps per-token ("sequence") and
// per-message ("sentence") features for each attribute (text, intent,
// response, action_name) and each featurizer (its "origin").

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace trainyard::nlu {

// A rows × cols matrix in compressed sparse row form. Invariants: indptr has
// rows + 1 entries, indices are sorted within a row, no explicit zeros.
struct SparseMatrix {
  int rows = 0;
  int cols = 0;
  std::vector<int32_t> indptr{0};
  std::vector<int32_t> indices;
  std::vector<float> values;

  // Appends a row given as (column, value) pairs in any order; duplicates add up.
  void AddRow(std::vector<std::pair<int32_t, float>> entries);
  size_t nnz() const { return values.size(); }
  // The value at (row, col), 0 when absent. For tests and debugging.
  float At(int row, int col) const;
  // One row that is the sum of all rows (Rasa's sentence features of word n-grams).
  SparseMatrix SumRows() const;
};

enum class FeatureType { kSequence, kSentence };

struct Features {
  FeatureType type = FeatureType::kSequence;
  std::string attribute = "text";
  std::string origin;  // the featurizer's node name
  SparseMatrix matrix;
  // The featurizer's name as DIET's, ResponseSelector's and TED's
  // `featurizers` list it (Rasa's identifier): its `alias`, else its node
  // name. Empty: `origin`.
  std::string name;

  const std::string& Name() const { return name.empty() ? origin : name; }
  // Whether a model whose `featurizers` option is `featurizers` uses these
  // features (empty: every featurizer's).
  bool UsedBy(const std::vector<std::string>& featurizers) const {
    return featurizers.empty() ||
           std::find(featurizers.begin(), featurizers.end(), Name()) != featurizers.end();
  }
};

// What the end-to-end featurization (Rasa's end_to_end_features_provider)
// hands the dialogue policies: the features of every user text / intent /
// action name / bot text seen in stories or the conversation, keyed by
// "<attribute>:<value>" (e.g. "text:hello there", "action_name:utter_greet").
using Precomputations = std::map<std::string, std::vector<Features>>;
using PrecomputationsPtr = std::shared_ptr<const Precomputations>;

}  // namespace trainyard::nlu
