// `trainyard parse --model M "text"`: runs a model's NLU predict graph and
// prints Rasa's parse JSON.

#include "client/args.h"
#include "client/cli.h"
#include "core/training/model.h"
#include "core/util/errors.h"
#include "core/util/strings.h"

namespace trainyard::client {

int RunParse(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  constexpr const char* kHelp =
      "usage: trainyard parse [-m MODEL] TEXT ...\n\n"
      "Prints the NLU parse of each TEXT as JSON, one line each.\n"
      "  -m, --model MODEL   a model archive, or a directory (newest archive in it; default: models)\n";
  const auto parsed = ParseArgs(args, {{{"-m", "--model"}, ArgKind::kValue}}, "trainyard parse", err, true);
  if (const auto status = HandleUsage(parsed, kHelp, out, err)) return *status;
  if (parsed->positional.empty()) {
    err << "trainyard parse: give the text to parse\n\n" << kHelp;
    return kExitUsage;
  }
  try {
    const auto model = training::Model::Load(training::ResolveModelPath(parsed->Value("--model").value_or("models")));
    for (const std::string& text : parsed->positional) out << model->Parse(text).dump() << "\n";
    return kExitOk;
  } catch (const util::Error& e) {
    return ReportError(e, err);
  }
}

}  // namespace trainyard::client
