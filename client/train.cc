// `trainyard train`, `trainyard train nlu`, `trainyard train core`: Rasa's
// `rasa train` commands, with a progress display driven by training events.

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <filesystem>
#include <iomanip>
#include <mutex>

#include "client/args.h"
#include "client/cli.h"
#include "core/data/importer.h"
#include "core/data/validator.h"
#include "core/training/config_file.h"
#include "core/training/train.h"
#include "core/util/strings.h"
#include "core/util/errors.h"

namespace fs = std::filesystem;

namespace trainyard::client {
namespace {

constexpr const char* kHelp =
    "usage: trainyard train [nlu|core] [options]\n"
    "\n"
    "Trains a model from a Rasa project, as `rasa train` does. Exit status is the result code:\n"
    "0 trained (or, with --dry-run, nothing to retrain), 1 needs retraining / no data / error,\n"
    "8 forced (--dry-run --force), 2 usage.\n"
    "\n"
    "options:\n"
    "  -c, --config CONFIG        the config file (default: config.yml)\n"
    "  -d, --domain DOMAIN        the domain file or directory (default: domain.yml)\n"
    "  --data DATA ...            NLU and story files or directories (default: data)\n"
    "  -u, --nlu NLU              (train nlu) the NLU data (default: data)\n"
    "  -s, --stories STORIES      (train core) the stories (default: data)\n"
    "  --out OUT                  where the model archive goes (default: models)\n"
    "  --fixed-model-name NAME    archive name instead of a generated one\n"
    "  --dry-run                  only report whether training is needed\n"
    "  --force                    retrain every component, ignoring the cache\n"
    "  --persist-nlu-data         store the NLU training data in the model\n"
    "  --augmentation N           story augmentation factor (default 50)\n"
    "  --num-threads N            threads for Sklearn/Mitie components\n"
    "  --finetune [MODEL]         finetune MODEL (default: the newest model in --out)\n"
    "  --epoch-fraction F         epochs fraction when finetuning\n"
    "  (train core) -c A.yml B.yml ... --percentages P ... --runs N: compare configs on fewer stories\n"
    "  --threads N                graph runner threads (default: cores)\n"
    "  --device DEVICE            where models train: cpu, cuda or cuda:N (default: CUDA when present)\n"
    "  --skip-validation          do not validate the project first (as `trainyard data validate`)\n"
    "  --fail-on-validation-warnings  stop when validation finds warnings\n";

// Renders training events as lines with timings.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(std::ostream& out) : out_(out) {}
  void operator()(const graph::TrainingEvent& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    switch (e.kind) {
      case graph::TrainingEvent::Kind::kNodeStarted:
        out_ << e.message << "\n";
        break;
      case graph::TrainingEvent::Kind::kNodeFinished:
      case graph::TrainingEvent::Kind::kNodeRestored:
        out_ << e.message << " (" << std::fixed << std::setprecision(2) << e.seconds << " s)\n";
        break;
      case graph::TrainingEvent::Kind::kProgress:
        out_ << "  " << e.node << ": " << e.progress.step << "/" << e.progress.total;
        for (const auto& [k, v] : e.progress.metrics.items()) out_ << " " << k << "=" << v.dump();
        out_ << "\n";
        break;
      case graph::TrainingEvent::Kind::kWarning:
        out_ << "warning: " << e.node << ": " << e.message << "\n";
        break;
    }
    out_.flush();
  }

