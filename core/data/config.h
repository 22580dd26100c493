#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/data/training_data.h"
#include "core/util/diagnostics.h"

namespace trainyard::data {

// One `pipeline:`, `policies:` or `importers:` item: its `name` and every
// other key as parameters (kept verbatim for the component).
struct ComponentSpec {
  std::string name;
  Json params = Json::object();
  util::SourceLocation location;
};

// config.yml as written (auto-configuration happens in the recipe, later).
struct ProjectConfig {
  std::filesystem::path path;  // empty when no config file was read
  std::optional<std::string> recipe;
  std::optional<std::string> language;
  std::optional<std::string> assistant_id;
  std::optional<std::string> version;
  // A key that is absent differs from `pipeline:` (null) and `pipeline: []`
  // for auto-configuration (SPEC §4.2), so both facts are kept.
  bool has_pipeline_key = false;
  bool pipeline_is_null = true;
  std::vector<ComponentSpec> pipeline;
  bool has_policies_key = false;
  bool policies_is_null = true;
  std::vector<ComponentSpec> policies;
  std::vector<ComponentSpec> importers;
  std::vector<std::string> imports;  // as written, relative to `path`'s folder
  std::vector<util::SourceLocation> import_locations;
  Json extra = Json::object();  // keys trainyard does not interpret, kept for components
  Json raw = Json::object();    // the whole file as JSON (environment variables expanded)
};

// Parses config.yml content. Syntax errors throw util::InvalidDataError;
// schema errors (a pipeline item without `name`, `language: 12`, an unset
// ${VAR}, ...) go to `diagnostics` as errors.
ProjectConfig ParseConfig(const std::string& text, const std::filesystem::path& path,
                          util::Diagnostics& diagnostics);

// Reads and parses a config file; a missing file throws util::NotFoundError.
ProjectConfig ReadConfig(const std::filesystem::path& path, util::Diagnostics& diagnostics);

// Replaces ${NAME} with the environment variable NAME; unset names are listed
// in `missing` and left in place.
std::string ExpandEnvironmentVariables(const std::string& value, std::vector<std::string>& missing);

}  // namespace trainyard::data
