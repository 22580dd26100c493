#pragma once

// Named regular expressions from a project's `regex:` and `lookup:` items, as
// RegexFeaturizer and RegexEntityExtractor use them.

#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/data/training_data.h"

namespace trainyard::nlu {

struct NamedPattern {
  std::string name;
  std::string pattern;  // ECMAScript syntax (what Python's `re` patterns in Rasa data use)
};

struct PatternMatch {
  int start = 0;  // code points
  int end = 0;
  std::string text;
};

// Patterns of `data`: each regex as written; each lookup table as one
// alternation of its escaped elements, with word boundaries if asked.
std::vector<NamedPattern> CollectPatterns(const data::TrainingData& data, bool use_regexes, bool use_lookup_tables,
                                          bool use_word_boundaries);

// Compiles patterns; one that does not compile is reported through `warn`
// and skipped (Rasa fails later at runtime; we say it at training time).
class CompiledPatterns {
 public:
  CompiledPatterns(const std::vector<NamedPattern>& patterns, bool case_sensitive,
                   const std::function<void(const std::string&)>& warn = {});
  size_t size() const { return compiled_.size(); }
  const NamedPattern& pattern(size_t i) const { return patterns_[i]; }
  // Every match of pattern `i` in `text`.
  std::vector<PatternMatch> Matches(size_t i, const std::string& text) const;
  nlohmann::ordered_json ToJson() const;

 private:
  std::vector<NamedPattern> patterns_;
  std::vector<std::regex> compiled_;
};

std::vector<NamedPattern> PatternsFromJson(const nlohmann::ordered_json& json);

}  // namespace trainyard::nlu
