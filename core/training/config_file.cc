#include "core/training/config_file.h"

#include "core/data/config.h"
#include "core/graph/recipe.h"
#include "core/storage/model_name.h"
#include "core/util/errors.h"
#include "core/util/fs.h"
#include "core/util/strings.h"

namespace fs = std::filesystem;

namespace trainyard::training {
namespace {

constexpr const char* kPlaceholder = "placeholder_default";
constexpr const char* kBlockStart = "# # No configuration for ";

bool IsKeyLine(const std::string& line, const std::string& key) {
  return util::StartsWith(line, key + ":") && (line.size() == key.size() + 1 || line[key.size() + 1] == ' ');
}

std::string Scalar(const nlohmann::ordered_json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::vector<std::string> CommentedYaml(const std::vector<data::ComponentSpec>& specs) {
  std::vector<std::string> lines;
  for (const data::ComponentSpec& s : specs) {
    lines.push_back("#   - name: " + s.name);
    for (const auto& [k, v] : s.params.items()) lines.push_back("#     " + k + ": " + Scalar(v));
  }
  return lines;
}

std::vector<std::string> Block(const std::string& key) {
  const bool pipeline = key == "pipeline";
  std::vector<std::string> lines = {
      std::string(kBlockStart) + (pipeline ? "the NLU pipeline was provided. The following default pipeline was"
                                           : "policies was provided. The following default policies were") +
          " used to train your model.",
      "# # If you'd like to customize it, uncomment and adjust the " + std::string(pipeline ? "pipeline" : "policies") + ".",
      "# # See https://rasa.com/docs/rasa/tuning-your-model for more information."};
  for (std::string& l : CommentedYaml(pipeline ? graph::DefaultPipeline() : graph::DefaultPolicies())) lines.push_back(l);
  return lines;
}

// Keys auto-configuration cares about, as found in the text: missing or null.
std::vector<std::string> KeysToConfigure(const std::string& text, const fs::path& path) {
  util::Diagnostics d;
  const data::ProjectConfig c = data::ParseConfig(text, path, d);
  std::vector<std::string> out;
  if (c.pipeline_is_null) out.push_back("pipeline");
  if (c.policies_is_null) out.push_back("policies");
  return out;
}

}  // namespace

std::string EnsureAssistantId(const fs::path& config_file) {
  util::Diagnostics d;
  const std::string text = util::ReadFile(config_file);
  const data::ProjectConfig config = data::ParseConfig(text, config_file, d);
  if (config.assistant_id && *config.assistant_id != kPlaceholder) return "";
  const std::string id = storage::RandomTimestampedName();
  std::vector<std::string> lines = util::SplitLines(text);
  bool replaced = false;
  for (std::string& line : lines) {
    if (IsKeyLine(line, "assistant_id")) {
      line = "assistant_id: " + id;
      replaced = true;
    }
  }
  if (!replaced) lines.push_back("assistant_id: " + id);
  // The file keeps its line endings (a Windows-written config stays CRLF).
  const std::string eol = text.find("\r\n") != std::string::npos ? "\r\n" : "\n";
  util::WriteFileAtomic(config_file, util::Join(lines, eol) + eol);
  return "The config file '" + config_file.string() + "' is missing a unique value for the 'assistant_id' mandatory "
         "key. Proceeding with generating a random value and overwriting the 'assistant_id' in the config file.";
}

std::vector<std::string> MissingMandatoryKeys(const fs::path& config_file, data::TrainingType type) {
  util::Diagnostics d;
  const data::ProjectConfig config = data::ReadConfig(config_file, d);
  std::vector<std::string> missing;
  if (type != data::TrainingType::kCore && !config.language) missing.push_back("language");
  return missing;
}

std::string WriteAutoConfiguration(const fs::path& config_file, const std::vector<std::string>& keys,
                                   const std::string& original_text) {
  if (keys.empty()) return "";
  std::string current;
  try {
    current = util::ReadFile(config_file);
  } catch (const util::Error&) {
    current.clear();
  }
  if (current.empty() || KeysToConfigure(current, config_file) != KeysToConfigure(original_text, config_file))
    throw util::InvalidConfigError("The configuration file at '" + config_file.string() +
                                   "' has been removed or modified while the automatic configuration was running. "
                                   "The current configuration will therefore not be dumped to the file. If you "
                                   "want your model to use the configuration provided in '" + config_file.string() +
                                   "' you need to re-run training.");
  std::vector<std::string> lines = util::SplitLines(current);
  for (const std::string& key : keys) {
    bool present = false;
    for (const std::string& l : lines) present = present || IsKeyLine(l, key);
    if (!present) lines.push_back(key + ":");
    for (size_t i = 0; i < lines.size(); ++i) {
      if (!IsKeyLine(lines[i], key)) continue;
      // Drop an earlier block directly under the key, then insert the new one.
      size_t end = i + 1;
      // (its header lines start with "# # ", its commented YAML with "#   "; other comments stay).
      if (end < lines.size() && util::StartsWith(lines[end], kBlockStart))
        while (end < lines.size() && (util::StartsWith(lines[end], "# # ") || util::StartsWith(lines[end], "#   ")))
          ++end;
      lines.erase(lines.begin() + i + 1, lines.begin() + end);
      const std::vector<std::string> block = Block(key);
      lines.insert(lines.begin() + i + 1, block.begin(), block.end());
      break;
    }
  }
  util::WriteFileAtomic(config_file, util::Join(lines, "\n") + "\n");
  return "The configuration for " + util::Join(keys, " and ") + " was chosen automatically. It was written into the "
         "config file at '" + config_file.string() + "'.";
}

}  // namespace trainyard::training
