#pragma once

// Device and thread choice for libtorch components. libtorch-free header.

#include <cstdint>
#include <string>

namespace trainyard::ml {

// The device to compute on for a request "cpu", "cuda", "cuda:N" or "auto"/""
// (CUDA when present, else the CPU). A CUDA request without CUDA falls back to
// "cpu" and sets *fell_back. Throws util::InvalidConfigError for other text.
std::string ResolveDevice(const std::string& requested, bool* fell_back = nullptr);

// True when libtorch sees a CUDA device.
bool CudaAvailable();

// How many CUDA devices libtorch sees (0 with a CPU-only libtorch).
int CudaDeviceCount();

// Sets libtorch's intra-op threads: `threads` > 0, else every core.
void SetComputeThreads(int threads);

// How many threads at::parallel_for gives this library's own loops (dropout,
// LazyAdam, sparse gradients) over `n` items: 1 when the library was built
// without OpenMP, whatever libtorch's thread count.
int OwnLoopThreads(int64_t n);

}  // namespace trainyard::ml
