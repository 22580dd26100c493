#pragma once

// How many cores this process may really use. std::thread::hardware_concurrency()
// counts the machine's cores; in a Kubernetes pod with a CPU limit (or under
// taskset) that is far more than the process gets, and as many libtorch/OpenMP
// threads as that oversubscribe the cores badly.

#include <string>

namespace trainyard::util {

// The fewest of: the machine's cores, the process's CPU affinity mask, and the
// cgroup CPU quota (v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`)
// rounded up. At least 1. Read once, then cached.
unsigned AvailableCores();

// The cores a cgroup v2 `cpu.max` line allows: "200000 100000" -> 2,
// "150000 100000" -> 2 (rounded up), "max 100000" -> 0 (no limit); 0 for
// anything unreadable.
unsigned CoresFromCpuMax(const std::string& line);

// The cores a CFS quota allows (v1: quota -1 means no limit -> 0).
unsigned CoresFromQuota(long long quota_us, long long period_us);

}  // namespace trainyard::util
