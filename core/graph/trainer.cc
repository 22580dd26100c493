#include "core/graph/trainer.h"

#include <mutex>
#include <set>

#include "core/graph/registry.h"
#include "core/util/errors.h"

namespace trainyard::graph {
namespace {

using Json = nlohmann::ordered_json;

std::string ComponentName(const SchemaNode& node) { return node.uses; }

bool Trains(const SchemaNode& node) { return node.is_target && !node.is_input; }

// Emits Rasa's log lines as events and caches every executed node's output.
class TrainingHook : public Hook {
 public:
  TrainingHook(TrainingCache& cache, storage::ModelStorage& storage, const TrainerOptions& options,
               const std::set<std::string>& restored)
      : cache_(cache), storage_(storage), options_(options), restored_(restored) {}

  void BeforeNode(const std::string& node, const SchemaNode& s, const Json&, const Inputs&) override {
    if (!options_.on_event || !Trains(s) || restored_.count(node)) return;
    TrainingEvent e;
    e.kind = TrainingEvent::Kind::kNodeStarted;
    e.node = node;
    e.component = ComponentName(s);
    e.trains = true;
    e.message = "Starting to train component '" + e.component + "'.";
    options_.on_event(e);
  }

  void AfterNode(const std::string& node, const SchemaNode& s, const Json& config, const Inputs& inputs,
                 const Output& output, double seconds, bool intercepted) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      run.node_seconds[node] = seconds;
      (intercepted ? (restored_.count(node) ? run.restored : inputs_) : run.executed).push_back(node);
    }
    if (!intercepted) {
      const std::string key = FingerprintKey(s, config, inputs);
      std::filesystem::path dir;
      if (output.resource && storage_.Has(*output.resource)) dir = storage_.ReadFrom(*output.resource);
      cache_.CacheOutput(key, output.fingerprint, dir.empty() ? nullptr : &dir);
    }
    if (!options_.on_event || !Trains(s)) return;
    TrainingEvent e;
    e.node = node;
    e.component = ComponentName(s);
    e.trains = true;
    e.seconds = seconds;
    if (restored_.count(node)) {
      e.kind = TrainingEvent::Kind::kNodeRestored;
      e.message = "Restored component '" + e.component + "' from cache.";
    } else {
      e.kind = TrainingEvent::Kind::kNodeFinished;
      e.message = "Finished training component '" + e.component + "'.";
    }
    options_.on_event(e);
  }

  TrainingRun run;

 private:
  TrainingCache& cache_;
  storage::ModelStorage& storage_;
  const TrainerOptions& options_;
  const std::set<std::string>& restored_;
  std::mutex mutex_;
  std::vector<std::string> inputs_;
};

RunnerOptions MakeRunnerOptions(const TrainerOptions& options) {
  RunnerOptions r;
  r.threads = options.threads;
  r.device = options.device;
  r.compute_threads = options.compute_threads;
  r.cancel = options.cancel;
  r.is_finetuning = options.is_finetuning;
  if (options.on_event) {
    r.progress = [&options](const std::string& node, const Progress& p) {
      TrainingEvent e;
      e.kind = TrainingEvent::Kind::kProgress;
      e.node = node;
      e.progress = p;
      options.on_event(e);
    };
    r.warn = [&options](const std::string& node, const std::string& message) {
      TrainingEvent e;
      e.kind = TrainingEvent::Kind::kWarning;
      e.node = node;
      e.message = message;
      options.on_event(e);
    };
  }
  return r;
}

}  // namespace

std::map<std::string, FingerprintStatus> GraphTrainer::FingerprintPass(
    const GraphSchema& schema, const std::map<std::string, Output>& placeholders, const TrainerOptions& options,
    std::map<std::string, Output>* input_outputs) {
  GraphSchema all = schema;
  std::vector<std::string> targets;
  for (const auto& [name, node] : all.nodes()) targets.push_back(name);
  std::mutex mutex;
  std::map<std::string, FingerprintStatus> statuses;
  RunnerOptions r = MakeRunnerOptions(options);
  r.intercept = [&](const std::string& name, const SchemaNode& node, const Inputs& inputs) -> std::optional<Output> {
    if (node.is_input) return std::nullopt;  // inputs run for real (validation, domain.yml, ...)
    const ComponentImplementation* impl = FindImplementation(node.uses);
    const Json config = MergeConfig(impl ? impl->defaults : Json::object(), node.config);
    const auto cached = cache_.GetCachedOutputFingerprint(FingerprintKey(node, config, inputs));
    FingerprintStatus status{cached.has_value(), cached ? *cached : RandomFingerprint()};
    {
      std::lock_guard<std::mutex> lock(mutex);
      statuses[name] = status;
    }
    // A miss gets a fresh fingerprint, so every descendant misses too.
    return Output{std::any(), status.output_fingerprint, std::nullopt};
  };
  auto outputs = RunGraph(all, storage_, placeholders, r, {}, targets);
  if (input_outputs)
    for (auto& [name, out] : outputs)
      if (all.at(name).is_input) (*input_outputs)[name] = std::move(out);
  return statuses;
}

TrainingRun GraphTrainer::Train(const GraphSchema& schema, const std::map<std::string, Output>& placeholders,
                                const TrainerOptions& options) {
  GraphSchema pruned = schema;
  std::map<std::string, Output> precomputed;  // input nodes' outputs from the fingerprint pass
  std::map<std::string, std::pair<std::filesystem::path, std::string>> restorable;  // node → (dir, fp)
  std::set<std::string> restored;
  if (!options.force) {
    std::map<std::string, Output> inputs;
    const auto statuses = FingerprintPass(schema, placeholders, options, &inputs);
    std::set<std::string> visited;
    std::vector<std::string> todo = schema.TargetNames();
    while (!todo.empty()) {
      const std::string name = todo.back();
      todo.pop_back();
      if (!visited.insert(name).second) continue;
      SchemaNode& node = pruned.at(name);
      if (node.is_input) {
        precomputed[name] = inputs.at(name);
        node.needs.clear();
        continue;
      }
      const auto it = statuses.find(name);
      if (it != statuses.end() && it->second.is_hit) {
        if (auto dir = cache_.GetCachedResult(it->second.output_fingerprint)) {
          restorable[name] = {*dir, it->second.output_fingerprint};
          restored.insert(name);
          node.needs.clear();
          continue;
        }
      }
      for (const auto& need : node.needs)
        if (!IsPlaceholder(need.second)) todo.push_back(need.second);
    }
  }
  TrainingHook hook(cache_, storage_, options, restored);
  RunnerOptions r = MakeRunnerOptions(options);
  r.intercept = [&](const std::string& name, const SchemaNode&, const Inputs&) -> std::optional<Output> {
    if (auto it = precomputed.find(name); it != precomputed.end()) return it->second;
    if (auto it = restorable.find(name); it != restorable.end()) {
      // The cached resource is copied under this run's node name and keeps
      // its fingerprint, so children's keys stay the same.
      storage_.CopyIn(name, it->second.first);
      return Output{Resource{name}, it->second.second, name};
    }
    return std::nullopt;
  };
  hook.run.outputs = RunGraph(pruned, storage_, placeholders, r, {&hook});
  return std::move(hook.run);
}

}  // namespace trainyard::graph
