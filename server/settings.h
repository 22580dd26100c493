#pragma once
// trainyard-server settings: a YAML file, TRAINYARD_* environment variables
// and command-line flags, later ones winning.

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace trainyard::server {

// Reads a settings file: one mapping of setting names (`state_dir` or
// `state-dir`) to scalar values. Throws util::InvalidDataError naming file,
// line and column for syntax errors, a document that is not a mapping,
// unknown names (`known` holds them with dashes) and non-scalar values.
std::map<std::string, std::string> ReadSettingsFile(const std::filesystem::path& file, const std::set<std::string>& known);

// The effective value of setting `name` (with dashes, e.g. "state-dir"):
// the flag if given, else TRAINYARD_STATE_DIR from `env`, else the file's.
std::optional<std::string> ResolveSetting(const std::string& name, const std::optional<std::string>& flag,
                                          const std::function<const char*(const char*)>& env,
                                          const std::map<std::string, std::string>& file);

// The GPUs to train on, one worker each: "auto" (every NVIDIA GPU listed
// under `driver_dir`, normally /proc/driver/nvidia/gpus), "none", or
// indices "0,2". Returns {"cuda:0", ...}. Throws util::Error
// (INVALID_ARGUMENT) for anything else.
std::vector<std::string> ParseGpus(const std::string& spec,
                                   const std::filesystem::path& driver_dir = "/proc/driver/nvidia/gpus");

// The GPUs of ParseGpus that libtorch can train on, given how many CUDA
// devices it sees: "auto" keeps those it sees and says in *warning what it
// left out (the driver lists GPUs, but a CPU-only libtorch sees none: the
// jobs then share the CPU cores); indices it cannot see throw util::Error
// (INVALID_ARGUMENT), as a job given one would train on the CPU unannounced.
std::vector<std::string> UsableGpus(const std::string& spec, const std::vector<std::string>& listed,
                                    int cuda_devices, std::string* warning);

}  // namespace trainyard::server
