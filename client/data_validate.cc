// `trainyard data validate`: Rasa's `rasa data validate`, run from a project folder.

#include <cstdlib>
#include <filesystem>
#include <set>

#include "client/args.h"
#include "client/cli.h"
#include "core/data/importer.h"
#include "core/data/serialize.h"
#include "core/data/story_graph.h"
#include "core/data/training_type.h"
#include "core/data/validator.h"
#include "core/policy/story_conflicts.h"
#include "core/util/errors.h"

namespace fs = std::filesystem;

namespace trainyard::client {
namespace {

constexpr const char* kHelp =
    "usage: trainyard data validate [-c CONFIG] [-d DOMAIN] [--data DATA [DATA ...]]\n"
    "                               [--max-history N] [--fail-on-warnings]\n"
    "\n"
    "Checks a Rasa project for inconsistencies and mistakes, as `rasa data validate` does.\n"
    "\n"
    "options:\n"
    "  -c, --config CONFIG   the config file (default: config.yml)\n"
    "  -d, --domain DOMAIN   the domain file or directory (default: domain.yml)\n"
    "  --data DATA ...       files or directories with NLU and story data (default: data)\n"
    "  --max-history N       the dialogue states the story structure check compares (default: the\n"
    "                        whole conversation): stories reaching the same states but continuing\n"
    "                        with different actions are reported as conflicts, with their turns\n"
    "  --fail-on-warnings    exit with 1 if there are warnings too\n"
    "\n"
    "Exit status: 0 valid, 1 errors (or warnings with --fail-on-warnings), 2 usage.\n";

struct Options {
  data::ImportOptions import;
  bool fail_on_warnings = false;
  int max_history = 0;  // 0: the whole conversation
};

// Parses argv; returns false (after printing why) on a usage error.
bool ParseOptions(const std::vector<std::string>& args, Options& options, std::ostream& err, bool& help) {
  const auto parsed = ParseArgs(args,
                                {{{"-c", "--config"}, ArgKind::kValue},
                                 {{"-d", "--domain"}, ArgKind::kValue},
                                 {{"--data"}, ArgKind::kValues},
                                 {{"--max-history"}, ArgKind::kValue},
                                 {{"--fail-on-warnings"}, ArgKind::kFlag}},
                                "trainyard data validate", err);
  if (!parsed) {
    err << "\n" << kHelp;
    return false;
  }
  help = parsed->Has("--help");
  if (auto v = parsed->Value("--config")) options.import.config_path = *v;
  if (auto v = parsed->Value("--domain")) options.import.domain_path = *v;
  if (parsed->Has("--data")) {
    options.import.data_paths.clear();
    for (const std::string& d : parsed->Values("--data")) options.import.data_paths.push_back(d);
  }
  options.fail_on_warnings = parsed->Has("--fail-on-warnings");
  if (auto v = parsed->Value("--max-history")) {
    char* end = nullptr;
    const long n = std::strtol(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || n < 1 || n > 1000) {
      err << "trainyard data validate: --max-history must be a whole number from 1 to 1000, not '" << *v << "'\n";
      return false;
    }
    options.max_history = static_cast<int>(n);
  }
  return true;
}

void PrintDiagnostics(const std::vector<util::Diagnostic>& items, std::ostream& out) {
  for (const util::Diagnostic& d : items) out << d.ToString() << "\n";
}

void PrintSummary(const data::Project& p, std::ostream& out) {
  const data::TrainingPlan plan = data::PlanTraining(p);
  size_t slots = p.domain.slots.size();
  out << "Project summary:\n"
      << "  intents:        " << p.domain.intents.size() << " in the domain, "
      << p.nlu.Intents().size() << " in NLU data\n"
      << "  examples:       " << p.intent_example_count() << "\n"
      << "  entities:       " << p.domain.entities.size() << " in the domain, "
      << p.nlu.EntityAnnotationCount() << " annotations in NLU data\n"
      << "  slots:          " << slots << "\n"
      << "  responses:      " << p.domain.responses.size() << "\n"
      << "  stories:        " << p.stories.story_count << "\n"
      << "  rules:          " << p.stories.rule_count << "\n"
      << "  training type:  "
      << (plan.has_training_data ? data::TrainingTypeName(plan.type) : "none (no training data)")
      << "\n";
}

}  // namespace

int RunDataValidate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Options options;
  bool help = false;
  if (!ParseOptions(args, options, err, help)) return kExitUsage;
  if (help) {
    out << kHelp;
    return kExitOk;
  }
  util::Diagnostics diagnostics;
  data::Project project;
  try {
    project = data::Import(options.import, diagnostics);
  } catch (const util::InvalidDataError& e) {
    PrintDiagnostics(e.details(), out);
    out << "Project validation completed with errors: " << diagnostics.error_count() << " error(s), "
        << diagnostics.warning_count() << " warning(s).\n";
    return kExitFailure;
  } catch (const util::Error& e) {
    return ReportError(e, out);
  }
  data::ValidateProject(project, diagnostics);
  if (!project.stories.empty() && !diagnostics.has_errors()) {
    util::Diagnostics ignored;  // checkpoint warnings were reported by the import
    const data::StoryGraph graph = data::StoryGraph::Build(project.stories, ignored);
    for (util::Diagnostic& d :
         policy::FindStoryConflicts(graph, data::DomainToJson(project.domain), options.max_history))
      diagnostics.Add(std::move(d));
  }
  PrintDiagnostics(diagnostics.all(), out);
  PrintSummary(project, out);
  const bool failed = diagnostics.has_errors() || (options.fail_on_warnings && diagnostics.warning_count() > 0);
  if (failed) {
    out << "Project validation completed with errors: " << diagnostics.error_count() << " error(s), "
        << diagnostics.warning_count() << " warning(s).\n";
    return kExitFailure;
  }
  out << "Project is valid: " << diagnostics.warning_count() << " warning(s).\n";
  return kExitOk;
}

}  // namespace trainyard::client
