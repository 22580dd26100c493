#pragma once

#include <filesystem>
#include <string>

#include "core/data/training_data.h"
#include "core/util/diagnostics.h"

namespace trainyard::data {

// Reads the `nlu:` and `responses:` sections of a YAML training data file
// (SPEC §7.3): intents with `examples: |` blocks or `{text, metadata}` lists,
// retrieval intents `faq/ask_x`, multi-intents `a+b`, synonyms, regexes,
// lookup tables (inline, or a .txt file named in `examples:`), and entity
// annotations in the examples. Syntax errors throw util::InvalidDataError;
// schema errors go to `diagnostics` as errors; content problems Rasa only
// warns about are warnings and the item is skipped.
TrainingData ParseNluYaml(const std::string& text, const std::filesystem::path& path,
                          util::Diagnostics& diagnostics);

// Reads Rasa's JSON training data format ({"rasa_nlu_data": {...}}).
TrainingData ParseNluJson(const std::string& text, const std::filesystem::path& path,
                          util::Diagnostics& diagnostics);

// Converts a byte offset in `text` into a 1-based line and column.
util::SourceLocation LocationOfOffset(const std::string& text, size_t offset,
                                      const std::string& file);

}  // namespace trainyard::data
