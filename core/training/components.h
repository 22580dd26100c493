#pragma once

// The graph plumbing of Rasa's recipes (validators, providers, converters,
// the regex message handler) and the registration of every component
// trainyard can run.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/data/importer.h"
#include "core/nlu/features.h"

namespace trainyard::training {

// The value of the `__importer__` input: the imported project.
using ProjectPtr = std::shared_ptr<const data::Project>;

// The domain as flowing between nodes: Rasa's domain dict.
using DomainPtr = std::shared_ptr<const nlohmann::ordered_json>;

// What `end_to_end_features_provider` collects: the features of every user
// text / intent / action name / bot text seen in stories, keyed by
// "<attribute>:<value>" (e.g. "text:hello there", "action_name:utter_greet").
using Precomputations = std::map<std::string, std::vector<nlu::Features>>;
using PrecomputationsPtr = std::shared_ptr<const Precomputations>;

// Registers all built-in component implementations. Idempotent; thread-safe.
void RegisterBuiltinComponents();

}  // namespace trainyard::training
