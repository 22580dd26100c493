#include "core/util/py_random.h"

#include <gtest/gtest.h>

#include <numeric>

namespace trainyard::util {
namespace {

// Expected values printed by CPython 3 (random.Random(seed)).
TEST(PyRandom, DrawsWhatPythonDraws) {
  PyRandom r(42);
  EXPECT_EQ(r.Next32(), 2746317213u);
  EXPECT_EQ(r.Next32(), 478163327u);
  EXPECT_EQ(r.Next32(), 107420369u);
  EXPECT_EQ(PyRandom((uint64_t{1} << 40) + 5).Next32(), 2166296868u);  // seeds wider than 32 bits
}

TEST(PyRandom, ShufflesAsPythonShuffles) {
  PyRandom r(42);
  std::vector<int> x(10), y(7);
  std::iota(x.begin(), x.end(), 0);
  std::iota(y.begin(), y.end(), 0);
  r.Shuffle(x);
  r.Shuffle(y);  // the draws go on from where the first shuffle left them
  EXPECT_EQ(x, (std::vector<int>{7, 3, 2, 8, 5, 6, 9, 4, 0, 1}));
  EXPECT_EQ(y, (std::vector<int>{1, 2, 5, 6, 0, 3, 4}));
  PyRandom seven(7);
  std::vector<int> z(100);
  std::iota(z.begin(), z.end(), 0);
  seven.Shuffle(z);
  EXPECT_EQ(std::vector<int>(z.begin(), z.begin() + 10), (std::vector<int>{33, 25, 99, 84, 78, 81, 21, 93, 82, 1}));
}

}  // namespace
}  // namespace trainyard::util