 private:
  std::ostream& out_;
  std::mutex mutex_;
};

// Rasa's path fallback: a missing path falls back to the default when that
// exists; otherwise no path (domain and data may be absent).
fs::path ResolvePath(const std::string& given, const std::string& fallback, const std::string& flag, std::ostream& err) {
  std::error_code ec;
  if (fs::exists(given, ec)) return given;
  if (given != fallback && fs::exists(fallback, ec)) {
    err << "warning: The path '" << given << "' does not seem to exist. Using the default value '" << fallback
        << "' instead.\n";
    return fallback;
  }
  err << "warning: The path '" << given << "' does not exist (--" << flag << "); continuing without it.\n";
  return {};
}

// `train core -c A B ...`: trains each config on 100 - p % of the stories for
// each exclusion percentage p, `runs` times, into <out>/run_<r>/<config>__percentage__<p>.tar.gz,
// and writes <out>/num_stories.json (stories used per percentage), as Rasa does.
int RunCoreCompare(training::TrainOptions options, const std::vector<std::string>& configs,
                   const ParsedArgs& parsed, std::ostream& out, std::ostream& err) {
  std::vector<double> percentages = {0, 25, 50, 75};
  int runs = 3;
  try {
    if (parsed.Has("--percentages")) percentages = NumberOptions(parsed, "--percentages", 0, 100);
    if (auto r = NumberOption(parsed, "--runs", 1, true)) runs = static_cast<int>(*r);
  } catch (const std::invalid_argument& e) {
    err << "trainyard train core: " << e.what() << "\n";
    return kExitUsage;
  }
  const fs::path output = options.output;
  try {
    data::ImportOptions import;
    import.config_path = configs.front();
    import.domain_path = options.domain;
    import.data_paths = options.training_files;
    util::Diagnostics ignored;
    const size_t steps = data::Import(import, ignored).stories.steps.size();
    nlohmann::json counts = nlohmann::json::array();
    for (double p : percentages)
      counts.push_back(p <= 0 || p >= 100 ? steps : steps - std::min<size_t>(steps, std::lround(p / 100.0 * steps)));
    for (int run = 1; run <= runs; ++run) {
      for (const std::string& config : configs) {
        for (double p : percentages) {
          training::TrainOptions o = options;
          o.config = config;
          o.exclusion_percentage = p;
          o.output = output / ("run_" + std::to_string(run));
          std::ostringstream name;
          name << fs::path(config).stem().string() << "__percentage__" << p;
          o.fixed_model_name = name.str();
          const training::TrainingResult r = training::TrainCore(o);
          if (!r.model) {
            for (const std::string& m : r.messages) err << m << "\n";
            return kExitFailure;
          }
          out << "Trained " << r.model->string() << "\n";
        }
      }
    }
    fs::create_directories(output);
    std::ofstream(output / "num_stories.json") << counts.dump() << "\n";
    return kExitOk;
  } catch (const util::Error& e) {
    return ReportError(e, err);
  }
}

}  // namespace

