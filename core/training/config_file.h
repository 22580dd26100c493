#pragma once

// What Rasa's training writes back into config.yml (SPEC §1.6, §4.2): a
// generated assistant_id, and the auto-configured pipeline/policies as a
// commented block under their keys, so users see what was used.

#include <filesystem>
#include <string>
#include <vector>

#include "core/data/training_type.h"

namespace trainyard::training {

// When `assistant_id` is missing, null or "placeholder_default", writes
// `assistant_id: <YYYYMMDD-HHMMSS-adjective-noun>` into the file (replacing
// the placeholder line or appending one; other lines and their order stay)
// and returns the warning Rasa prints; otherwise returns "".
std::string EnsureAssistantId(const std::filesystem::path& config_file);

// The mandatory keys (`language` except for CORE training) missing from the
// config file, as Rasa lists them: "'language'". Empty when all are there.
std::vector<std::string> MissingMandatoryKeys(const std::filesystem::path& config_file, data::TrainingType type);

// Rewrites `config_file` for the auto-configured `keys` ("pipeline",
// "policies"): appends missing keys, and under each writes the explanatory
// comment block and the default value as commented YAML, replacing an
// earlier block (idempotent). Returns the info message. Throws
// util::InvalidConfigError when the file vanished or changed meanwhile.
std::string WriteAutoConfiguration(const std::filesystem::path& config_file, const std::vector<std::string>& keys,
                                   const std::string& original_text);

}  // namespace trainyard::training
