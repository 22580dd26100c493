#pragma once

#include <string>
#include <vector>

#include "core/nlu/message.h"

namespace trainyard::nlu {

// Rasa's WhitespaceTokenizer rules: punctuation at the edges of words is
// dropped (but kept inside numbers, e-mail addresses and URLs), then the text
// is split on white space; a text of nothing but punctuation (":)") is one
// token. Offsets are code points into `text`.
std::vector<Token> WhitespaceTokenize(const std::string& text);

// Registers the WhitespaceTokenizer component.
void RegisterWhitespaceTokenizer();

}  // namespace trainyard::nlu
