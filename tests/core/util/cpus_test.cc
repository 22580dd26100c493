// The cores the process may use: cgroup quota parsing and the overall bound.

#include "core/util/cpus.h"

#include <gtest/gtest.h>

#include <thread>

namespace trainyard::util {
namespace {

TEST(CpusTest, CgroupV2CpuMaxLines) {
  EXPECT_EQ(CoresFromCpuMax("200000 100000"), 2u);
  EXPECT_EQ(CoresFromCpuMax("150000 100000"), 2u);  // 1.5 cores: rounded up
  EXPECT_EQ(CoresFromCpuMax("50000 100000"), 1u);   // half a core: still one thread
  EXPECT_EQ(CoresFromCpuMax("max 100000"), 0u);     // no limit
  EXPECT_EQ(CoresFromCpuMax(""), 0u);
  EXPECT_EQ(CoresFromCpuMax("12abc 100000"), 0u);
}

TEST(CpusTest, CgroupV1Quota) {
  EXPECT_EQ(CoresFromQuota(400000, 100000), 4u);
  EXPECT_EQ(CoresFromQuota(-1, 100000), 0u);  // no limit
  EXPECT_EQ(CoresFromQuota(100000, 0), 0u);
}

TEST(CpusTest, AvailableCoresIsWithinTheMachine) {
  const unsigned n = AvailableCores();
  EXPECT_GE(n, 1u);
  EXPECT_LE(n, std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(AvailableCores(), n);
}

}  // namespace
}  // namespace trainyard::util
