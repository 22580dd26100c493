#include "core/nlu/message.h"

namespace trainyard::nlu {

Json ParseResult(const NluMessage& m) {
  Json out = {{"text", m.data.text},
              {"intent", m.intent.is_null() ? Json{{"name", nullptr}, {"confidence", 0.0}} : m.intent},
              {"entities", m.entities}};
  if (!m.intent_ranking.empty()) out["intent_ranking"] = m.intent_ranking;
  if (!m.response_selector.empty()) out["response_selector"] = m.response_selector;
  return out;
}

}  // namespace trainyard::nlu
