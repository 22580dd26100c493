#pragma once

// Runs a graph: every node as soon as its inputs are ready, independent nodes
// in parallel on a thread pool (SPEC §8.1). The set of executed nodes and the
// inputs each receives are exactly those of Rasa's sequential runner; only
// the order among independent nodes differs.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/graph/component.h"
#include "core/graph/schema.h"
#include "core/storage/model_storage.h"

namespace trainyard::graph {

// Observes node executions. Called from worker threads, possibly for several
// nodes at once: implementations must be thread-safe.
class Hook {
 public:
  virtual ~Hook() = default;
  virtual void BeforeNode(const std::string& /*node*/, const SchemaNode& /*schema_node*/,
                          const nlohmann::ordered_json& /*config*/, const Inputs& /*inputs*/) {}
  // `seconds` is the node's wall time; `intercepted` when the output came from
  // the runner's interceptor (a cached or precomputed value) instead of the component.
  virtual void AfterNode(const std::string& /*node*/, const SchemaNode& /*schema_node*/,
                         const nlohmann::ordered_json& /*config*/, const Inputs& /*inputs*/,
                         const Output& /*output*/, double /*seconds*/, bool /*intercepted*/) {}
};

struct RunnerOptions {
  // Worker threads; 0 = the number of cores.
  size_t threads = 0;
  const CancellationToken* cancel = nullptr;
  bool is_finetuning = false;
  std::string device = "cpu";  // ExecutionContext::device
  int compute_threads = 0;     // ExecutionContext::compute_threads
  // Called with (node, progress) by components reporting progress.
  std::function<void(const std::string&, const Progress&)> progress;
  std::function<void(const std::string&, const std::string&)> warn;  // (node, message)
  // When set and it returns a value for a node, that value is the node's
  // output and its component is not run (cached or precomputed results, the
  // fingerprint pass).
  std::function<std::optional<Output>(const std::string&, const SchemaNode&, const Inputs&)> intercept;
};

// Runs `targets` (default: the schema's targets) and all their parents.
// `placeholders` provides __importer__ / __message__ / __tracker__.
// Returns the outputs of every executed node. A failing node stops the run:
// nodes not yet started are skipped, running ones finish, and the error is
// rethrown (util::Error subclasses unchanged; others wrapped with the node
// name). util::CancelledError when cancelled.
std::map<std::string, Output> RunGraph(const GraphSchema& schema, storage::ModelStorage& storage,
                                       const std::map<std::string, Output>& placeholders,
                                       const RunnerOptions& options, const std::vector<Hook*>& hooks,
                                       std::vector<std::string> targets = {});

}  // namespace trainyard::graph
