#include "core/nlu/message.h"

#include <algorithm>
#include <map>

#include "core/util/errors.h"

namespace trainyard::nlu {

FeatureLayout TextFeatureLayout(const std::vector<const NluMessage*>& messages, FeatureType type,
                                const std::vector<std::string>& featurizers) {
  std::map<std::string, int> widths;
  for (const NluMessage* m : messages)
    for (const Features& f : m->features)
      if (f.attribute == "text" && f.type == type &&
          (featurizers.empty() || std::find(featurizers.begin(), featurizers.end(), f.Name()) != featurizers.end()))
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

Json ParseResult(const NluMessage& m) {
  Json out = {{"text", m.data.text},
              {"intent", m.intent.is_null() ? Json{{"name", nullptr}, {"confidence", 0.0}} : m.intent},
              {"entities", m.entities}};
  if (!m.intent_ranking.empty()) out["intent_ranking"] = m.intent_ranking;
  if (!m.response_selector.empty()) out["response_selector"] = m.response_selector;
  return out;
}

}  // namespace trainyard::nlu
