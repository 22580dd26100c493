#pragma once

// Rasa's entity annotation syntax inside example texts and story `user:` steps:
//   [text](entity)            value = text
//   [text](entity:value)      synonym shorthand
//   [text]{"entity": "e", "role": "r", "group": "g", "value": "v"}
//   [text][{"entity": "a"}, {"entity": "b", "role": "x"}]   several on one span

#include <string>
#include <string_view>
#include <vector>

#include "core/data/training_data.h"
#include "core/util/diagnostics.h"

namespace trainyard::data {

struct ParsedExample {
  std::string plain_text;                 // annotations replaced by their text
  std::vector<EntityAnnotation> entities;  // offsets in plain_text code points
};

// Parses the annotations of `annotated`. Malformed JSON annotations or JSON
// that is not an entity object are reported as errors at `where` ("Incorrect
// training data format ...") and the annotation is dropped. Never throws.
ParsedExample ParseAnnotatedText(std::string_view annotated, const util::SourceLocation& where,
                                 util::Diagnostics& diagnostics);

}  // namespace trainyard::data
