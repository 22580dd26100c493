#include "core/ml/batching.h"

#include <algorithm>
#include <map>
#include <stdexcept>

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

HeldOutSplit HoldOut(const std::vector<int>& labels, int count, std::mt19937_64& rng) {
  std::map<int, std::vector<size_t>> by_label;
  for (size_t i = 0; i < labels.size(); ++i) by_label[labels[i]].push_back(i);
  const size_t n = labels.size(), label_count = by_label.size(),
               want = static_cast<size_t>(std::max(0, count));
  const std::string held = std::to_string(want) + " example" + (want == 1 ? "" : "s");
  const std::string labels_text =
      std::to_string(label_count) + " label" + (label_count == 1 ? "" : "s");
  if (n < 2 * label_count + 1)
    throw std::invalid_argument(
        "'evaluate_on_number_of_examples' (" + std::to_string(want) +
        ") cannot be met: " + std::to_string(n) + " examples of " + labels_text +
        " are too few to hold out one per label and train on more than one per label.");
  if (want < label_count)
    throw std::invalid_argument(
        "'evaluate_on_number_of_examples' holds out " + held + ", fewer than the " + labels_text +
        " to evaluate: hold out at least " + std::to_string(label_count) + ".");
  if (want >= n - label_count)
    throw std::invalid_argument("'evaluate_on_number_of_examples' holds out " + held + " of " +
                                std::to_string(n) + ", which leaves " + std::to_string(n - want) +
                                " to train on, not more than the " + labels_text +
                                ": hold out at most " + std::to_string(n - label_count - 1) + ".");
  // Each label's share of the held-out examples (labels with one example
  // have none): rounded down, the rest to the largest remainders (ties in a
  // random order), never the label's last example.
  size_t pool = 0;
  for (const auto& [label, members] : by_label)
    if (members.size() > 1) pool += members.size();
  struct Share {
    std::vector<size_t>* members;
    size_t take;
    double remainder, tie;
  };
  std::vector<Share> shares;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  size_t given = 0;
  for (auto& [label, members] : by_label) {
    if (members.size() < 2) continue;
    const double exact =
        static_cast<double>(want) * static_cast<double>(members.size()) / static_cast<double>(pool);
    const size_t take = std::min(members.size() - 1, static_cast<size_t>(exact));
    shares.push_back({&members, take, exact - static_cast<double>(take), uniform(rng)});
    given += take;
  }
  std::sort(shares.begin(), shares.end(), [](const Share& a, const Share& b) {
    return a.remainder != b.remainder ? a.remainder > b.remainder : a.tie < b.tie;
  });
  // Rounding (and labels capped at all but one example) leaves some over:
  // one more each in that order, round after round, until all are given.
  while (given < want) {
    const size_t before = given;
    for (Share& s : shares)
      if (given < want && s.take + 1 < s.members->size()) {
        ++s.take;
        ++given;
      }
    if (given == before) break;  // cannot happen: want < examples - labels
  }
  HeldOutSplit split;
  std::vector<bool> out(n, false);
  for (Share& s : shares) {
    std::shuffle(s.members->begin(), s.members->end(), rng);
    for (size_t k = 0; k < s.take; ++k) out[(*s.members)[k]] = true;
  }
  for (size_t i = 0; i < n; ++i) (out[i] ? split.held_out : split.train).push_back(i);
  return split;
}

bool BestEvaluation::Improves(const std::map<std::string, double>& metrics) {
  if (best_.empty()) {
    best_ = metrics;
    return !metrics.empty();
  }
  bool better = false;
  for (const auto& [name, value] : metrics) {
    auto it = best_.find(name);
    if (it == best_.end()) continue;
    if (value < it->second) return false;
    better = better || value > it->second;
  }
  if (better)
    for (const auto& [name, value] : metrics) best_[name] = std::max(best_[name], value);
  return better;
}

}  // namespace trainyard::ml
