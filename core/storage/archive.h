#pragma once

// The model archive (SPEC §6.2): a gzip tar with `metadata.json` and
// `components/<resource>/...` at its root — the layout Rasa 3.x writes, so
// users inspect our archives with familiar names.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/storage/model_storage.h"

namespace trainyard::storage {

using Json = nlohmann::ordered_json;

struct ModelMetadata {
  Json domain = Json::object();
  std::string trained_at;       // UTC, ISO-8601 without zone
  std::string model_id;         // 32 hex characters
  std::optional<std::string> assistant_id;
  std::string producer_version;  // written as "trainyard_version" and "rasa_open_source_version"
  Json train_schema = Json::object();   // GraphSchema::ToJson()
  Json predict_schema = Json::object();
  int training_type = 3;        // 1 NLU, 2 CORE, 3 BOTH, 4 END_TO_END
  std::optional<std::string> project_fingerprint;
  std::optional<std::string> core_target;
  std::string nlu_target = "run_RegexMessageHandler";
  std::optional<std::string> language;
  std::string device = "cpu";
  Json node_durations = Json::object();  // node → seconds
  Json cache_hits = Json::array();       // nodes restored from the cache

  Json ToJson() const;
  // Throws util::InvalidDataError naming the missing or malformed field.
  static ModelMetadata FromJson(const Json& json);
};

// A new random model id (UUID4 as 32 hex characters).
std::string NewModelId();
// Now, UTC, "YYYY-MM-DDTHH:MM:SS.ffffff".
std::string UtcTimestamp();

// Packs `storage` and `metadata` into `archive` atomically: written under a
// temp name in the same directory, then renamed; parent directories are
// created. On failure nothing is left under either name.
void WriteArchive(const ModelStorage& storage, const ModelMetadata& metadata,
                  const std::filesystem::path& archive);

// Unpacks `archive` into `directory` (which must be empty or missing) and
// returns its metadata. Refuses, with util::InvalidDataError: a file that is
// not a gzip tar, a truncated or corrupt one, one without metadata.json, a
// Rasa 2 archive (fingerprint.json), entries escaping the directory (absolute
// paths, "..", links) and archives from an incompatible producer version.
ModelMetadata UnpackArchive(const std::filesystem::path& archive, const std::filesystem::path& directory);

// A project (config, domain, data files) as a .tar.gz, for uploads: entries
// are (relative path, content).
void WriteProjectArchive(const std::vector<std::pair<std::string, std::string>>& files,
                         const std::filesystem::path& archive);
// Unpacks an uploaded project into `directory`: regular files and
// directories only, every path inside `directory`, at most `max_files` files
// and `max_bytes` bytes. Throws util::InvalidDataError otherwise.
void UnpackProjectArchive(const std::filesystem::path& archive, const std::filesystem::path& directory,
                          size_t max_files, size_t max_bytes);

// Reads only metadata.json from an archive.
ModelMetadata ReadArchiveMetadata(const std::filesystem::path& archive);

}  // namespace trainyard::storage
