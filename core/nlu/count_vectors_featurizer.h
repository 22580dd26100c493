#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/nlu/features.h"

namespace trainyard::nlu {

// A token as Rasa's CountVectorsFeaturizer counts it: each run of ASCII
// digits standing alone as a word becomes __NUMBER__ ("10:30" ->
// "__NUMBER__:__NUMBER__"; "5pm" stays).
std::string NumbersReplaced(const std::string& token);

// The n-gram vocabulary and counting of Rasa's CountVectorsFeaturizer (which
// wraps scikit-learn's CountVectorizer): analyzers "word", "char" and
// "char_wb" (the word analyzer's words are the \w+ runs of the tokens, Rasa's
// token pattern), an n-gram range, min_df / max_df (counts or fractions),
// max_features, and an optional OOV token. Documents arrive already tokenized
// and lower-cased. Immutable after Fit; thread-compatible.
class NgramVocabulary {
 public:
  struct Options {
    std::string analyzer = "word";
    int min_ngram = 1;
    int max_ngram = 1;
    double min_df = 1;      // < 1: a fraction of documents; else a count
    double max_df = 1.0;    // <= 1: a fraction; else a count
    int max_features = 0;   // 0: no limit
  };

  explicit NgramVocabulary(Options options) : options_(std::move(options)) {}

  // The n-grams of one document given as its tokens, in scikit-learn's order.
  std::vector<std::string> Ngrams(const std::vector<std::string>& tokens) const;
  // Builds the vocabulary from documents (each a list of tokens). Terms are
  // indexed in sorted order, as scikit-learn does.
  // `check` (if given) is called every 1,000 documents and may throw to stop
  // (cancellation).
  void Fit(const std::vector<std::vector<std::string>>& documents, const std::function<void()>& check = {});
  // Counts of known n-grams of `tokens` as one sparse row.
  std::vector<std::pair<int32_t, float>> Transform(const std::vector<std::string>& tokens) const;

  // Finetuning: the terms of `fitted` this vocabulary lacks join it after its
  // own (in `fitted`'s order), so that known terms keep their columns.
  void Extend(const NgramVocabulary& fitted);

  int size() const { return static_cast<int>(index_.size()); }
  bool Contains(const std::string& term) const { return index_.count(term) > 0; }
  nlohmann::ordered_json ToJson() const;
  static NgramVocabulary FromJson(const nlohmann::ordered_json& json);

 private:
  Options options_;
  std::map<std::string, int32_t> index_;
};

// Registers the CountVectorsFeaturizer component.
void RegisterCountVectorsFeaturizer();

}  // namespace trainyard::nlu
