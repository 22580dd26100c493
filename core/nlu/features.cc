#include "core/nlu/features.h"

#include <algorithm>
#include <map>

namespace trainyard::nlu {

void SparseMatrix::AddRow(std::vector<std::pair<int32_t, float>> entries) {
  std::sort(entries.begin(), entries.end());
  for (size_t i = 0; i < entries.size();) {
    const int32_t col = entries[i].first;
    float sum = 0;
    for (; i < entries.size() && entries[i].first == col; ++i) sum += entries[i].second;
    if (sum == 0) continue;
    indices.push_back(col);
    values.push_back(sum);
  }
  indptr.push_back(static_cast<int32_t>(indices.size()));
  ++rows;
}

float SparseMatrix::At(int row, int col) const {
  if (row < 0 || row >= rows) return 0;
  for (int32_t k = indptr[row]; k < indptr[row + 1]; ++k)
    if (indices[k] == col) return values[k];
  return 0;
}

SparseMatrix SparseMatrix::SumRows() const {
  std::vector<std::pair<int32_t, float>> all;
  for (size_t k = 0; k < indices.size(); ++k) all.emplace_back(indices[k], values[k]);
  SparseMatrix out;
  out.cols = cols;
  out.AddRow(std::move(all));
  return out;
}

}  // namespace trainyard::nlu
