#pragma once

#include <filesystem>
#include <string>

#include "core/data/story.h"
#include "core/util/diagnostics.h"

namespace trainyard::data {

// Reads the `stories:` and `rules:` of a YAML file's content. Syntax errors
// throw util::InvalidDataError; schema errors (an unknown step kind, `bot:` in a
// rule, a wrong type) go to `diagnostics` as errors; content problems Rasa
// only warns about (empty names, no steps, a leading '/' on an intent) are
// warnings and the item is skipped or repaired as Rasa does. `is_test_file`
// keeps full retrieval intents (`faq/ask_name`) as written.
StoryData ParseStories(const std::string& text, const std::filesystem::path& path,
                       util::Diagnostics& diagnostics, bool is_test_file = false);

}  // namespace trainyard::data
