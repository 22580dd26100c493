#pragma once

// Registration of the NLU components implemented in core/nlu.

namespace trainyard::nlu {

void RegisterEntitySynonymMapper();
void RegisterFallbackClassifier();
void RegisterDucklingEntityExtractor();
void RegisterLexicalSyntacticFeaturizer();
void RegisterLogisticRegressionClassifier();

// Registers every NLU component of this folder. Idempotent.
void RegisterNluComponents();

}  // namespace trainyard::nlu
