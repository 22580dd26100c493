#pragma once

// Python's random.Random, for the places where Rasa's behaviour depends on
// its draws (story augmentation subsamples trackers with random.Random(42)):
// the same Mersenne Twister, seeded as CPython seeds it from an integer, and
// the same shuffle, so that the same list comes out in the same order.

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace trainyard::util {

class PyRandom {
 public:
  explicit PyRandom(uint64_t seed);

  // random.getrandbits(32).
  uint32_t Next32();
  // random.randrange(n) for 0 < n < 2^32 (CPython's _randbelow).
  uint32_t Below(uint32_t n);
  // random.shuffle(v), in place.
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i-- > 1;) std::swap(v[i], v[Below(static_cast<uint32_t>(i + 1))]);
  }

 private:
  void Twist();
  std::array<uint32_t, 624> mt_{};
  size_t index_ = 624;
};

}  // namespace trainyard::util
