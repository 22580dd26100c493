#include "core/nlu/components.h"

#include <mutex>

#include "core/nlu/count_vectors_featurizer.h"
#include "core/nlu/keyword_intent_classifier.h"
#include "core/nlu/regex_components.h"
#include "core/nlu/whitespace_tokenizer.h"

namespace trainyard::nlu {

void RegisterNluComponents() {
  static std::once_flag once;
  std::call_once(once, [] {
    RegisterWhitespaceTokenizer();
    RegisterKeywordIntentClassifier();
    RegisterCountVectorsFeaturizer();
    RegisterRegexComponents();
    RegisterEntitySynonymMapper();
    RegisterFallbackClassifier();
    RegisterDucklingEntityExtractor();
    RegisterLexicalSyntacticFeaturizer();
    RegisterLogisticRegressionClassifier();
  });
}

}  // namespace trainyard::nlu
