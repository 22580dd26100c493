#include "core/ml/device.h"

#include <mutex>
#include <set>
#include <thread>

#include <ATen/Parallel.h>

#include <torch/torch.h>

#include "core/util/cpus.h"
#include "core/util/errors.h"

namespace trainyard::ml {

bool CudaAvailable() { return torch::cuda::is_available(); }

int CudaDeviceCount() { return CudaAvailable() ? static_cast<int>(torch::cuda::device_count()) : 0; }

std::string ResolveDevice(const std::string& requested, bool* fell_back) {
  if (fell_back) *fell_back = false;
  if (requested.empty() || requested == "auto") return CudaAvailable() ? "cuda:0" : "cpu";
  if (requested == "cpu") return "cpu";
  if (requested == "cuda" || requested.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (requested.size() > 5) {
      const std::string digits = requested.substr(5);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 3)
        throw util::InvalidConfigError("Unknown device '" + requested + "': use cpu, cuda or cuda:N.");
      index = std::stoi(digits);
    }
    if (index >= CudaDeviceCount()) {
      if (fell_back) *fell_back = true;
      return "cpu";
    }
    return "cuda:" + std::to_string(index);
  }
  throw util::InvalidConfigError("Unknown device '" + requested + "': use cpu, cuda or cuda:N.");
}

void SetComputeThreads(int threads) {
  const int n = threads > 0 ? threads : static_cast<int>(util::AvailableCores());
  if (torch::get_num_threads() != n) torch::set_num_threads(n);
}

int OwnLoopThreads(int64_t n) {
  std::mutex mutex;
  std::set<std::thread::id> seen;
  at::parallel_for(0, n, 1, [&](int64_t, int64_t) {
    const std::lock_guard<std::mutex> lock(mutex);
    seen.insert(std::this_thread::get_id());
  });
  return static_cast<int>(seen.size());
}

}  // namespace trainyard::ml
