#include "core/util/cpus.h"

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace trainyard::util {
namespace {

std::string FirstLine(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

unsigned CgroupCores() {
  if (const unsigned v2 = CoresFromCpuMax(FirstLine("/sys/fs/cgroup/cpu.max"))) return v2;
  for (const char* dir : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
    const std::string quota = FirstLine((std::string(dir) + "/cpu.cfs_quota_us").c_str());
    const std::string period = FirstLine((std::string(dir) + "/cpu.cfs_period_us").c_str());
    if (quota.empty() || period.empty()) continue;
    try {
      if (const unsigned v1 = CoresFromQuota(std::stoll(quota), std::stoll(period))) return v1;
    } catch (const std::exception&) {
    }
  }
  return 0;
}

}  // namespace

unsigned CoresFromQuota(long long quota_us, long long period_us) {
  if (quota_us <= 0 || period_us <= 0) return 0;
  return static_cast<unsigned>(std::max<long long>(1, (quota_us + period_us - 1) / period_us));
}

unsigned CoresFromCpuMax(const std::string& line) {
  std::istringstream in(line);
  std::string quota;
  long long period = 0;
  if (!(in >> quota >> period) || quota == "max") return 0;
  try {
    size_t used = 0;
    const long long q = std::stoll(quota, &used);
    return used == quota.size() ? CoresFromQuota(q, period) : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

unsigned AvailableCores() {
  static const unsigned cores = [] {
    unsigned n = std::max(1u, std::thread::hardware_concurrency());
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
      n = std::min(n, static_cast<unsigned>(CPU_COUNT(&set)));
    if (const unsigned quota = CgroupCores()) n = std::min(n, quota);
    return std::max(1u, n);
  }();
  return cores;
}

}  // namespace trainyard::util
