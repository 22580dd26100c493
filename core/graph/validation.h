#pragma once

// Checks made before anything runs (SPEC §4.9): the graphs are well formed,
// every component can be built here, languages are supported and every
// component has what must run before it. Each failure throws
// util::InvalidConfigError with a message that names the node or component.

#include "core/data/importer.h"
#include "core/graph/recipe.h"
#include "core/util/diagnostics.h"

namespace trainyard::graph {

void ValidateGraphs(const GraphModelConfiguration& graphs);

// The data-versus-config checks of Rasa's DefaultV1RecipeValidator (the
// `schema_validator` node): warnings for data the configuration cannot use
// (entities without an extractor, responses without a ResponseSelector,
// regexes or lookups without a consumer, synonyms without the mapper, stories
// without policies, ...) and errors for configurations that cannot train
// (several tokenizers, forms without RulePolicy, policies without priority).
void ValidateDataAgainstConfig(const data::Project& project, const GraphModelConfiguration& graphs,
                               util::Diagnostics& diagnostics);

}  // namespace trainyard::graph
