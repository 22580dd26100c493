#include "core/nlu/nlu_component.h"

#include <fstream>
#include <string_view>

#include "core/util/errors.h"

namespace trainyard::nlu {

graph::Output NluComponent::Run(const std::string& fn, const graph::Inputs& in, const graph::ExecutionContext& c) {
  if (fn == "train") {
    Train(*std::any_cast<NluTrainingDataPtr>(in.at("training_data").value), c);
    c.storage->WriteTo(c.node_name);
    return {graph::Resource{c.node_name}, graph::RandomFingerprint(), c.node_name};
  }
  if (fn == "process_training_data") {
    auto out = std::make_shared<NluTrainingData>(*std::any_cast<NluTrainingDataPtr>(in.at("training_data").value));
    for (NluMessage& m : out->messages) {
      if (c.cancel) c.cancel->ThrowIfCancelled();
      Process(m, true, c);
    }
    return {NluTrainingDataPtr(out), "", std::nullopt};
  }
  if (fn == "process") {
    auto out = std::make_shared<std::vector<NluMessage>>(*std::any_cast<NluMessagesPtr>(in.at("messages").value));
    for (NluMessage& m : *out) Process(m, false, c);
    return {NluMessagesPtr(out), "", std::nullopt};
  }
  throw util::InvalidConfigError(name_ + " has no method '" + fn + "'.");
}

void NluComponent::Train(const NluTrainingData&, const graph::ExecutionContext&) {}

void NluComponent::Process(NluMessage&, bool, const graph::ExecutionContext&) const {}

void WriteJsonResource(const graph::ExecutionContext& c, const std::string& file, const nlohmann::ordered_json& json) {
  std::ofstream out(c.storage->WriteTo(c.node_name) / file);
  out << json.dump();
  if (!out) throw util::Error(util::ErrorCode::kInternal, "Cannot write " + file + " for node '" + c.node_name + "'.");
}

nlohmann::ordered_json ReadJsonResource(const graph::ExecutionContext& c, const std::optional<std::string>& resource,
                                        const std::string& file) {
  if (!resource || !c.storage || !c.storage->Has(*resource)) return nullptr;
  std::ifstream in(c.storage->ReadFrom(*resource) / file);
  if (!in) return nullptr;
  nlohmann::ordered_json json = nlohmann::ordered_json::parse(in, nullptr, false);
  if (json.is_discarded())
    throw util::InvalidDataError({}, "The model's resource '" + *resource + "/" + file + "' is corrupt.");
  return json;
}

std::string FeaturizerName(const nlohmann::ordered_json& alias, const std::string& node_name) {
  if (alias.is_string() && !alias.get<std::string>().empty()) return alias.get<std::string>();
  // The end-to-end copy of a pipeline node (e2e_run_X) goes by the node's name.
  constexpr std::string_view kEndToEnd = "e2e_";
  return node_name.compare(0, kEndToEnd.size(), kEndToEnd) == 0 ? node_name.substr(kEndToEnd.size())
                                                                : node_name;
}

}  // namespace trainyard::nlu
