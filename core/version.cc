#include "core/version.h"

namespace trainyard {

const std::string& Version() {
  static const std::string kVersion = TRAINYARD_VERSION;
  return kVersion;
}

}  // namespace trainyard
