#pragma once

// GraphTrainer (SPEC §5.4): the fingerprint pass, pruning of everything the
// cache can restore, the real run with every result cached, and the events a
// progress display or the service's job log consumes.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/graph/cache.h"
#include "core/graph/component.h"
#include "core/graph/runner.h"
#include "core/graph/schema.h"
#include "core/storage/model_storage.h"

namespace trainyard::graph {

// Structured progress of a training run (SPEC §8.3, suggested events).
struct TrainingEvent {
  enum class Kind { kNodeStarted, kNodeFinished, kNodeRestored, kProgress, kWarning };
  Kind kind = Kind::kNodeStarted;
  std::string node;
  std::string component;
  bool trains = false;   // the node is a target and not an input (it trains something)
  double seconds = 0;    // kNodeFinished / kNodeRestored
  Progress progress;     // kProgress
  std::string message;   // kWarning; and the log line for the others
};

struct TrainerOptions {
  bool force = false;  // run every node, ignoring cached results (results are still cached)
  bool is_finetuning = false;
  size_t threads = 0;
  std::string device = "cpu";  // ExecutionContext::device
  int compute_threads = 0;     // ExecutionContext::compute_threads
  const CancellationToken* cancel = nullptr;
  // Called from worker threads; must be thread-safe.
  std::function<void(const TrainingEvent&)> on_event;
};

struct FingerprintStatus {
  bool is_hit = false;
  std::string output_fingerprint;
};

struct TrainingRun {
  std::map<std::string, Output> outputs;          // every executed or restored node
  std::map<std::string, double> node_seconds;     // wall time per node
  std::vector<std::string> restored;              // nodes restored from the cache
  std::vector<std::string> executed;              // nodes whose component ran
};

class GraphTrainer {
 public:
  GraphTrainer(storage::ModelStorage& storage, TrainingCache& cache) : storage_(storage), cache_(cache) {}

  // Runs input nodes for real and fingerprints every other node; returns the
  // status of each non-input node (§5.4 a). Also what a dry run reports.
  std::map<std::string, FingerprintStatus> FingerprintPass(const GraphSchema& schema,
                                                           const std::map<std::string, Output>& placeholders,
                                                           const TrainerOptions& options,
                                                           std::map<std::string, Output>* input_outputs = nullptr);

  // Trains `schema`'s targets: fingerprint pass, prune, run (or run everything
  // when `options.force`). Every executed node's output is cached.
  TrainingRun Train(const GraphSchema& schema, const std::map<std::string, Output>& placeholders,
                    const TrainerOptions& options);

 private:
  storage::ModelStorage& storage_;
  TrainingCache& cache_;
};

}  // namespace trainyard::graph
