#include "core/ml/tagging.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <utility>

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

namespace {

// A tag's BILOU prefix letter ('\0' for O or a plain tag) and its type.
std::pair<char, std::string> SplitTag(const std::string& tag, bool bilou) {
  if (bilou && tag.size() > 2 && tag[1] == '-') return {tag[0], tag.substr(2)};
  return {'\0', tag};
}

// Rasa's consistency pass over BILOU tags: each B- opens a chunk that runs
// over the following I- tags to an L- (or stops before anything else). A chunk
// of mixed types takes the type with the highest mean confidence (rounded to
// two decimals; on a tie, the type seen first), and its tokens of other types
// take that mean as their confidence. Prefixes are made well-formed: U- alone,
// else B-, I-..., L-.
std::vector<std::string> ConsistentBilou(std::vector<std::string> tags,
                                         std::vector<float>& confidences) {
  for (size_t first = 0; first < tags.size(); ++first) {
    if (SplitTag(tags[first], true).first != 'B') continue;
    size_t last = first;
    for (size_t t = first + 1; t < tags.size(); ++t) {
      const char prefix = SplitTag(tags[t], true).first;
      if (prefix == 'I' || prefix == 'L') last = t;
      if (prefix != 'I') break;
    }
    std::string type = SplitTag(tags[first], true).second;
    std::vector<std::pair<std::string, std::vector<float>>> per_type;  // in order of appearance
    for (size_t t = first; t <= last; ++t) {
      const std::string tag_type = SplitTag(tags[t], true).second;
      auto it = std::find_if(per_type.begin(), per_type.end(),
                             [&](const auto& p) { return p.first == tag_type; });
      if (it == per_type.end()) it = per_type.insert(per_type.end(), {tag_type, {}});
      it->second.push_back(confidences[t]);
    }
    if (per_type.size() > 1) {
      double best = -1;
      for (const auto& [candidate, values] : per_type) {
        double sum = 0;
        for (float v : values) sum += v;
        const double mean = std::round(sum / static_cast<double>(values.size()) * 100.0) / 100.0;
        if (mean > best) best = mean, type = candidate;
      }
      for (size_t t = first; t <= last; ++t)
        if (SplitTag(tags[t], true).second != type) confidences[t] = static_cast<float>(best);
    }
    for (size_t t = first; t <= last; ++t)
      tags[t] = (first == last ? "U-" : t == first ? "B-" : t == last ? "L-" : "I-") + type;
  }
  return tags;
}

}  // namespace

void VoteAttribute(const std::vector<std::pair<std::string, float>>& per_token, int first, int last,
                   nlohmann::ordered_json& entity, const char* key, const char* confidence_key) {
  std::map<std::string, std::pair<int, double>> count;
  for (int t = std::max(first, 0); t <= last && t < static_cast<int>(per_token.size()); ++t)
    if (!per_token[static_cast<size_t>(t)].first.empty()) {
      auto& c = count[per_token[static_cast<size_t>(t)].first];
      ++c.first;
      c.second += per_token[static_cast<size_t>(t)].second;
    }
  const auto best = std::max_element(count.begin(), count.end(), [](const auto& a, const auto& b) {
    return a.second.first < b.second.first;
  });
  if (best == count.end()) return;
  entity[key] = best->first;
  entity[confidence_key] = best->second.second / best->second.first;
}

CommaSplitting CommaSplitting::FromJson(const nlohmann::ordered_json& value) {
  CommaSplitting s;
  if (value.is_null()) return s;
  if (value.is_boolean()) {
    s.fallback = value.get<bool>();
    return s;
  }
  if (!value.is_object())
    throw std::invalid_argument(
        "'split_entities_by_comma' must be true, false or a mapping of entity types to "
        "true/false, not " +
        value.dump() + ".");
  for (const auto& [entity, splits] : value.items()) {
    if (!splits.is_boolean())
      throw std::invalid_argument("'split_entities_by_comma." + entity +
                                  "' must be true or false, not " + splits.dump() + ".");
    s.per_entity[entity] = splits.get<bool>();
  }
  return s;
}

namespace {

// Whether token `next` belongs to the same entity (of `type`) as token `next - 1`.
bool JoinsEntity(const TokenGaps& gaps, size_t next, const std::string& type) {
  const int from = gaps.tokens[next - 1].end, to = gaps.tokens[next].start;
  if (to - from <= 1) return true;
  if (to - from > 3) return false;
  bool comma = false;
  for (int i = std::max(from, 0); i < to && i < static_cast<int>(gaps.text.size()); ++i) {
    const char32_t c = gaps.text[static_cast<size_t>(i)];
    if (c != '.' && c != ',' && c != ' ' && c != ';') return false;
    comma = comma || c == ',';
  }
  return !(comma && gaps.splitting.Splits(type));
}

}  // namespace

std::vector<Span> TagsToSpans(const std::vector<std::string>& tags_in,
                              const std::vector<float>& confidences, bool bilou,
                              const TokenGaps* gaps) {
  std::vector<float> conf(tags_in.size(), 1.0f);
  std::copy_n(confidences.begin(), std::min(confidences.size(), conf.size()), conf.begin());
  const std::vector<std::string> tags = bilou ? ConsistentBilou(tags_in, conf) : tags_in;
  std::vector<Span> spans;
  std::vector<float> open_conf;  // of spans.back() while it is open
  bool open = false;
  std::string last = "O";
  auto close = [&] {
    if (!open) return;
    // As Rasa: the entity is as confident as its least confident token.
    spans.back().confidence =
        open_conf.empty() ? 0 : *std::min_element(open_conf.begin(), open_conf.end());
    open = false;
    open_conf.clear();
  };
  for (size_t t = 0; t < tags.size(); ++t) {
    const int i = static_cast<int>(t);
    if (tags[t] == "O") {
      close();
      last = "O";
      continue;
    }
    const auto [prefix, type] = SplitTag(tags[t], bilou);
    // As Rasa's entity extraction: a new entity starts after O, at U-, or
    // where the tag changes to anything but I-/L-; otherwise the token
    // extends the entity before it (B-a I-a I-a, L-a I-a, U-a L-a).
    const bool starts =
        !open || last == "O" || prefix == 'U' ||
        (bilou ? last != tags[t] && prefix != 'I' && prefix != 'L' : last != tags[t]) ||
        (gaps && t > 0 && t < gaps->tokens.size() && !JoinsEntity(*gaps, t, type));
    last = tags[t];
    if (starts) {
      close();
      spans.push_back(Span{type, i, i, 0});
      open = true;
    }
    spans.back().last = i;
    open_conf.push_back(conf[t]);
  }
  close();
  return spans;
}

}  // namespace trainyard::ml
