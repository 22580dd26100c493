#pragma once

// Device and thread choice for libtorch components. libtorch-free header.

#include <string>

namespace trainyard::ml {

// The device to compute on for a request "cpu", "cuda", "cuda:N" or "auto"/""
// (CUDA when present, else the CPU). A CUDA request without CUDA falls back to
// "cpu" and sets *fell_back. Throws util::InvalidConfigError for other text.
std::string ResolveDevice(const std::string& requested, bool* fell_back = nullptr);

// True when libtorch sees a CUDA device.
bool CudaAvailable();

// Sets libtorch's intra-op threads: `threads` > 0, else every core.
void SetComputeThreads(int threads);

}  // namespace trainyard::ml
