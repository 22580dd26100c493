#include "core/nlu/keyword_intent_classifier.h"

#include <map>
#include <set>

#include "core/graph/component.h"
#include "core/nlu/message.h"
#include "core/nlu/nlu_component.h"
#include "core/util/errors.h"
#include "core/util/option_reader.h"
#include "core/util/strings.h"

namespace trainyard::nlu {
namespace {

constexpr const char* kFile = "keyword_intent_map.json";

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || (c & 0x80); }

// Does `keyword` occur in `text` delimited by non-word characters (regex \b)?
bool ContainsWord(const std::string& text, const std::string& keyword) {
  if (keyword.empty()) return false;
  for (size_t pos = text.find(keyword); pos != std::string::npos; pos = text.find(keyword, pos + 1)) {
    const bool left = pos == 0 || !IsWordChar(text[pos - 1]) || !IsWordChar(keyword.front());
    const size_t end = pos + keyword.size();
    const bool right = end == text.size() || !IsWordChar(text[end]) || !IsWordChar(keyword.back());
    if (left && right) return true;
  }
  return false;
}

class KeywordIntentClassifier : public NluComponent {
 public:
  KeywordIntentClassifier(const Json& config, const std::optional<std::string>& resource,
                          const graph::ExecutionContext& context)
      : NluComponent("KeywordIntentClassifier"),
        case_sensitive_(util::OptionReader(config, "KeywordIntentClassifier").Flag("case_sensitive", true)) {
    const Json map = ReadJsonResource(context, resource, kFile);
    if (map.is_object())
      for (const auto& [k, v] : map.items()) keywords_[k] = v.get<std::string>();
  }

 protected:
  void Train(const NluTrainingData& data, const graph::ExecutionContext& c) override {
    std::map<std::string, std::string> map;
    std::set<std::string> ambiguous;
    for (const NluMessage& m : data.messages) {
      if (m.data.intent.empty()) continue;
      const std::string key = Norm(m.data.text);
      auto it = map.find(key);
      if (it != map.end() && it->second != m.data.intent) {
        if (c.warn && ambiguous.insert(key).second)
          c.warn("Keyword '" + key + "' is a keyword to trigger intent '" + it->second + "' and '" + m.data.intent +
                 "', remove it from one of them to get a deterministic result.");
        continue;
      }
      map[key] = m.data.intent;
    }
    for (const std::string& k : ambiguous) map.erase(k);
    Json json = Json::object();
    for (const auto& [k, v] : map) json[k] = v;
    WriteJsonResource(c, kFile, json);
  }

  void Process(NluMessage& m, bool training, const graph::ExecutionContext&) const override {
    if (training) return;
    const std::string text = Norm(m.data.text);
    for (const auto& [keyword, intent] : keywords_) {
      if (ContainsWord(text, keyword)) {
        m.intent = {{"name", intent}, {"confidence", 1.0}};
        return;
      }
    }
    if (m.intent.is_null()) m.intent = {{"name", nullptr}, {"confidence", 0.0}};
  }

 private:
  std::string Norm(const std::string& s) const { return case_sensitive_ ? s : util::LowerUtf8(s); }

  bool case_sensitive_;
  std::map<std::string, std::string> keywords_;
};

}  // namespace

void RegisterKeywordIntentClassifier() {
  graph::ComponentImplementation impl;
  impl.defaults = {{"case_sensitive", true}};
  impl.make = [](const Json& config, const std::optional<std::string>& resource, const graph::ExecutionContext& c) {
    return std::make_unique<KeywordIntentClassifier>(config, resource, c);
  };
  impl.check = [](const Json& config) {
    util::OptionReader(config, "KeywordIntentClassifier").Flag("case_sensitive", true);
  };
  graph::RegisterImplementation("KeywordIntentClassifier", impl);
}

}  // namespace trainyard::nlu
