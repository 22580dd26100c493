#include "core/graph/component.h"

#include <mutex>
#include <random>

#include "core/util/errors.h"
#include "core/graph/registry.h"
#include "core/util/sha256.h"
#include "core/version.h"

namespace trainyard::graph {
namespace {

struct Implementations {
  std::mutex mutex;
  std::map<std::string, ComponentImplementation> by_name;
};

Implementations& Registry() {
  static Implementations registry;
  return registry;
}

}  // namespace

std::string FingerprintJson(const nlohmann::ordered_json& value) {
  // nlohmann::json (not ordered_json) keeps object keys sorted: a canonical form.
  return util::Sha256Hex(nlohmann::json(value).dump());
}

std::string RandomFingerprint() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return util::Sha256Hex(std::to_string(rng()) + "-" + std::to_string(rng()));
}

void CancellationToken::ThrowIfCancelled() const {
  if (cancelled()) throw util::CancelledError("Training was cancelled.");
}

void RegisterImplementation(const std::string& name, ComponentImplementation implementation) {
  std::lock_guard<std::mutex> lock(Registry().mutex);
  Registry().by_name[name] = std::move(implementation);
}

const ComponentImplementation* FindImplementation(const std::string& name) {
  std::lock_guard<std::mutex> lock(Registry().mutex);
  auto it = Registry().by_name.find(name);
  return it == Registry().by_name.end() ? nullptr : &it->second;
}

nlohmann::ordered_json MergeConfig(const nlohmann::ordered_json& defaults, const nlohmann::ordered_json& config) {
  nlohmann::ordered_json out = defaults.is_object() ? defaults : nlohmann::ordered_json::object();
  if (config.is_object())
    for (const auto& [k, v] : config.items()) out[k] = v;
  return out;
}

std::string FingerprintKey(const SchemaNode& node, const nlohmann::ordered_json& merged_config, const Inputs& inputs) {
  const ComponentImplementation* impl = FindImplementation(node.uses);
  nlohmann::ordered_json input_fingerprints = nlohmann::ordered_json::object();
  for (const auto& [param, output] : inputs) input_fingerprints[param] = output.fingerprint;
  return FingerprintJson({{"node_name", ClassPathOf(node.uses)},
                          {"component_implementation", impl ? impl->version : "unknown"},
                          {"config", merged_config},
                          {"inputs", input_fingerprints},
                          {"dependency_versions", Version()}});
}

}  // namespace trainyard::graph
