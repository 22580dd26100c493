#include "core/data/data_files.h"

#include <algorithm>

#include "core/data/domain.h"
#include "core/data/training_data.h"
#include "core/data/yaml.h"
#include "core/util/errors.h"
#include "core/util/fs.h"
#include "core/util/strings.h"

namespace trainyard::data {

unsigned ClassifyDataFile(const std::filesystem::path& path, const std::string& text) {
  if (util::LowerExtension(path) == ".json") {
    Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (root.is_object() && root.contains("rasa_nlu_data")) return kNluFile | kJsonNluFile;
    return 0;
  }
  const yaml::NodePtr root = yaml::Parse(text, path.string());
  if (!root->IsMap()) return 0;
  unsigned kinds = 0;
  for (const auto& [key, value] : root->entries) {
    if (!key->IsScalar()) continue;
    const std::string& k = key->value;
    if (k == "nlu" || k == "responses") kinds |= kNluFile;
    if (k == "stories" || k == "rules") kinds |= kStoryFile;
    if (IsDomainKey(k)) kinds |= kDomainFile;
  }
  if ((kinds & kStoryFile) && util::StartsWith(path.filename().string(), "test_"))
    kinds |= kTestStoryFile;
  return kinds;
}

std::vector<DataFile> FindDataFiles(const std::vector<std::filesystem::path>& paths,
                                    util::Diagnostics& diagnostics) {
  std::vector<std::filesystem::path> files;
  for (const auto& p : paths) {
    for (auto& f : util::ListFilesRecursive(p, {".yml", ".yaml", ".json"}, diagnostics))
      files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  std::vector<DataFile> out;
  for (const auto& f : files) {
    // A file that cannot be read or parsed is reported and the search goes on,
    // so that one run lists the problems of every file.
    try {
      const unsigned kinds = ClassifyDataFile(f, util::ReadFile(f));
      if (kinds) out.push_back({f, kinds});
    } catch (const util::InvalidDataError& e) {
      for (const util::Diagnostic& d : e.details()) diagnostics.Add(d);
    } catch (const util::NotFoundError& e) {
      diagnostics.Error({f.string()}, e.what());
    }
  }
  return out;
}

}  // namespace trainyard::data
