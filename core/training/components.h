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

// What `end_to_end_features_provider` collects (see core/nlu/features.h).
using Precomputations = nlu::Precomputations;
using PrecomputationsPtr = nlu::PrecomputationsPtr;

// Registers all built-in component implementations. Idempotent; thread-safe.
void RegisterBuiltinComponents();

}  // namespace trainyard::training