int RunTrain(const std::vector<std::string>& all_args, std::ostream& out, std::ostream& err) {
  std::string mode = "full";
  std::vector<std::string> args = all_args;
  if (!args.empty() && (args[0] == "nlu" || args[0] == "core")) {
    mode = args[0];
    args.erase(args.begin());
  }
  const auto parsed = ParseArgs(args,
                                {{{"-c", "--config"}, ArgKind::kValues},
                                 {{"--percentages"}, ArgKind::kValues},
                                 {{"--runs"}, ArgKind::kValue},
                                 {{"-d", "--domain"}, ArgKind::kValue},
                                 {{"--data"}, ArgKind::kValues},
                                 {{"-u", "--nlu"}, ArgKind::kValues},
                                 {{"-s", "--stories"}, ArgKind::kValues},
                                 {{"--out"}, ArgKind::kValue},
                                 {{"--fixed-model-name"}, ArgKind::kValue},
                                 {{"--dry-run"}, ArgKind::kFlag},
                                 {{"--force"}, ArgKind::kFlag},
                                 {{"--persist-nlu-data"}, ArgKind::kFlag},
                                 {{"--augmentation"}, ArgKind::kValue},
                                 {{"--num-threads"}, ArgKind::kValue},
                                 {{"--epoch-fraction"}, ArgKind::kValue},
                                 {{"--threads"}, ArgKind::kValue},
                                 {{"--device"}, ArgKind::kValue},
                                 {{"--finetune"}, ArgKind::kOptionalValue},
                                 {{"--skip-validation"}, ArgKind::kFlag},
                                 {{"--fail-on-validation-warnings"}, ArgKind::kFlag}},
                                "trainyard train", err);
  if (const auto status = HandleUsage(parsed, kHelp, out, err)) return *status;
  training::TrainOptions options;
  const std::vector<std::string> configs = parsed->Values("--config");
  if (configs.size() > 1 && mode != "core") {
    err << "trainyard train: several --config files are only for `train core` (compare mode)\n";
    return kExitUsage;
  }
  if (auto v = parsed->Value("--config")) options.config = *v;
  if (auto v = parsed->Value("--domain")) options.domain = ResolvePath(*v, "domain.yml", "domain", err);
  const char* data_flag = mode == "nlu" ? "--nlu" : mode == "core" ? "--stories" : "--data";
  if (parsed->Has(data_flag)) {
    options.training_files.clear();
    for (const auto& d : parsed->Values(data_flag)) {
      const fs::path resolved = ResolvePath(d, "data", data_flag + 2, err);
      if (!resolved.empty()) options.training_files.push_back(resolved);
    }
  }
  if (auto v = parsed->Value("--out")) options.output = *v;
  options.device = parsed->Value("--device").value_or("auto");
  options.project_fingerprint = WorkingDirectoryFingerprint();
  options.fixed_model_name = parsed->Value("--fixed-model-name");
  options.dry_run = parsed->Has("--dry-run");
  options.force_training = parsed->Has("--force");
  options.persist_nlu_training_data = parsed->Has("--persist-nlu-data");
  // A bare --finetune means "the newest model in --out".
  if (parsed->Has("--finetune")) options.model_to_finetune = parsed->Value("--finetune").value_or(options.output.string());
  try {
    if (auto v = NumberOption(*parsed, "--augmentation", 0, true)) options.augmentation_factor = static_cast<int>(*v);
    if (auto v = NumberOption(*parsed, "--num-threads", 1, true)) options.num_threads = static_cast<int>(*v);
    if (auto v = NumberOption(*parsed, "--epoch-fraction", 0, false, /*above=*/true))
      options.finetuning_epoch_fraction = *v;
    if (auto v = NumberOption(*parsed, "--threads", 1, true)) options.runner_threads = static_cast<size_t>(*v);
  } catch (const std::invalid_argument& e) {
    err << "trainyard train: " << e.what() << "\n";
    return kExitUsage;
  }
  if (configs.size() > 1) return RunCoreCompare(options, configs, *parsed, out, err);
  std::error_code ec;
  if (!fs::is_regular_file(options.config, ec)) {
    err << "The config file '" << options.config.string()
        << "' does not exist. Use '--config' to specify a valid config file.\n";
    return kExitFailure;
  }
  try {
    const data::TrainingType type = mode == "nlu" ? data::TrainingType::kNlu
                                    : mode == "core" ? data::TrainingType::kCore
                                                     : data::TrainingType::kBoth;
    const auto missing = training::MissingMandatoryKeys(options.config, type);
    if (!missing.empty()) {
      err << "The config file '" << options.config.string() << "' is missing mandatory parameters: "
          << util::QuoteJoin(missing) << ". Add missing parameters to config file and try again.\n";
      return kExitFailure;
    }
    if (const std::string warning = training::EnsureAssistantId(options.config); !warning.empty())
      err << "warning: " << warning << "\n";
  } catch (const util::Error& e) {
    return ReportError(e, err);
  }
  // rasa train (3.5+) validates the project first.
  if (mode == "full" && !parsed->Has("--skip-validation")) {
    data::ImportOptions import;
    import.config_path = options.config;
    import.domain_path = options.domain;
    import.data_paths = options.training_files;
    util::Diagnostics findings;
    try {
      data::ValidateProject(data::Import(import, findings), findings);
    } catch (const util::Error& e) {
      return ReportError(e, err);
    }
    for (const util::Diagnostic& d : findings.all()) err << d.ToString() << "\n";
    if (findings.has_errors() || (parsed->Has("--fail-on-validation-warnings") && findings.warning_count() > 0)) {
      err << "Project validation completed with errors.\n";
      return kExitFailure;
    }
  }
  // Ctrl-C (main() routes SIGINT/SIGTERM here) stops between nodes; no archive is written.
  options.cancel = &InterruptToken();
  ProgressPrinter printer(out);
  options.on_event = [&printer](const graph::TrainingEvent& e) { printer(e); };
  std::mutex warn_mutex;
  options.on_warning = [&](const util::Diagnostic& d) {
    std::lock_guard<std::mutex> lock(warn_mutex);
    err << d.ToString() << "\n";
  };
  const auto start = std::chrono::steady_clock::now();
  try {
    const training::TrainingResult result = mode == "nlu"    ? training::TrainNlu(options)
                                            : mode == "core" ? training::TrainCore(options)
                                                             : training::Train(options);
    for (const std::string& m : result.messages) out << m << "\n";
    if (result.dry_run_results) {
      for (const auto& [node, hit] : *result.dry_run_results)
        out << "  " << (hit ? "cached   " : "to train ") << node << "\n";
      return result.code;
    }
    if (!result.model) return kExitFailure;
    out << "Training took " << std::fixed << std::setprecision(2)
        << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s.\n";
    return result.code;
  } catch (const util::Error& e) {
    return ReportError(e, err);
  }
}

}  // namespace trainyard::client
