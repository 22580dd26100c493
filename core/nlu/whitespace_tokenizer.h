#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/nlu/message.h"

namespace trainyard::nlu {

// Rasa's WhitespaceTokenizer rules: punctuation at the edges of words is
// dropped (but kept inside numbers, e-mail addresses and URLs), then the text
// is split on white space; a text of nothing but punctuation (":)") is one
// token. Offsets are code points into `text`.
std::vector<Token> WhitespaceTokenize(const std::string& text);

// Rasa's `token_pattern` option of its tokenizers: each token becomes the
// matches of a Python regular expression in it (the first group's text when
// the pattern has one group, as Python's findall); a token with no match
// stays whole. The Python syntax understood is ECMAScript's plus leading
// inline flags ((?u) is the default, (?i) ignores case); \w and \b know
// Unicode letters. Construction throws util::InvalidConfigError for a pattern
// that does not compile.
class TokenPattern {
 public:
  explicit TokenPattern(const std::string& pattern);
  std::vector<Token> Apply(const std::vector<Token>& tokens) const;

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
};

// Registers the WhitespaceTokenizer component.
void RegisterWhitespaceTokenizer();

}  // namespace trainyard::nlu
