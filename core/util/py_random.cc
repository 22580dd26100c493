#include "core/util/py_random.h"

#include <algorithm>

namespace trainyard::util {
namespace {
constexpr size_t kN = 624;
constexpr size_t kM = 397;
}  // namespace

PyRandom::PyRandom(uint64_t seed) {
  // CPython seeds from an integer's 32-bit words, least significant first
  // (init_by_array of the reference Mersenne Twister).
  std::vector<uint32_t> key;
  do {
    key.push_back(static_cast<uint32_t>(seed));
    seed >>= 32;
  } while (seed != 0);
  mt_[0] = 19650218u;
  for (size_t i = 1; i < kN; ++i)
    mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<uint32_t>(i);
  size_t i = 1, j = 0;
  for (size_t k = std::max(kN, key.size()); k > 0; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525u)) + key[j] + static_cast<uint32_t>(j);
    if (++i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
    if (++j >= key.size()) j = 0;
  }
  for (size_t k = kN - 1; k > 0; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941u)) - static_cast<uint32_t>(i);
    if (++i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
  }
  mt_[0] = 0x80000000u;
  index_ = kN;
}

void PyRandom::Twist() {
  for (size_t k = 0; k < kN; ++k) {
    const uint32_t y = (mt_[k] & 0x80000000u) | (mt_[(k + 1) % kN] & 0x7fffffffu);
    mt_[k] = mt_[(k + kM) % kN] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
  }
  index_ = 0;
}

uint32_t PyRandom::Next32() {
  if (index_ >= kN) Twist();
  uint32_t y = mt_[index_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

uint32_t PyRandom::Below(uint32_t n) {
  int bits = 0;
  while (bits < 32 && (uint64_t{1} << bits) <= n) ++bits;  // n's bit length
  for (;;) {
    const uint32_t r = Next32() >> (32 - bits);
    if (r < n) return r;
  }
}

}  // namespace trainyard::util
