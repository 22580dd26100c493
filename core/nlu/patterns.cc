#include "core/nlu/patterns.h"

#include "core/util/strings.h"

namespace trainyard::nlu {
namespace {

std::string Escape(const std::string& s) {
  static const std::string kSpecial = R"(\^$.|?*+()[]{}/-)";
  std::string out;
  for (char c : s) {
    if (kSpecial.find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::vector<NamedPattern> CollectPatterns(const data::TrainingData& data, bool use_regexes, bool use_lookup_tables,
                                          bool use_word_boundaries) {
  std::vector<NamedPattern> out;
  if (use_regexes)
    for (const data::RegexFeature& r : data.regexes) out.push_back({r.name, r.pattern});
  if (use_lookup_tables) {
    for (const data::LookupTable& l : data.lookups) {
      std::vector<std::string> elements;
      for (const std::string& e : l.elements)
        if (!util::Strip(e).empty()) elements.push_back(Escape(util::Strip(e)));
      if (elements.empty()) continue;
      const std::string body = "(" + util::Join(elements, "|") + ")";
      out.push_back({l.name, use_word_boundaries ? "\\b" + body + "\\b" : body});
    }
  }
  return out;
}

CompiledPatterns::CompiledPatterns(const std::vector<NamedPattern>& patterns, bool case_sensitive,
                                   const std::function<void(const std::string&)>& warn) {
  auto flags = std::regex::ECMAScript | std::regex::optimize;
  if (!case_sensitive) flags |= std::regex::icase;
  for (const NamedPattern& p : patterns) {
    try {
      compiled_.emplace_back(p.pattern, flags);
      patterns_.push_back(p);
    } catch (const std::regex_error& e) {
      if (warn) warn("The regex '" + p.name + "' ('" + p.pattern + "') is not a valid regular expression and is "
                     "ignored: " + e.what());
    }
  }
}

std::vector<PatternMatch> CompiledPatterns::Matches(size_t i, const std::string& text) const {
  std::vector<PatternMatch> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), compiled_[i]); it != std::sregex_iterator(); ++it) {
    if (it->length(0) == 0) continue;
    const size_t byte_start = static_cast<size_t>(it->position(0));
    const int start = static_cast<int>(util::CodePointLength(std::string_view(text).substr(0, byte_start)));
    const std::string matched = it->str(0);
    out.push_back({start, start + static_cast<int>(util::CodePointLength(matched)), matched});
  }
  return out;
}

nlohmann::ordered_json CompiledPatterns::ToJson() const {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const NamedPattern& p : patterns_) out.push_back({{"name", p.name}, {"pattern", p.pattern}});
  return out;
}

std::vector<NamedPattern> PatternsFromJson(const nlohmann::ordered_json& json) {
  std::vector<NamedPattern> out;
  if (!json.is_array()) return out;
  for (const auto& p : json) out.push_back({p.value("name", std::string()), p.value("pattern", std::string())});
  return out;
}

}  // namespace trainyard::nlu
