// The float32 matmul throughput libtorch reaches on this machine (2048² x
// 2048², every core): the peak DIET's training FLOP/s are compared with.
//   matmul_peak [THREADS]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <torch/torch.h>

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : static_cast<int>(std::thread::hardware_concurrency());
  torch::set_num_threads(threads);
  const int64_t n = 2048;
  torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::matmul(a, b);  // warm-up
  double best = 0;
  for (int round = 0; round < 5; ++round) {
    const auto start = std::chrono::steady_clock::now();
    torch::Tensor c = torch::matmul(a, b);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, 2.0 * n * n * n / s);
  }
  std::printf("%.1f\n", best / 1e9);  // GFLOP/s
  return 0;
}
