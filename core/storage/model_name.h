#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace trainyard::storage {

// The archive file name Rasa would choose (SPEC §1.9): a fixed name gets
// ".tar.gz" appended unless it already ends with it; otherwise
// "<prefix>YYYYMMDD-HHMMSS-<adjective>-<noun>.tar.gz" in local time, prefix
// "nlu-" for NLU, "core-" for CORE training, none otherwise.
std::string ModelFileName(int training_type, const std::optional<std::string>& fixed_name,
                          std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// "YYYYMMDD-HHMMSS-<adjective>-<noun>", also used for generated assistant ids.
std::string RandomTimestampedName(std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace trainyard::storage
