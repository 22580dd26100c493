#include "core/nlu/whitespace_tokenizer.h"

#include "core/graph/component.h"
#include "core/util/errors.h"
#include "core/util/strings.h"

namespace trainyard::nlu {
namespace {

bool IsSpace(char32_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == 0xA0 || c == 0x3000; }
bool IsDigit(char32_t c) { return c >= '0' && c <= '9'; }
// \w plus '#', '@', '&' (Rasa keeps those). Non-ASCII letters count as word
// characters; emoji and other symbols above U+2000 do not.
bool IsKept(char32_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_' || c == '#' || c == '@' || c == '&')
    return true;
  if (c < 0x80) return false;
  if (c >= 0x2000 && c < 0x3000) return false;   // punctuation, symbols, arrows
  if (c >= 0x1F000) return false;                // emoji
  if (c == 0xFFFD) return false;
  return true;
}
bool IsUrlChar(char32_t c) {
  static const std::u32string kUrl = U"._~:/?#[]()@!$&*+,;=-";
  return kUrl.find(c) != std::u32string::npos;
}

}  // namespace

std::vector<Token> WhitespaceTokenize(const std::string& text) {
  const std::u32string cps = util::DecodeUtf8(text);
  const size_t n = cps.size();
  std::vector<bool> drop(n, false);
  for (size_t i = 0; i < n;) {
    if (IsKept(cps[i]) || IsSpace(cps[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < n && !IsKept(cps[j]) && !IsSpace(cps[j])) ++j;
    const bool at_end = j == n || IsSpace(cps[j]);
    const bool at_start = i == 0 || IsSpace(cps[i - 1]);
    const bool between = i > 0 && !IsDigit(cps[i - 1]) && !IsSpace(cps[i - 1]) && j < n && !IsDigit(cps[j]) &&
                         !IsSpace(cps[j]);
    if (at_end || (at_start && j < n && !IsDigit(cps[j]))) {
      for (size_t k = i; k < j; ++k) drop[k] = true;
    } else if (between) {
      bool all_url = true;
      for (size_t k = i; k < j; ++k) all_url = all_url && IsUrlChar(cps[k]);
      if (!all_url)
        for (size_t k = i; k < j; ++k) drop[k] = true;
    }
    i = j;
  }
  std::vector<Token> tokens;
  for (size_t i = 0; i < n;) {
    if (drop[i] || IsSpace(cps[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < n && !drop[j] && !IsSpace(cps[j])) ++j;
    tokens.push_back({util::EncodeUtf8(std::u32string_view(cps).substr(i, j - i)), static_cast<int>(i), static_cast<int>(j)});
    i = j;
  }
  if (tokens.empty() && n > 0) tokens.push_back({text, 0, static_cast<int>(n)});
  return tokens;
}

namespace {

class WhitespaceTokenizer : public graph::Component {
 public:
  graph::Output Run(const std::string& fn, const graph::Inputs& in, const graph::ExecutionContext&) override {
    if (fn == "process_training_data") {
      auto data = std::any_cast<NluTrainingDataPtr>(in.at("training_data").value);
      auto out = std::make_shared<NluTrainingData>(*data);
      for (NluMessage& m : out->messages) m.tokens = WhitespaceTokenize(m.data.text);
      return {NluTrainingDataPtr(out), "", {}};
    }
    if (fn == "process") {
      auto messages = std::any_cast<NluMessagesPtr>(in.at("messages").value);
      auto out = std::make_shared<std::vector<NluMessage>>(*messages);
      for (NluMessage& m : *out) m.tokens = WhitespaceTokenize(m.data.text);
      return {NluMessagesPtr(out), "", {}};
    }
    throw util::InvalidConfigError("WhitespaceTokenizer has no method '" + fn + "'.");
  }
};

}  // namespace

void RegisterWhitespaceTokenizer() {
  graph::ComponentImplementation impl;
  impl.defaults = {{"intent_tokenization_flag", false}, {"intent_split_symbol", "_"}, {"token_pattern", nullptr}};
  impl.version = "1";
  impl.make = [](const Json&, const std::optional<std::string>&, const graph::ExecutionContext&) {
    return std::make_unique<WhitespaceTokenizer>();
  };
  graph::RegisterImplementation("WhitespaceTokenizer", impl);
}

}  // namespace trainyard::nlu
