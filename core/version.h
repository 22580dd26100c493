#pragma once

#include <string>

namespace trainyard {

// The version of trainyard, e.g. "0.1.0". Stored in model metadata and cache keys.
const std::string& Version();

}  // namespace trainyard
