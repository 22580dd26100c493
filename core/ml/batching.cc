#include "core/ml/batching.h"

#include <algorithm>
#include <map>

namespace trainyard::ml {

int BatchSizeForEpoch(int first, int last, int epoch, int epochs) {
  if (epochs <= 1 || first == last) return std::max(1, first);
  return std::max(1, first + static_cast<int>(static_cast<int64_t>(last - first) * epoch / (epochs - 1)));
}

std::vector<std::vector<size_t>> MakeBatches(const std::vector<int>& labels, int batch_size, const std::string& strategy, std::mt19937_64& rng) {
  const size_t n = labels.size();
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  if (strategy == "balanced") {
    // Each example of a label with c examples gets the key (rank + u) / c:
    // sorting by key interleaves all labels evenly over the epoch.
    std::map<int, std::vector<size_t>> by_label;
    for (size_t i : order) by_label[labels[i]].push_back(i);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<std::pair<double, size_t>> keyed;
    for (const auto& [label, members] : by_label)
      for (size_t r = 0; r < members.size(); ++r)
        keyed.emplace_back((static_cast<double>(r) + u(rng)) / static_cast<double>(members.size()), members[r]);
    std::sort(keyed.begin(), keyed.end());
    for (size_t i = 0; i < n; ++i) order[i] = keyed[i].second;
  }
  const size_t bs = static_cast<size_t>(std::max(1, batch_size));
  std::vector<std::vector<size_t>> batches;
  for (size_t start = 0; start < n; start += bs)
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                         order.begin() + static_cast<std::ptrdiff_t>(std::min(n, start + bs)));
  std::shuffle(batches.begin(), batches.end(), rng);
  return batches;
}

}  // namespace trainyard::ml
