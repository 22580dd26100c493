#include "core/nlu/message.h"

#include <algorithm>
#include <map>

#include "core/util/errors.h"
#include "core/util/strings.h"

namespace trainyard::nlu {

FeatureLayout TextFeatureLayout(const std::vector<const NluMessage*>& messages, FeatureType type,
                                const std::vector<std::string>& featurizers) {
  std::map<std::string, int> widths;
  for (const NluMessage* m : messages)
    for (const Features& f : m->features)
      if (f.attribute == "text" && f.type == type && f.UsedBy(featurizers))
        widths[f.origin] = std::max(widths[f.origin], f.matrix.cols);
  return {widths.begin(), widths.end()};
}

void AppendTextFeatureRow(const NluMessage& m, const FeatureLayout& layout, FeatureType type, int row,
                          std::vector<std::pair<int64_t, float>>& out) {
  int64_t offset = 0;
  for (const auto& [origin, cols] : layout) {
    for (const Features& f : m.features) {
      if (f.attribute != "text" || f.type != type || f.origin != origin || f.matrix.rows == 0) continue;
      if (row >= f.matrix.rows)
        throw util::Error(util::ErrorCode::kInternal, "The features of '" + origin + "' have " +
                                                          std::to_string(f.matrix.rows) + " rows; row " +
                                                          std::to_string(row) + " was asked for.");
      for (int32_t k = f.matrix.indptr[row]; k < f.matrix.indptr[row + 1]; ++k)
        if (f.matrix.indices[k] < cols) out.emplace_back(offset + f.matrix.indices[k], f.matrix.values[k]);
      break;
    }
    offset += cols;
  }
}

std::vector<const data::EntityAnnotation*> MisalignedEntities(const NluMessage& m) {
  std::vector<const data::EntityAnnotation*> out;
  for (const data::EntityAnnotation& e : m.data.entities) {
    const bool starts = std::any_of(m.tokens.begin(), m.tokens.end(),
                                    [&](const Token& t) { return t.start == e.start; });
    const bool ends = std::any_of(m.tokens.begin(), m.tokens.end(),
                                  [&](const Token& t) { return t.end == e.end; });
    if (!starts || !ends) out.push_back(&e);
  }
  return out;
}

std::vector<std::string> MisalignedEntityWarnings(const std::vector<const NluMessage*>& messages,
                                                  size_t limit) {
  std::vector<std::string> out;
  size_t more = 0;
  for (const NluMessage* m : messages) {
    const auto misaligned = MisalignedEntities(*m);
    if (misaligned.empty()) continue;
    if (out.size() == limit) {
      ++more;
      continue;
    }
    const std::u32string text = util::DecodeUtf8(m->data.text);
    auto span = [&](int start, int end) {
      const size_t from = static_cast<size_t>(std::clamp(start, 0, static_cast<int>(text.size())));
      const size_t to = static_cast<size_t>(
          std::clamp(end, static_cast<int>(from), static_cast<int>(text.size())));
      return "'" + util::EncodeUtf8(std::u32string_view(text).substr(from, to - from)) + "' (" +
             std::to_string(start) + "-" + std::to_string(end) + ")";
    };
    std::string entities, tokens;
    for (const data::EntityAnnotation* e : misaligned)
      entities += (entities.empty() ? "" : ", ") + e->entity + " = " + span(e->start, e->end);
    for (const Token& t : m->tokens) tokens += (tokens.empty() ? "" : ", ") + span(t.start, t.end);
    out.push_back(
        (m->data.location.empty() ? "" : m->data.location.ToString() + ": ") +
        "Misaligned entity annotation in message '" + m->data.text + "' with intent '" +
        m->data.intent + "': " + (misaligned.size() == 1 ? "the entity " : "the entities ") +
        entities + (misaligned.size() == 1 ? " does" : " do") +
        " not start and end at token boundaries (tokens: " + (tokens.empty() ? "none" : tokens) +
        "). Common causes: the annotation includes whitespace or punctuation, or the tokenizer "
        "splits "
        "the text otherwise than expected.");
  }
  if (more > 0)
    out.push_back("... and " + std::to_string(more) + " more message" + (more == 1 ? "" : "s") +
                  " with misaligned entity annotations.");
  return out;
}

Json ParseResult(const NluMessage& m) {
  Json out = {{"text", m.data.text},
              {"intent", m.intent.is_null() ? Json{{"name", nullptr}, {"confidence", 0.0}} : m.intent},
              {"entities", m.entities}};
  if (!m.intent_ranking.empty()) out["intent_ranking"] = m.intent_ranking;
  if (!m.response_selector.empty()) out["response_selector"] = m.response_selector;
  return out;
}

}  // namespace trainyard::nlu
