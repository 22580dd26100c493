#include "core/nlu/whitespace_tokenizer.h"

#include <locale>
#include <optional>
#include <regex>

#include "core/graph/component.h"
#include "core/util/errors.h"
#include "core/util/option_reader.h"
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

struct TokenPattern::Compiled {
  std::wregex regex;
  bool first_group = false;  // findall gives group 1 when the pattern has exactly one
};

TokenPattern::TokenPattern(const std::string& pattern) {
  auto compiled = std::make_shared<Compiled>();
  std::string rest = pattern;
  auto flags = std::regex::ECMAScript;
  // Python's leading inline flags: (?u) is what Python 3 does anyway.
  while (rest.size() >= 4 && rest.compare(0, 2, "(?") == 0 && rest[3] == ')' &&
         (rest[2] == 'u' || rest[2] == 'i')) {
    if (rest[2] == 'i') flags |= std::regex::icase;
    rest = rest.substr(4);
  }
  try {
    compiled->regex.imbue(std::locale("C.UTF-8"));  // \w and \b for every letter, as Python's
  } catch (const std::runtime_error&) {
  }
  try {
    const std::u32string cps = util::DecodeUtf8(rest);
    compiled->regex.assign(std::wstring(cps.begin(), cps.end()), flags);
  } catch (const std::regex_error& e) {
    throw util::InvalidConfigError("WhitespaceTokenizer: 'token_pattern' " + util::QuoteJoin({pattern}) +
                                   " is not a regular expression trainyard can compile (" + e.what() + ").");
  }
  compiled->first_group = compiled->regex.mark_count() == 1;
  compiled_ = std::move(compiled);
}

std::vector<Token> TokenPattern::Apply(const std::vector<Token>& tokens) const {
  static_assert(sizeof(wchar_t) == sizeof(char32_t), "code points are matched as wchar_t");
  std::vector<Token> out;
  for (const Token& token : tokens) {
    const std::u32string cps = util::DecodeUtf8(token.text);
    const std::wstring text(cps.begin(), cps.end());
    std::vector<std::wstring> found;
    for (std::wsregex_iterator it(text.begin(), text.end(), compiled_->regex), end; it != end; ++it) {
      std::wstring piece = (*it)[compiled_->first_group ? 1 : 0].str();
      if (!piece.empty()) found.push_back(std::move(piece));
    }
    if (found.empty()) {
      out.push_back(token);
      continue;
    }
    // Each piece's place: its first occurrence after the previous piece, as Rasa finds it.
    size_t from = 0;
    for (const std::wstring& piece : found) {
      const size_t at = text.find(piece, from);
      if (at == std::wstring::npos) continue;
      from = at + piece.size();
      const std::u32string part(piece.begin(), piece.end());
      out.push_back({util::EncodeUtf8(part), token.start + static_cast<int>(at),
                     token.start + static_cast<int>(from)});
    }
  }
  return out;
}

namespace {

using Json = nlohmann::ordered_json;

struct TokenizerOptions {
  std::optional<TokenPattern> pattern;
  std::optional<std::string>
      intent_split;  // intent_tokenization_flag: the symbol that splits intents
};

// The options: a token pattern or none ("" as none, as Rasa's), and whether
// intents are split into parts (Rasa's intent_tokenization_flag and
// intent_split_symbol), which DIET then describes its labels by.
TokenizerOptions ReadTokenizerOptions(const Json& config) {
  const util::OptionReader r(config, "WhitespaceTokenizer");
  TokenizerOptions o;
  const bool split = r.Flag("intent_tokenization_flag", false);
  const std::optional<std::string> symbol = r.Text("intent_split_symbol", "text");
  if (split) {
    if (!symbol || symbol->empty())
      throw util::InvalidConfigError(
          "WhitespaceTokenizer: intent_tokenization_flag is on, so intent_split_symbol must be a "
          "non-empty "
          "text.");
    o.intent_split = *symbol;
  }
  const std::optional<std::string> pattern = r.Text("token_pattern", "a regular expression");
  if (pattern && !pattern->empty()) o.pattern = TokenPattern(*pattern);
  return o;
}

// An intent's parts, as Rasa's tokenizers split it: at every symbol, empty
// parts dropped (`a__b` -> a, b); the whole name when nothing is left.
std::vector<std::string> SplitIntent(const std::string& intent, const std::string& symbol) {
  std::vector<std::string> parts;
  size_t at = 0;
  while (at <= intent.size()) {
    const size_t next = std::min(intent.find(symbol, at), intent.size());
    if (next > at) parts.push_back(intent.substr(at, next - at));
    at = next + symbol.size();
  }
  if (parts.empty() && !intent.empty()) parts.push_back(intent);
  return parts;
}

class WhitespaceTokenizer : public graph::Component {
 public:
  explicit WhitespaceTokenizer(const Json& config) : options_(ReadTokenizerOptions(config)) {}

  graph::Output Run(const std::string& fn, const graph::Inputs& in, const graph::ExecutionContext&) override {
    if (fn == "process_training_data") {
      auto data = std::any_cast<NluTrainingDataPtr>(in.at("training_data").value);
      auto out = std::make_shared<NluTrainingData>(*data);
      for (NluMessage& m : out->messages) {
        m.tokens = Tokenize(m.data.text);
        if (options_.intent_split && !m.data.intent.empty())
          m.intent_tokens = SplitIntent(m.data.intent, *options_.intent_split);
      }
      return {NluTrainingDataPtr(out), "", {}};
    }
    if (fn == "process") {
      auto messages = std::any_cast<NluMessagesPtr>(in.at("messages").value);
      auto out = std::make_shared<std::vector<NluMessage>>(*messages);
      for (NluMessage& m : *out) m.tokens = Tokenize(m.data.text);
      return {NluMessagesPtr(out), "", {}};
    }
    throw util::InvalidConfigError("WhitespaceTokenizer has no method '" + fn + "'.");
  }

 private:
  std::vector<Token> Tokenize(const std::string& text) const {
    std::vector<Token> tokens = WhitespaceTokenize(text);
    return options_.pattern ? options_.pattern->Apply(tokens) : tokens;
  }

  TokenizerOptions options_;
};

}  // namespace

void RegisterWhitespaceTokenizer() {
  graph::ComponentImplementation impl;
  impl.defaults = {{"intent_tokenization_flag", false}, {"intent_split_symbol", "_"}, {"token_pattern", nullptr}};
  impl.version = "3";  // 2: token_pattern; 3: intents split (intent_tokenization_flag)
  impl.make = [](const Json& config, const std::optional<std::string>&, const graph::ExecutionContext&) {
    return std::make_unique<WhitespaceTokenizer>(config);
  };
  impl.check = [](const Json& config) { ReadTokenizerOptions(config); };
  graph::RegisterImplementation("WhitespaceTokenizer", impl);
}

}  // namespace trainyard::nlu
