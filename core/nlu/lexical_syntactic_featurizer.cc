#include <map>
#include <set>

#include "core/nlu/components.h"
#include "core/nlu/nlu_component.h"
#include "core/util/errors.h"
#include "core/util/strings.h"

namespace trainyard::nlu {
namespace {

using Json = nlohmann::ordered_json;
constexpr const char* kFile = "feature_to_idx.json";

std::string Substr(const std::string& token, int n, bool prefix) {
  const std::u32string cps = util::DecodeUtf8(token);
  const size_t len = std::min(cps.size(), static_cast<size_t>(n));
  return util::EncodeUtf8(prefix ? std::u32string_view(cps).substr(0, len)
                                 : std::u32string_view(cps).substr(cps.size() - len));
}

// The value of feature `name` for tokens[i], as Rasa renders it.
std::string FeatureValue(const std::string& name, const std::vector<Token>& tokens, size_t i) {
  const std::string& t = tokens[i].text;
  if (name == "BOS") return i == 0 ? "True" : "False";
  if (name == "EOS") return i + 1 == tokens.size() ? "True" : "False";
  const util::TextCase c = util::CaseOf(t);
  auto b = [](bool v) { return std::string(v ? "True" : "False"); };
  if (name == "low") return b(c.has_lower && !c.has_upper);
  if (name == "upper") return b(c.has_upper && !c.has_lower);
  if (name == "title") return b(c.title);
  if (name == "digit") return b(c.digits);
  if (name.rfind("prefix", 0) == 0) return Substr(t, std::stoi(name.substr(6)), true);
  if (name.rfind("suffix", 0) == 0) return Substr(t, std::stoi(name.substr(6)), false);
  throw util::InvalidConfigError("LexicalSyntacticFeaturizer: unknown feature '" + name +
                                 "' (pos and pos2 need spaCy, which trainyard does not use).");
}

class LexicalSyntacticFeaturizer : public NluComponent {
 public:
  LexicalSyntacticFeaturizer(const Json& config, const std::optional<std::string>& resource,
                             const graph::ExecutionContext& c)
      : NluComponent("LexicalSyntacticFeaturizer"), alias_(config.value("alias", Json())) {
    if (!config["features"].is_array())
      throw util::InvalidConfigError("LexicalSyntacticFeaturizer: 'features' must be a list of lists.");
    for (const Json& window : config["features"]) {
      std::vector<std::string> names;
      for (const Json& n : window) {
        names.push_back(n.get<std::string>());
        if (names.back() != "BOS" && names.back() != "EOS") FeatureValue(names.back(), {{"x", 0, 1}}, 0);  // validate
      }
      windows_.push_back(std::move(names));
    }
    const Json json = ReadJsonResource(c, resource, kFile);
    if (json.is_object())
      for (const auto& [k, v] : json.items()) index_[k] = v.get<int32_t>();
  }

 protected:
  void Train(const NluTrainingData& data, const graph::ExecutionContext& c) override {
    std::set<std::string> keys;
    for (const NluMessage& m : data.messages)
      for (size_t i = 0; i < m.tokens.size(); ++i)
        for (std::string& key : Keys(m.tokens, i)) keys.insert(std::move(key));
    Json json = Json::object();
    int32_t next = 0;
    for (const std::string& k : keys) json[k] = next++;
    WriteJsonResource(c, kFile, json);
  }

  void Process(NluMessage& m, bool, const graph::ExecutionContext& c) const override {
    if (index_.empty() || m.tokens.empty()) return;
    Features seq{
        FeatureType::kSequence, "text", c.node_name, {}, FeaturizerName(alias_, c.node_name)};
    seq.matrix.cols = static_cast<int>(index_.size());
    for (size_t i = 0; i < m.tokens.size(); ++i) {
      std::vector<std::pair<int32_t, float>> row;
      for (const std::string& key : Keys(m.tokens, i))
        if (auto it = index_.find(key); it != index_.end()) row.emplace_back(it->second, 1.0f);
      seq.matrix.AddRow(std::move(row));
    }
    m.features.push_back(std::move(seq));
  }

 private:
  // "offset|feature|value" for each feature of each window position around token i.
  std::vector<std::string> Keys(const std::vector<Token>& tokens, size_t i) const {
    std::vector<std::string> keys;
    const int half = static_cast<int>(windows_.size()) / 2;
    for (size_t w = 0; w < windows_.size(); ++w) {
      const int offset = static_cast<int>(w) - half;
      const long j = static_cast<long>(i) + offset;
      if (j < 0 || j >= static_cast<long>(tokens.size())) continue;
      for (const std::string& name : windows_[w])
        keys.push_back(std::to_string(offset) + "|" + name + "|" + FeatureValue(name, tokens, static_cast<size_t>(j)));
    }
    return keys;
  }

  Json alias_;  // config.yml's `alias` (Features::name)
  std::vector<std::vector<std::string>> windows_;
  std::map<std::string, int32_t> index_;
};

}  // namespace

void RegisterLexicalSyntacticFeaturizer() {
  RegisterNluComponent<LexicalSyntacticFeaturizer>(
      "LexicalSyntacticFeaturizer",
      {{"features", Json::array({Json::array({"low", "title", "upper"}),
                                 Json::array({"BOS", "EOS", "low", "upper", "title", "digit"}),
                                 Json::array({"low", "title", "upper"})})}});
}

}  // namespace trainyard::nlu
