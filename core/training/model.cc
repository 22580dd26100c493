#include "core/training/model.h"

#include "core/graph/runner.h"
#include "core/nlu/message.h"
#include "core/training/components.h"
#include "core/util/errors.h"
#include "core/util/strings.h"

namespace fs = std::filesystem;

namespace trainyard::training {

fs::path ResolveModelPath(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    if (!fs::exists(path, ec)) throw util::NotFoundError("No model found at '" + path.string() + "'.");
    return path;
  }
  fs::path newest;
  fs::file_time_type newest_time{};
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (!util::EndsWith(entry.path().string(), ".tar.gz") || !entry.is_regular_file(ec)) continue;
    const auto t = entry.last_write_time(ec);
    if (newest.empty() || t > newest_time) {
      newest = entry.path();
      newest_time = t;
    }
  }
  if (newest.empty()) throw util::NotFoundError("No model found in the directory '" + path.string() + "'.");
  return newest;
}

std::unique_ptr<Model> Model::Load(const fs::path& archive) {
  RegisterBuiltinComponents();
  auto storage = storage::ModelStorage::CreateTemporary();
  storage::ModelMetadata metadata = storage::UnpackArchive(archive, storage->root());
  graph::GraphSchema predict = graph::GraphSchema::FromJson(metadata.predict_schema);
  const graph::GraphSchema needed = predict.Minimal({metadata.nlu_target});
  for (const auto& [name, node] : needed.nodes())
    if (!graph::FindImplementation(node.uses))
      throw util::InvalidConfigError("The model '" + archive.string() + "' uses the component '" + node.uses +
                                     "', which this trainyard version cannot run.");
  return std::unique_ptr<Model>(new Model(std::move(storage), std::move(metadata), std::move(predict)));
}

nlohmann::ordered_json Model::Parse(const std::string& text) const {
  nlu::NluMessage message;
  message.data.text = text;
  auto messages = std::make_shared<const std::vector<nlu::NluMessage>>(std::vector<nlu::NluMessage>{message});
  graph::RunnerOptions options;
  options.threads = 1;
  const auto outputs = graph::RunGraph(
      predict_, *storage_,
      {{graph::kMessagePlaceholder, graph::Output{nlu::NluMessagesPtr(messages), graph::RandomFingerprint(), {}}}},
      options, {}, {metadata_.nlu_target});
  const auto& result = std::any_cast<const nlu::NluMessagesPtr&>(outputs.at(metadata_.nlu_target).value);
  return nlu::ParseResult(result->front());
}

}  // namespace trainyard::training
