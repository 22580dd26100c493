#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/graph/component.h"
#include "core/util/errors.h"

namespace trainyard::client {

// Exit codes of the `trainyard` command line.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // invalid project / failed command (Rasa uses 1 too)
inline constexpr int kExitUsage = 2;    // unknown command or flag

// Cancelled by main() on SIGINT/SIGTERM; long commands pass it to core.
graph::CancellationToken& InterruptToken();

// The CLI's one mapping of trainyard's errors: prints the error (each
// diagnostic with its file:line:column for invalid data) and returns the exit
// status for it (1, as Rasa's CLI exits on errors).
int ReportError(const util::Error& error, std::ostream& err);

// The project fingerprint of the git checkout the command runs in, as
// `rasa train` records it (training::ProjectFingerprint); none outside one.
std::optional<std::string> WorkingDirectoryFingerprint();

// Runs `trainyard <args...>` writing to `out` / `err`; returns the exit code.
// Never throws. Used by main() and by the CLI tests.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// `trainyard train [nlu|core] ...`
int RunTrain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// `trainyard parse --model M TEXT...`
int RunParse(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunTest(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace trainyard::client

namespace trainyard::v1 {
class JobEvent;
}

namespace trainyard::client {

// One job event as a line of `trainyard watch`'s progress display (nothing
// for a heartbeat).
void RenderJobEvent(const v1::JobEvent& e, std::ostream& out);

// `trainyard submit | watch | jobs | cancel | download` against a server.
int RunRemote(const std::string& command, const std::vector<std::string>& args, std::ostream& out,
              std::ostream& err);

// `trainyard data validate ...`
int RunDataValidate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace trainyard::client
