#pragma once

// DIETClassifier (joint intent classification and entity recognition) and
// the ML components built on its model. libtorch-free header.

namespace trainyard::ml {

// Registers DIETClassifier / ResponseSelector with the graph's component registry.
void RegisterDietClassifier();
void RegisterResponseSelector();
void RegisterTedPolicy();
void RegisterCrfEntityExtractor();

// Registers every libtorch component (DIET and friends). Idempotent.
void RegisterMlComponents();

}  // namespace trainyard::ml
