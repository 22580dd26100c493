#pragma once

// The interface every graph component implements (SPEC §8.2), and the
// registry of implementations. Later issues add components by registering
// them here; nothing else in the engine changes.

#include <any>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/graph/schema.h"
#include "core/storage/model_storage.h"
#include "core/util/diagnostics.h"

namespace trainyard::graph {

// What flows along an edge: a value and its fingerprint. Content values
// (training data, domain, ...) are fingerprinted by content; resources by a
// random id minted when created and kept when restored from the cache.
struct Output {
  std::any value;
  // Empty for content outputs: the runner fills in the node's fingerprint key.
  std::string fingerprint;
  // Set when `value` is a resource written to model storage: the cache keeps
  // a copy of that directory.
  std::optional<std::string> resource;
};

// A resource passed between nodes: the name of a directory in model storage.
struct Resource {
  std::string name;
};

// Fingerprint of JSON content: SHA-256 of its canonical form (keys sorted).
std::string FingerprintJson(const nlohmann::ordered_json& value);
// A fresh random fingerprint (for resources and never-cacheable values).
std::string RandomFingerprint();

// Progress a component reports during long work, e.g. once per epoch.
struct Progress {
  int step = 0;
  int total = 0;
  nlohmann::ordered_json metrics = nlohmann::ordered_json::object();  // loss, accuracy, ...
};

// A cooperative cancellation flag. Components check it between batches/steps;
// the runner checks it between nodes. Thread-safe.
class CancellationToken {
 public:
  void Cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }
  // Throws util::CancelledError when cancelled.
  void ThrowIfCancelled() const;

 private:
  std::atomic<bool> cancelled_{false};
};

// Everything a component may use besides its inputs. Valid for one call.
struct ExecutionContext {
  std::string node_name;
  const GraphSchema* schema = nullptr;  // the full graph being run
  storage::ModelStorage* storage = nullptr;
  bool is_finetuning = false;
  const CancellationToken* cancel = nullptr;
  // Where trainable components compute: "cpu", "cuda" or "cuda:N" (a request;
  // libtorch components fall back to the CPU when CUDA is absent).
  std::string device = "cpu";
  // Intra-op threads a component may use (libtorch); 0 = every core.
  int compute_threads = 0;
  std::function<void(const Progress&)> progress;     // may be empty
  std::function<void(const std::string&)> warn;       // may be empty
};

using Inputs = std::map<std::string, Output>;  // parameter name → parent output

// One instance per node execution; built by the node's constructor ("create"
// or "load"), then `Run(fn, inputs)`.
class Component {
 public:
  virtual ~Component() = default;
  // Runs method `fn` ("train", "process", "provide", ...). Throws
  // util::InvalidConfigError for an unknown `fn`.
  virtual Output Run(const std::string& fn, const Inputs& inputs, const ExecutionContext& context) = 0;
};

struct ComponentImplementation {
  // Rasa's default config for the component; node configs override it.
  nlohmann::ordered_json defaults = nlohmann::ordered_json::object();
  // Changes whenever the implementation changes what it computes; part of
  // every fingerprint key, so old cache entries are not reused.
  std::string version = "1";
  // Builds an instance. `config` = defaults merged with the node config;
  // `resource` is where a "load"ed component reads from (none for "create").
  std::function<std::unique_ptr<Component>(const nlohmann::ordered_json& config,
                                           const std::optional<std::string>& resource,
                                           const ExecutionContext& context)>
      make;
  // Refuses options the component cannot train with (util::InvalidConfigError)
  // before anything runs; `config` = defaults merged with the node config. The
  // default.v1 recipe calls it and names where config.yml writes the
  // component. Empty: the component checks its options when it is built.
  std::function<void(const nlohmann::ordered_json& config)> check;
  // Options of Rasa's defaults that are accepted for compatibility but change
  // nothing here, each with why. The default.v1 recipe warns where config.yml
  // gives one a value other than its default (a copied default stays quiet).
  // "option.member" names one member of a mapping option (e.g.
  // dense_dimension.label); a plain number given for the whole option is that
  // member's value too.
  std::map<std::string, std::string> inert;
};

// Registers the implementation of component `name` (a registry name such as
// "WhitespaceTokenizer"). Call from a static initializer of the component's
// .cc or from RegisterBuiltinComponents().
void RegisterImplementation(const std::string& name, ComponentImplementation implementation);
// The implementation of `name`, or nullptr when trainyard cannot run it yet.
const ComponentImplementation* FindImplementation(const std::string& name);

// The cache key of a node execution (SPEC §5.2): the component (by class
// path), its implementation version and trainyard's, the config with defaults,
// and the fingerprints of its inputs. Also the output fingerprint of content
// outputs whose component leaves Output::fingerprint empty.
std::string FingerprintKey(const SchemaNode& node, const nlohmann::ordered_json& merged_config,
                           const Inputs& inputs);

// `defaults` overridden key by key with `config`.
nlohmann::ordered_json MergeConfig(const nlohmann::ordered_json& defaults,
                                   const nlohmann::ordered_json& config);

}  // namespace trainyard::graph
