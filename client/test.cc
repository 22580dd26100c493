// `trainyard test [core|nlu]`: Rasa's `rasa test` — evaluate a model on test
// stories (core) and on NLU test data (nlu), or cross-validate a config on NLU
// data (--cross-validation); without a subcommand, both.

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <numeric>
#include <random>
#include <stdlib.h>

#include "client/args.h"
#include "client/cli.h"
#include "core/data/serialize.h"
#include "core/training/core_evaluation.h"
#include "core/training/model.h"
#include "core/training/nlu_evaluation.h"
#include "core/training/train.h"
#include "core/util/errors.h"
#include "core/util/fs.h"

namespace fs = std::filesystem;

namespace trainyard::client {
namespace {

using Json = nlohmann::ordered_json;

// A private directory under the system's temp directory, removed on exit.
class WorkDir {
 public:
  WorkDir() {
    std::string pattern = (fs::temp_directory_path() / "trainyard-cv-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw util::Error(util::ErrorCode::kInternal, "Cannot create a temp directory.");
    path_ = pattern;
  }
  ~WorkDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

constexpr const char* kHelp =
    "usage: trainyard test [core|nlu] [-m MODEL] [-s STORIES ...] [-u NLU ...] [--out DIR]\n"
    "       trainyard test nlu --cross-validation [-c CONFIG] [-f FOLDS] [-u NLU ...] [--out DIR]\n"
    "\n"
    "Evaluates a model as `rasa test` does and writes Rasa's reports to --out. Without a "
    "subcommand,\n"
    "both parts the model has are tested.\n"
    "core: runs each test story turn by turn through the model (user text through the model's NLU\n"
    "where the story gives it) and writes story_report.json, failed_test_stories.yml and\n"
    "stories_with_warnings.yml.\n"
    "nlu: intent_report.json, intent_errors.json, <Extractor>_report.json (token level) and\n"
    "<Extractor>_errors.json, plus entity_span_report.json (exact spans),\n"
    "response_selection_report.json and response_selection_errors.json (models with a\n"
    "ResponseSelector) and nlu_predictions.jsonl (one line per example). Cross-validation writes\n"
    "the same reports for all folds' predictions together.\n"
    "  -m, --model MODEL       a model archive, or a directory (newest archive in it; default: "
    "models)\n"
    "  -s, --stories STORIES   (core) test story files or directories (default: tests)\n"
    "  -u, --nlu NLU           (nlu) the test data: files or directories (default: data)\n"
    "  --out DIR               where the reports go (default: results)\n"
    "  --fail-on-prediction-errors  (core) exit with 1 when a test story fails\n"
    "  --successes             (nlu) also write the correct predictions (*_successes.json)\n"
    "  --no-errors             (nlu) do not write the incorrect predictions (*_errors.json)\n"
    "  --cross-validation      (nlu) train and test on folds of --nlu with --config instead of a "
    "model\n"
    "  -c, --config CONFIG     the config to cross-validate (default: config.yml)\n"
    "  -f, --folds N           number of folds (default: 5)\n"
    "  --device DEVICE         cpu, cuda or cuda:N for the cross-validation trainings (default: "
    "auto)\n";

// --successes / --no-errors: which of Rasa's prediction lists are written.
training::NluReportFiles ReportFiles(const ParsedArgs& args) {
  training::NluReportFiles files;
  files.errors = !args.Has("--no-errors");
  files.successes = args.Has("--successes");
  return files;
}

void PrintSummary(const training::NluEvaluation& e, std::ostream& out) {
  out << std::fixed << std::setprecision(4);
  out << "Intent evaluation: " << e.examples << " examples, accuracy " << e.intent_accuracy << ", weighted F1 "
      << e.intent_report["weighted avg"]["f1-score"].get<double>() << "\n";
  for (const auto& [extractor, report] : e.entity_reports) {
    out << "Entity evaluation (" << extractor << "): token-level micro F1 "
        << report["micro avg"]["f1-score"].get<double>() << ", weighted F1 "
        << report["weighted avg"]["f1-score"].get<double>() << "; exact-span F1 "
        << e.entity_span_reports.at(extractor)["micro avg"]["f1-score"].get<double>() << "\n";
  }
  if (e.response_examples > 0)
    out << "Response selection evaluation: " << e.response_examples << " examples, accuracy " << e.response_accuracy
        << ", weighted F1 " << e.response_report["weighted avg"]["f1-score"].get<double>() << "\n";
}

// Splits the intent examples into `folds` folds, each intent spread evenly.
std::vector<std::vector<const data::Message*>> Folds(const data::TrainingData& data, int folds) {
  std::map<std::string, std::vector<const data::Message*>> by_intent;
  for (const data::Message* m : data.IntentExamples()) by_intent[m->intent].push_back(m);
  std::mt19937_64 rng(42);
  std::vector<std::vector<const data::Message*>> out(static_cast<size_t>(folds));
  size_t next = 0;
  for (auto& [intent, examples] : by_intent) {
    std::shuffle(examples.begin(), examples.end(), rng);
    for (const data::Message* m : examples) out[next++ % out.size()].push_back(m);
  }
  return out;
}

int CrossValidate(const ParsedArgs& args, const std::vector<fs::path>& nlu, const fs::path& out_dir,
                  std::ostream& out, std::ostream& err) {
  int folds = 5;
  try {
    if (auto v = NumberOption(args, "--folds", 2, true)) folds = static_cast<int>(*v);
  } catch (const std::invalid_argument&) {
    folds = 0;  // reported below, as for too few folds
  }
  if (folds < 2) {
    err << "trainyard test nlu: --folds must be a number of at least 2\n";
    return kExitUsage;
  }
  const fs::path config = args.Value("--config").value_or("config.yml");
  if (!fs::is_regular_file(config)) {
    err << "The config file '" << config.string() << "' does not exist. Use '--config' to specify a valid config file.\n";
    return kExitFailure;
  }
  const data::TrainingData all = training::ReadNluTestData(nlu);
  // As the stratified folds Rasa takes from scikit-learn: some intent must
  // have an example for every fold; an intent with fewer is tested in fewer
  // folds, which is worth a warning.
  std::map<std::string, int> counts;
  for (const data::Message* m : all.IntentExamples()) ++counts[m->intent];
  const auto largest = std::max_element(counts.begin(), counts.end(),
                                        [](const auto& a, const auto& b) { return a.second < b.second; });
  if (largest != counts.end() && folds > largest->second) {
    err << "trainyard test nlu: " << folds << " folds are more than any intent has examples (the most are "
        << largest->second << ", of '" << largest->first << "'), so no intent could be tested in every fold, "
        << "which Rasa's stratified folds refuse too. Use --folds " << largest->second << " or fewer.\n";
    return kExitFailure;
  }
  for (const auto& [intent, n] : counts)
    if (n < folds)
      err << "warning: intent '" << intent << "' has " << n << " example" << (n == 1 ? "" : "s") << ", fewer than the "
          << folds << " folds: " << folds - n << " of them test none of it.\n";
  const auto parts = Folds(all, folds);
  WorkDir work;
  training::NluEvaluation combined;
  std::vector<double> accuracies;
  for (int f = 0; f < folds; ++f) {
    data::TrainingData train = all, test;
    train.examples.clear();
    for (int g = 0; g < folds; ++g)
      for (const data::Message* m : parts[static_cast<size_t>(g)]) (g == f ? test : train).examples.push_back(*m);
    const fs::path fold_dir = work.path() / ("fold" + std::to_string(f + 1));
    fs::create_directories(fold_dir);
    util::WriteFileAtomic(fold_dir / "train.yml", data::TrainingDataToYaml(train));
    training::TrainOptions o;
    o.config = config;
    o.domain.clear();
    o.training_files = {fold_dir / "train.yml"};
    o.output = fold_dir / "models";
    o.fixed_model_name = "fold";
    o.device = args.Value("--device").value_or("auto");
    o.cancel = &InterruptToken();
    const training::TrainingResult result = training::TrainNlu(o);
    if (!result.model) {
      err << "trainyard test nlu: training fold " << f + 1 << " produced no model\n";
      return kExitFailure;
    }
    const auto model = training::Model::Load(*result.model);
    const training::NluEvaluation e = training::EvaluateNlu(*model, test);
    accuracies.push_back(e.intent_accuracy);
    out << "fold " << f + 1 << "/" << folds << ": " << e.examples << " test examples, intent accuracy " << std::fixed
        << std::setprecision(4) << e.intent_accuracy << "\n";
    training::Pool(combined, e);
  }
  // The reports of all folds' predictions together, as Rasa writes them.
  const double mean = std::accumulate(accuracies.begin(), accuracies.end(), 0.0) / accuracies.size();
  double var = 0;
  for (double a : accuracies) var += (a - mean) * (a - mean);
  training::ScoreNlu(combined);
  training::WriteNluEvaluation(combined, out_dir, ReportFiles(args));
  PrintSummary(combined, out);
  out << "Intent accuracy over " << folds << " folds: " << std::fixed << std::setprecision(4) << mean << " (+-"
      << std::sqrt(var / accuracies.size()) << ")\nReports written to '" << out_dir.string() << "'.\n";
  return kExitOk;
}

}  // namespace

namespace {

// The paths given with `flag`, or `fallback` alone.
std::vector<fs::path> PathsOf(const ParsedArgs& args, const std::string& flag, const char* fallback) {
  std::vector<fs::path> paths;
  for (const std::string& p : args.Values(flag)) paths.emplace_back(p);
  if (paths.empty()) paths.emplace_back(fallback);
  return paths;
}

// Returns 1 when --fail-on-prediction-errors is given and a story failed.
int TestCore(const training::Model& model, const ParsedArgs& args, const fs::path& out_dir, std::ostream& out) {
  const training::CoreEvaluation e =
      training::EvaluateCore(model, training::ReadTestStories(PathsOf(args, "--stories", "tests")));
  training::WriteCoreEvaluation(e, out_dir);
  out << std::fixed << std::setprecision(4) << "Story evaluation: " << e.correct_stories << " of " << e.stories
      << " stories correct (accuracy " << (e.stories ? static_cast<double>(e.correct_stories) / e.stories : 0.0)
      << ")\nAction evaluation: " << e.correct_actions << " of " << e.actions << " actions correct (accuracy "
      << (e.actions ? static_cast<double>(e.correct_actions) / e.actions : 0.0) << ")\n";
  for (const std::string& name : e.failed_story_names) out << "  failed: " << name << "\n";
  return args.Has("--fail-on-prediction-errors") && !e.failed_story_names.empty() ? 1 : kExitOk;
}

void TestNlu(const training::Model& model, const ParsedArgs& args, const fs::path& out_dir, std::ostream& out) {
  const training::NluEvaluation e =
      training::EvaluateNlu(model, training::ReadNluTestData(PathsOf(args, "--nlu", "data")));
  training::WriteNluEvaluation(e, out_dir, ReportFiles(args));
  PrintSummary(e, out);
}

}  // namespace

int RunTest(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string part;  // "core", "nlu" or "" for both
  if (!args.empty() && (args[0] == "core" || args[0] == "nlu")) part = args[0];
  const auto parsed = ParseArgs({args.begin() + (part.empty() ? 0 : 1), args.end()},
                                {{{"-m", "--model"}, ArgKind::kValue},
                                 {{"-u", "--nlu"}, ArgKind::kValues},
                                 {{"-s", "--stories"}, ArgKind::kValues},
                                 {{"--out"}, ArgKind::kValue},
                                 {{"--fail-on-prediction-errors"}, ArgKind::kFlag},
                                 {{"--successes"}, ArgKind::kFlag},
                                 {{"--no-errors"}, ArgKind::kFlag},
                                 {{"--cross-validation"}, ArgKind::kFlag},
                                 {{"-c", "--config"}, ArgKind::kValue},
                                 {{"-f", "--folds"}, ArgKind::kValue},
                                 {{"--device"}, ArgKind::kValue}},
                                part.empty() ? "trainyard test" : "trainyard test " + part, err);
  if (const auto status = HandleUsage(parsed, kHelp, out, err)) return *status;
  const fs::path out_dir = parsed->Value("--out").value_or("results");
  try {
    if (parsed->Has("--cross-validation")) {
      if (part == "core") {
        err << "trainyard test core: --cross-validation is for NLU data (trainyard test nlu)\n";
        return kExitUsage;
      }
      return CrossValidate(*parsed, PathsOf(*parsed, "--nlu", "data"), out_dir, out, err);
    }
    const auto model = training::Model::Load(training::ResolveModelPath(parsed->Value("--model").value_or("models")));
    const int type = model->metadata().training_type;
    const bool has_core = model->metadata().core_target.has_value() && type != 1;
    const bool has_nlu = type != 2;
    int status = kExitOk;
    if (part == "core" || (part.empty() && has_core)) {
      if (!has_core)
        throw util::InvalidConfigError("This model was trained without dialogue policies; there is nothing to test "
                                       "with stories.");
      status = TestCore(*model, *parsed, out_dir, out);
    }
    if (part == "nlu" || (part.empty() && has_nlu)) TestNlu(*model, *parsed, out_dir, out);
    out << "Reports written to '" << out_dir.string() << "'.\n";
    return status;
  } catch (const util::Error& e) {
    return ReportError(e, err);
  }
}

}  // namespace trainyard::client
