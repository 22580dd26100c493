// Import-time benchmark: data::Import on real Rasa projects from
// ../shared/corpus (config.yml, domain.yml, data/), in ms per import.

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "core/data/importer.h"
#include "core/util/diagnostics.h"
#include "core/util/errors.h"

namespace {

namespace fs = std::filesystem;
namespace data = trainyard::data;
namespace util = trainyard::util;

fs::path CorpusDir(const std::string& project) {
  return fs::path(TRAINYARD_SHARED_DIR) / "corpus" / project;
}

void BM_Import(benchmark::State& state, const std::string& project) {
  const fs::path dir = CorpusDir(project);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    state.SkipWithError(("corpus not found: " + dir.string()).c_str());
    return;
  }
  data::ImportOptions options;
  options.config_path = dir / "config.yml";
  options.domain_path = dir / "domain.yml";
  options.data_paths = {dir / "data"};

  size_t examples = 0, story_files = 0, nlu_files = 0;
  for (auto _ : state) {
    util::Diagnostics diagnostics;
    try {
      data::Project project_data = data::Import(options, diagnostics);
      examples = project_data.intent_example_count();
      nlu_files = project_data.nlu_files.size();
      story_files = project_data.story_files.size();
      benchmark::DoNotOptimize(project_data);
    } catch (const util::Error& e) {
      state.SkipWithError(("import failed: " + std::string(e.what())).c_str());
      return;
    }
  }
  state.counters["examples"] = static_cast<double>(examples);
  state.counters["nlu_files"] = static_cast<double>(nlu_files);
  state.counters["story_files"] = static_cast<double>(story_files);
}

BENCHMARK_CAPTURE(BM_Import, sara, std::string("sara"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Import, initbot, std::string("initbot"))->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
