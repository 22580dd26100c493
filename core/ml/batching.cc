#include "core/ml/batching.h"

#include <algorithm>
#include <map>

namespace trainyard::ml {

int BatchSizeForEpoch(int first, int last, int epoch, int epochs) {
  if (epochs <= 1 || first == last) return std::max(1, first);
  return std::max(1, first + static_cast<int>(static_cast<int64_t>(last - first) * epoch / (epochs - 1)));
}

namespace {

// `stream` cut in order into batches of `bs` (the last may be shorter).
std::vector<std::vector<size_t>> Cut(const std::vector<size_t>& stream, size_t bs) {
  std::vector<std::vector<size_t>> batches;
  for (size_t start = 0; start < stream.size(); start += bs)
    batches.emplace_back(stream.begin() + static_cast<std::ptrdiff_t>(start),
                         stream.begin() + static_cast<std::ptrdiff_t>(std::min(stream.size(), start + bs)));
  return batches;
}

}  // namespace

std::vector<std::vector<size_t>> MakeBatches(const std::vector<int>& labels, int batch_size, const std::string& strategy,
                                             std::mt19937_64& rng) {
  const size_t n = labels.size();
  const size_t bs = static_cast<size_t>(std::max(1, batch_size));
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  if (strategy != "balanced") {
    std::vector<std::vector<size_t>> batches = Cut(order, bs);
    std::shuffle(batches.begin(), batches.end(), rng);
    return batches;
  }
  // Rasa's balanced batching: the labels take turns in a random order each
  // round, each giving its next count/n·batch_size + 1 examples; a label
  // that has gone through all its examples starts again and then sits out
  // every other round. The epoch ends once every label has been through
  // once, so rare labels come back (about every other batch) and frequent
  // ones come once. Batches are cut from that stream in order.
  std::map<int, std::vector<size_t>> by_label;
  for (size_t i : order) by_label[labels[i]].push_back(i);
  std::vector<const std::vector<size_t>*> members;
  for (const auto& [label, list] : by_label) members.push_back(&list);
  const size_t k = members.size();
  std::vector<size_t> next(k, 0), cycles(k, 0), turn(k);
  std::vector<bool> sat_out(k, false);
  std::vector<size_t> stream;
  auto all_cycled = [&] { return std::all_of(cycles.begin(), cycles.end(), [](size_t c) { return c > 0; }); };
  while (k > 0 && !all_cycled()) {
    for (size_t i = 0; i < k; ++i) turn[i] = i;
    std::shuffle(turn.begin(), turn.end(), rng);
    for (size_t t : turn) {
      if (cycles[t] > 0 && !sat_out[t]) {
        sat_out[t] = true;
        continue;
      }
      sat_out[t] = false;
      const std::vector<size_t>& list = *members[t];
      const size_t take = list.size() * bs / n + 1;
      for (size_t j = next[t]; j < std::min(list.size(), next[t] + take); ++j) stream.push_back(list[j]);
      next[t] += take;
      if (next[t] >= list.size()) {
        ++cycles[t];
        next[t] = 0;
      }
      if (all_cycled()) break;
    }
  }
  return Cut(stream, bs);
}

}  // namespace trainyard::ml
