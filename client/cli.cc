#include "client/cli.h"

#include <exception>
#include <filesystem>

#include "core/training/train.h"
#include "core/version.h"

namespace trainyard::client {
namespace {

constexpr const char* kUsage =
    "usage: trainyard <command> [options]\n"
    "\n"
    "commands:\n"
    "  train           train a model (train nlu / train core for one half), as `rasa train`\n"
    "  parse           print the NLU parse of a text with a trained model\n"
    "  test nlu        evaluate a model on NLU test data (or cross-validate a config), as `rasa test nlu`\n"
    "  data validate   check a Rasa project (config, domain, data) for errors and warnings\n"
    "  submit          send the project to a trainyard-server (--watch to follow it)\n"
    "  watch JOB       follow a job's progress (resumes after a dropped connection)\n"
    "  jobs            list your jobs\n"
    "  cancel JOB      stop a job\n"
    "  download JOB    fetch a job's model\n"
    "  health          ask a server whether it is serving\n"
    "  --version       print trainyard's version\n"
    "\n"
    "Run 'trainyard <command> --help' for a command's options.\n";

}  // namespace

graph::CancellationToken& InterruptToken() {
  static graph::CancellationToken token;
  return token;
}

std::optional<std::string> WorkingDirectoryFingerprint() {
  std::error_code error;
  const std::filesystem::path cwd = std::filesystem::current_path(error);
  if (error) return std::nullopt;
  return training::ProjectFingerprint(cwd);
}

int ReportError(const util::Error& error, std::ostream& err) {
  if (const auto* invalid = dynamic_cast<const util::InvalidDataError*>(&error)) {
    for (const util::Diagnostic& d : invalid->details()) err << d.ToString() << "\n";
  } else {
    err << "error: " << error.what() << "\n";
  }
  return kExitFailure;
}

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  try {
    if (args.empty() || args[0] == "-h" || args[0] == "--help") {
      (args.empty() ? err : out) << kUsage;
      return args.empty() ? kExitUsage : kExitOk;
    }
    if (args[0] == "--version") {
      out << "trainyard " << Version() << "\n";
      return kExitOk;
    }
    if (args[0] == "train") return RunTrain({args.begin() + 1, args.end()}, out, err);
    if (args[0] == "submit" || args[0] == "watch" || args[0] == "jobs" || args[0] == "cancel" ||
        args[0] == "download" || args[0] == "health")
      return RunRemote(args[0], {args.begin() + 1, args.end()}, out, err);
    if (args[0] == "parse") return RunParse({args.begin() + 1, args.end()}, out, err);
    if (args[0] == "test") return RunTest({args.begin() + 1, args.end()}, out, err);
    if (args[0] == "data" && args.size() >= 2 && args[1] == "validate")
      return RunDataValidate({args.begin() + 2, args.end()}, out, err);
    err << "trainyard: unknown command '" << args[0] << (args.size() > 1 ? " " + args[1] : "")
        << "'\n\n" << kUsage;
    return kExitUsage;
  } catch (const std::exception& e) {
    err << "trainyard: internal error: " << e.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace trainyard::client
