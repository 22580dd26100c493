#pragma once

// The common shape of NLU components: `train` over the training data
// (writing a resource), `process_training_data` and `process` applying the
// same per-message step to training data or to messages being parsed.

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/graph/component.h"
#include "core/nlu/message.h"

namespace trainyard::nlu {

class NluComponent : public graph::Component {
 public:
  graph::Output Run(const std::string& fn, const graph::Inputs& inputs, const graph::ExecutionContext& c) override;

 protected:
  explicit NluComponent(std::string name) : name_(std::move(name)) {}
  // Learns from the training data and persists into c.storage->WriteTo(c.node_name).
  virtual void Train(const NluTrainingData& data, const graph::ExecutionContext& c);
  // The per-message step (featurize, classify, extract, ...); `training` is
  // true for process_training_data.
  virtual void Process(NluMessage& message, bool training, const graph::ExecutionContext& c) const;

  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Registers component T, constructed as T(config, resource, context);
// `version` changes whenever its training output does (cache key).
template <typename T>
void RegisterNluComponent(const std::string& name, nlohmann::ordered_json defaults,
                          const std::string& version = "1",
                          std::function<void(const nlohmann::ordered_json&)> check = {},
                          std::map<std::string, std::string> inert = {}) {
  graph::ComponentImplementation impl;
  impl.defaults = std::move(defaults);
  impl.version = version;
  impl.check = std::move(check);
  impl.inert = std::move(inert);
  impl.make = [](const nlohmann::ordered_json& config, const std::optional<std::string>& resource,
                 const graph::ExecutionContext& c) { return std::make_unique<T>(config, resource, c); };
  graph::RegisterImplementation(name, impl);
}

// A featurizer's name (Features::name): `alias`, the value config.yml gives
// the featurizer's `alias` (null when none), if it is a non-empty text, else
// the node's name (for the end-to-end copy "e2e_run_X" of a pipeline node,
// the pipeline node's "run_X": TED's `featurizers` names it so).
std::string FeaturizerName(const nlohmann::ordered_json& alias, const std::string& node_name);

// Resource files as JSON.
void WriteJsonResource(const graph::ExecutionContext& c, const std::string& file, const nlohmann::ordered_json& json);
// The JSON in `file` of `resource`, or null when there is no such resource or file.
nlohmann::ordered_json ReadJsonResource(const graph::ExecutionContext& c, const std::optional<std::string>& resource,
                                        const std::string& file);

}  // namespace trainyard::nlu
