// libFuzzer target for trainyard's importer: feeds the input bytes, as the
// content of a file, to every parser the importer uses. trainyard reports bad
// input only by throwing util::Error (or a subclass); any other exception, a
// crash, a sanitizer report or a hang is a bug.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/data/config.h"
#include "core/data/domain.h"
#include "core/data/entities_parser.h"
#include "core/data/nlu_reader.h"
#include "core/data/story_reader.h"
#include "core/util/diagnostics.h"
#include "core/util/errors.h"

namespace {

namespace data = trainyard::data;
namespace util = trainyard::util;

// Runs one parser; util::Error is the documented way to reject input.
// Anything else propagates and libFuzzer reports it as a crash.
template <typename Fn>
void Run(Fn&& fn) {
  try {
    fn();
  } catch (const util::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  const std::string text(reinterpret_cast<const char*>(bytes), size);
  const std::string path = "fuzz.yml";  // never opened; used in locations only

  Run([&] {
    util::Diagnostics diagnostics;
    data::ParseNluYaml(text, path, diagnostics);
  });
  Run([&] {
    util::Diagnostics diagnostics;
    data::ParseStories(text, path, diagnostics);
  });
  Run([&] {
    util::Diagnostics diagnostics;
    data::ParseStories(text, path, diagnostics, /*is_test_file=*/true);
  });
  Run([&] {
    util::Diagnostics diagnostics;
    data::ParseDomain(text, path, diagnostics);
  });
  Run([&] {
    util::Diagnostics diagnostics;
    data::ParseConfig(text, path, diagnostics);
  });
  Run([&] {
    util::Diagnostics diagnostics;
    data::ParseNluJson(text, "fuzz.json", diagnostics);
  });
  Run([&] {
    util::Diagnostics diagnostics;
    util::SourceLocation where{path, 1, 1};
    data::ParseAnnotatedText(std::string_view(text), where, diagnostics);
  });
  return 0;
}
