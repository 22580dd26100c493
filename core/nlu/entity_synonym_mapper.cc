#include <map>

#include "core/nlu/components.h"
#include "core/nlu/nlu_component.h"
#include "core/util/strings.h"

namespace trainyard::nlu {
namespace {

using Json = nlohmann::ordered_json;
constexpr const char* kFile = "synonyms.json";

// Maps extracted entity values to their synonym values (case-insensitive on
// the text), learned from `synonym:` items and from annotations whose value
// differs from their text.
class EntitySynonymMapper : public NluComponent {
 public:
  EntitySynonymMapper(const Json&, const std::optional<std::string>& resource, const graph::ExecutionContext& c)
      : NluComponent("EntitySynonymMapper") {
    const Json json = ReadJsonResource(c, resource, kFile);
    if (json.is_object())
      for (const auto& [k, v] : json.items()) synonyms_[k] = v.get<std::string>();
  }

 protected:
  void Train(const NluTrainingData& data, const graph::ExecutionContext& c) override {
    std::map<std::string, std::string> synonyms;
    auto add = [&](const std::string& original, const std::string& replacement) {
      if (original == replacement) return;
      const std::string key = util::LowerUtf8(original);
      auto it = synonyms.find(key);
      if (it != synonyms.end() && it->second != replacement && c.warn)
        c.warn("Found conflicting synonym definitions for '" + key + "'. Overwriting target '" + it->second +
               "' with '" + replacement + "'. Check your training data and remove conflicting synonym definitions "
               "to prevent this from happening.");
      synonyms[key] = replacement;
    };
    for (const auto& [text, value] : data.data.synonyms) add(text, value);
    for (const NluMessage& m : data.messages) {
      const std::u32string text = util::DecodeUtf8(m.data.text);
      for (const data::EntityAnnotation& e : m.data.entities) {
        if (e.value.is_null() || e.start < 0 || e.end > static_cast<int>(text.size()) || e.start > e.end) continue;
        const std::string value = e.value.is_string() ? e.value.get<std::string>() : e.value.dump();
        add(util::EncodeUtf8(std::u32string_view(text).substr(e.start, e.end - e.start)), value);
      }
    }
    Json json = Json::object();
    for (const auto& [k, v] : synonyms) json[k] = v;
    WriteJsonResource(c, kFile, json);
  }

  void Process(NluMessage& m, bool training, const graph::ExecutionContext&) const override {
    if (training) return;
    for (Json& entity : m.entities) {
      const Json& value = entity["value"];
      const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
      auto it = synonyms_.find(util::LowerUtf8(text));
      if (it == synonyms_.end()) continue;
      entity["value"] = it->second;
      if (!entity.contains("processors")) entity["processors"] = Json::array();
      entity["processors"].push_back("EntitySynonymMapper");
    }
  }

 private:
  std::map<std::string, std::string> synonyms_;
};

}  // namespace

void RegisterEntitySynonymMapper() { RegisterNluComponent<EntitySynonymMapper>("EntitySynonymMapper", Json::object()); }

}  // namespace trainyard::nlu
