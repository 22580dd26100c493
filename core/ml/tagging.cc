#include "core/ml/tagging.h"

#include <optional>

namespace trainyard::ml {

std::vector<int> TagSet::Tags(const nlu::NluMessage& m, const std::string& attribute) const {
  std::vector<int> tags(m.tokens.size(), 0);
  for (const data::EntityAnnotation& e : m.data.entities) {
    const std::string& value = attribute == "role" ? e.role : attribute == "group" ? e.group : e.entity;
    if (value.empty()) continue;
    std::vector<size_t> covered;
    for (size_t t = 0; t < m.tokens.size(); ++t)
      if (m.tokens[t].start < e.end && m.tokens[t].end > e.start && tags[t] == 0) covered.push_back(t);
    for (size_t i = 0; i < covered.size(); ++i) {
      std::string tag = value;
      if (bilou)
        tag = (covered.size() == 1 ? "U-" : i == 0 ? "B-" : i + 1 == covered.size() ? "L-" : "I-") + value;
      auto it = index.find(tag);
      if (it != index.end()) tags[covered[i]] = it->second;
    }
  }
  return tags;
}

std::vector<Span> TagsToSpans(const std::vector<std::string>& tags, const std::vector<float>& confidences,
                              bool bilou) {
  std::vector<Span> spans;
  std::optional<Span> open;
  std::vector<float> open_conf;
  auto close = [&] {
    if (!open) return;
    double sum = 0;
    for (float c : open_conf) sum += c;
    open->confidence = open_conf.empty() ? 0 : sum / open_conf.size();
    spans.push_back(*open);
    open.reset();
    open_conf.clear();
  };
  for (size_t t = 0; t < tags.size(); ++t) {
    const int i = static_cast<int>(t);
    const float conf = t < confidences.size() ? confidences[t] : 1.0f;
    if (tags[t] == "O") {
      close();
      continue;
    }
    std::string prefix, type = tags[t];
    if (bilou && tags[t].size() > 2 && tags[t][1] == '-') {
      prefix = tags[t].substr(0, 1);
      type = tags[t].substr(2);
    }
    const bool continues = open && open->entity == type && (!bilou || prefix == "I" || prefix == "L");
    if (!continues) {
      close();
      open = Span{type, i, i, 0};
    }
    open->last = i;
    open_conf.push_back(conf);
    if (bilou && (prefix == "U" || prefix == "L")) close();
  }
  close();
  return spans;
}

}  // namespace trainyard::ml
