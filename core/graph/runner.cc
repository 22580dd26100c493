#include "core/graph/runner.h"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "core/util/cpus.h"
#include "core/util/errors.h"
#include "core/util/strings.h"

namespace trainyard::graph {
namespace {

// Shared state of one run. All members after `mutex` are guarded by it.
struct RunState {
  const GraphSchema& schema;
  storage::ModelStorage& storage;
  const RunnerOptions& options;
  const std::vector<Hook*>& hooks;

  std::mutex mutex;
  std::condition_variable done;
  std::map<std::string, Output> outputs;
  std::map<std::string, size_t> waiting;                 // node → parents not yet finished
  std::map<std::string, std::vector<std::string>> children;
  size_t remaining = 0;
  size_t running = 0;
  std::exception_ptr error;
};

Output Execute(RunState& s, const std::string& name, const Inputs& inputs) {
  const SchemaNode& node = s.schema.at(name);
  if (s.options.cancel) s.options.cancel->ThrowIfCancelled();
  const ComponentImplementation* impl = FindImplementation(node.uses);
  const nlohmann::ordered_json config = MergeConfig(impl ? impl->defaults : nlohmann::ordered_json::object(), node.config);
  for (Hook* h : s.hooks) h->BeforeNode(name, node, config, inputs);
  const auto start = std::chrono::steady_clock::now();
  std::optional<Output> out;
  const bool intercepted = s.options.intercept && (out = s.options.intercept(name, node, inputs)).has_value();
  if (!intercepted) {
    if (!impl)
      throw util::InvalidConfigError("trainyard cannot run the component '" + node.uses + "' (node '" + name +
                                     "') yet.");
    ExecutionContext context;
    context.node_name = name;
    context.schema = &s.schema;
    context.storage = &s.storage;
    context.is_finetuning = s.options.is_finetuning;
    context.cancel = s.options.cancel;
    context.device = s.options.device;
    context.compute_threads = s.options.compute_threads;
    if (s.options.progress) context.progress = [&s, name](const Progress& p) { s.options.progress(name, p); };
    if (s.options.warn) context.warn = [&s, name](const std::string& m) { s.options.warn(name, m); };
    // A lazy node's resource: from its `resource` input, else its schema's.
    std::optional<std::string> resource = node.resource;
    if (auto it = inputs.find("resource"); it != inputs.end() && it->second.resource) resource = it->second.resource;
    // A "load"ed node without one reads the resource named after itself (finetuning
    // unpacks the old model's resources under the same node names).
    if (!resource && node.constructor_name == "load" && s.storage.Has(name)) resource = name;
    std::unique_ptr<Component> component;
    try {
      component = impl->make(config, resource, context);
    } catch (const util::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw util::Error(util::ErrorCode::kInternal, "Error initializing graph component for node '" + name +
                                                        "': " + util::WithoutBacktrace(e.what()));
    }
    try {
      out = component->Run(node.fn, inputs, context);
    } catch (const util::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw util::Error(util::ErrorCode::kInternal, "Error running graph component for node '" + name +
                                                        "': " + util::WithoutBacktrace(e.what()));
    }
  }
  // Content outputs are fingerprinted by what produced them: the node's key.
  if (out->fingerprint.empty()) out->fingerprint = FingerprintKey(node, config, inputs);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (Hook* h : s.hooks) h->AfterNode(name, node, config, inputs, *out, seconds, intercepted);
  return std::move(*out);
}

void Schedule(RunState& s, boost::asio::thread_pool& pool, const std::string& name);

// Runs `name` on a worker, then schedules the children it unblocks.
void RunNode(RunState& s, boost::asio::thread_pool& pool, const std::string& name) {
  Inputs inputs;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    for (const auto& [param, parent] : s.schema.at(name).needs) inputs[param] = s.outputs.at(parent);
  }
  std::exception_ptr error;
  Output out;
  try {
    out = Execute(s, name, inputs);
  } catch (...) {
    error = std::current_exception();
  }
  std::vector<std::string> ready;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    --s.running;
    --s.remaining;
    if (error && !s.error) s.error = error;
    if (!error) {
      s.outputs[name] = std::move(out);
      if (!s.error)
        for (const std::string& child : s.children[name])
          if (--s.waiting[child] == 0) ready.push_back(child);
    }
    s.running += ready.size();
  }
  for (const std::string& child : ready) Schedule(s, pool, child);
  std::lock_guard<std::mutex> lock(s.mutex);
  s.done.notify_all();
}

void Schedule(RunState& s, boost::asio::thread_pool& pool, const std::string& name) {
  boost::asio::post(pool, [&s, &pool, name] { RunNode(s, pool, name); });
}

}  // namespace

std::map<std::string, Output> RunGraph(const GraphSchema& full, storage::ModelStorage& storage,
                                       const std::map<std::string, Output>& placeholders,
                                       const RunnerOptions& options, const std::vector<Hook*>& hooks,
                                       std::vector<std::string> targets) {
  if (targets.empty()) targets = full.TargetNames();
  const GraphSchema schema = full.Minimal(targets);
  for (const auto& [name, value] : placeholders)
    if (schema.Has(name))
      throw util::Error(util::ErrorCode::kInternal,
                        "Input value '" + name + "' clashes with a node name. Make sure that there is no "
                        "node named like an input.");
  RunState s{schema, storage, options, hooks, {}, {}, {}, {}, {}, 0, 0, nullptr};
  for (const auto& [name, value] : placeholders) s.outputs[name] = value;
  std::vector<std::string> roots;
  for (const auto& [name, node] : schema.nodes()) {
    size_t pending = 0;
    for (const auto& [param, parent] : node.needs) {
      if (IsPlaceholder(parent)) {
        if (!placeholders.count(parent))
          throw util::Error(util::ErrorCode::kInternal, "Node '" + name + "' needs the input '" + parent +
                                                            "', which was not given.");
        continue;
      }
      ++pending;
      s.children[parent].push_back(name);
    }
    s.waiting[name] = pending;
    if (pending == 0) roots.push_back(name);
  }
  s.remaining = schema.size();
  const size_t threads = options.threads ? options.threads : util::AvailableCores();
  boost::asio::thread_pool pool(threads);
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.running = roots.size();
  }
  for (const std::string& name : roots) Schedule(s, pool, name);
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    // Done when everything ran, or after an error once running nodes finished.
    s.done.wait(lock, [&] { return s.remaining == 0 || (s.error && s.running == 0); });
  }
  pool.join();
  if (s.error) std::rethrow_exception(s.error);
  for (const auto& [name, value] : placeholders) s.outputs.erase(name);
  return std::move(s.outputs);
}

}  // namespace trainyard::graph
