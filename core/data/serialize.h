#pragma once

// Plain-data views of the importer's structures, as Rasa writes them: the
// domain dict of metadata.json / domain.yml, and content descriptions used to
// fingerprint training data and stories.

#include "core/data/domain.h"
#include "core/data/story.h"
#include "core/data/training_data.h"

namespace trainyard::data {

// The domain as Rasa's `Domain.as_dict()` shapes it (version, intents with
// their properties, entities, slots, responses, actions, forms, session
// config, e2e_actions).
Json DomainToJson(const Domain& domain);
// The same domain emptied of what does not change dialogue training (SPEC
// §4.5 step 6): response texts, form slot lists, session config.
Json DomainForCoreTraining(const Json& domain);
Json TrainingDataToJson(const TrainingData& data);
Json StoryDataToJson(const StoryData& stories);
// Rasa's YAML NLU file for `data` (what `--persist-nlu-data` stores).
std::string TrainingDataToYaml(const TrainingData& data);

}  // namespace trainyard::data
