#pragma once

// The graph plumbing of Rasa's recipes (validators, providers, converters,
// the regex message handler) and the registration of every component
// trainyard can run.

#include <memory>

#include <nlohmann/json.hpp>

#include "core/data/importer.h"

namespace trainyard::training {

// The value of the `__importer__` input: the imported project.
using ProjectPtr = std::shared_ptr<const data::Project>;

// The domain as flowing between nodes: Rasa's domain dict.
using DomainPtr = std::shared_ptr<const nlohmann::ordered_json>;

// Registers all built-in component implementations. Idempotent; thread-safe.
void RegisterBuiltinComponents();

}  // namespace trainyard::training
