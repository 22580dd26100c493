#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/util/diagnostics.h"

namespace trainyard::data {

// What a training data file holds, from its top-level keys (SPEC §7.1). A
// file can be several kinds at once.
enum FileKind : unsigned {
  kNluFile = 1u << 0,         // `nlu` or `responses`, or Rasa JSON (`rasa_nlu_data`)
  kStoryFile = 1u << 1,       // `stories` or `rules`
  kDomainFile = 1u << 2,      // intents, entities, slots, responses, actions, forms, ...
  kTestStoryFile = 1u << 3,   // a story file whose name starts with `test_`
  kJsonNluFile = 1u << 4,     // Rasa's JSON format
};

struct DataFile {
  std::filesystem::path path;
  unsigned kinds = 0;
};

// Walks `paths` (files or directories, recursively, symlinks followed
// safely) and classifies every .yml/.yaml/.json file, as Rasa finds its
// training files. Unreadable or unparsable files throw util::InvalidDataError
// (a syntax error aborts, as in Rasa); files of no known kind are skipped.
std::vector<DataFile> FindDataFiles(const std::vector<std::filesystem::path>& paths,
                                    util::Diagnostics& diagnostics);

// Classifies one file's content.
unsigned ClassifyDataFile(const std::filesystem::path& path, const std::string& text);

}  // namespace trainyard::data
