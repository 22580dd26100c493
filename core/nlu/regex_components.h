#pragma once

namespace trainyard::nlu {

// Registers RegexFeaturizer (one sparse feature per pattern, for the tokens a
// match overlaps) and RegexEntityExtractor (entities from patterns named like
// an annotated entity).
void RegisterRegexComponents();

}  // namespace trainyard::nlu
