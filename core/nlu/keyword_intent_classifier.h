#pragma once

namespace trainyard::nlu {

// Registers KeywordIntentClassifier: each training example's text is a
// keyword for its intent; a message whose text contains a keyword as a whole
// word gets that intent with confidence 1.0. Keywords claimed by several
// intents are dropped with a warning, as Rasa does.
void RegisterKeywordIntentClassifier();

}  // namespace trainyard::nlu
