#pragma once

#include "core/data/importer.h"
#include "core/util/diagnostics.h"

namespace trainyard::data {

// The checks of `rasa data validate` that need no training (SPEC §1.6), added
// to `diagnostics`: errors make the project invalid (an intent or action used
// in stories but missing from the domain, an NLU intent missing from the
// domain, a slot set in stories that the domain lacks, a form requiring an
// undefined slot, an empty domain); warnings are findings a user should look
// at (intents or responses never used, `utter_` actions without a response,
// the same example under several intents, ...). Thread-compatible.
void ValidateProject(const Project& project, util::Diagnostics& diagnostics);

}  // namespace trainyard::data
