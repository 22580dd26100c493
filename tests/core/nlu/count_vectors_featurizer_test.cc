#include "core/nlu/count_vectors_featurizer.h"

#include <gtest/gtest.h>

namespace trainyard::nlu {
namespace {

using V = std::vector<std::string>;

NgramVocabulary Vocab(const std::string& analyzer, int lo, int hi) {
  NgramVocabulary::Options o;
  o.analyzer = analyzer;
  o.min_ngram = lo;
  o.max_ngram = hi;
  return NgramVocabulary(o);
}

TEST(NgramVocabulary, CharWbMatchesScikitLearn) {
  EXPECT_EQ(Vocab("char_wb", 1, 4).Ngrams({"hi"}), (V{" ", "h", "i", " ", " h", "hi", "i ", " hi", "hi ", " hi "}));
  // A word shorter than n is counted once, then larger n are skipped.
  EXPECT_EQ(Vocab("char_wb", 3, 5).Ngrams({"a"}), (V{" a "}));
}

TEST(NgramVocabulary, WordAndCharNgrams) {
  EXPECT_EQ(Vocab("word", 1, 2).Ngrams({"i", "like", "tea"}), (V{"i", "like", "tea", "i like", "like tea"}));
  EXPECT_EQ(Vocab("char", 2, 2).Ngrams({"ab", "c"}), (V{"ab", "b ", " c"}));
  EXPECT_EQ(Vocab("char", 1, 1).Ngrams({"é"}), (V{"é"}));  // code points, not bytes
}

TEST(NgramVocabulary, WordsAreTheRunsOfWordCharactersInTokens) {
  // Rasa's token pattern \b\w+\b: "what's" holds two words, "@" none.
  EXPECT_EQ(Vocab("word", 1, 2).Ngrams({"what's", "@", "up"}), (V{"what", "s", "up", "what s", "s up"}));
  EXPECT_EQ(Vocab("word", 1, 1).Ngrams({"__number__:__number__", "é_1"}), (V{"__number__", "__number__", "é_1"}));
}

TEST(CountVectorsFeaturizer, NumbersStandingAloneShareOneToken) {
  EXPECT_EQ(NumbersReplaced("5"), "__NUMBER__");
  EXPECT_EQ(NumbersReplaced("10:30"), "__NUMBER__:__NUMBER__");
  EXPECT_EQ(NumbersReplaced("14.04.1"), "__NUMBER__.__NUMBER__.__NUMBER__");
  EXPECT_EQ(NumbersReplaced("5pm"), "5pm");
  EXPECT_EQ(NumbersReplaced("a1"), "a1");
  EXPECT_EQ(NumbersReplaced("é5"), "é5");
  EXPECT_EQ(NumbersReplaced("#12"), "#__NUMBER__");
}

TEST(NgramVocabulary, FitSortsTermsAndAppliesDocumentFrequencyLimits) {
  NgramVocabulary::Options o;
  o.min_df = 2;
  NgramVocabulary v(o);
  v.Fit({{"b", "a"}, {"a", "c"}, {"b", "a", "a"}});
  EXPECT_EQ(v.size(), 2);  // "c" appears in one document only
  const auto row = v.Transform({"a", "b", "a", "zzz"});
  ASSERT_EQ(row.size(), 3u);
  EXPECT_EQ(row[0].first, 0);  // "a" sorts first
  EXPECT_EQ(row[1].first, 1);

  NgramVocabulary::Options frac;
  frac.max_df = 0.5;  // terms in more than half of the documents are dropped
  NgramVocabulary common(frac);
  common.Fit({{"a", "x"}, {"a", "y"}, {"a", "z"}});
  EXPECT_FALSE(common.Contains("a"));
  EXPECT_TRUE(common.Contains("x"));

  NgramVocabulary::Options top;
  top.max_features = 1;
  NgramVocabulary best(top);
  best.Fit({{"rare", "often"}, {"often"}, {"often"}});
  EXPECT_EQ(best.size(), 1);
  EXPECT_TRUE(best.Contains("often"));
}

TEST(NgramVocabulary, JsonRoundTrip) {
  NgramVocabulary v = Vocab("char_wb", 1, 3);
  v.Fit({{"hello"}, {"help"}});
  const NgramVocabulary back = NgramVocabulary::FromJson(v.ToJson());
  EXPECT_EQ(back.size(), v.size());
  EXPECT_EQ(back.Transform({"hell"}), v.Transform({"hell"}));
}

// Finetuning: known words keep their columns, new words get the next ones,
// and that order survives the archive.
TEST(NgramVocabulary, ExtendKeepsKnownColumnsAndAppendsNewTerms) {
  NgramVocabulary old = Vocab("word", 1, 1);
  old.Fit({{"hello", "world"}});
  NgramVocabulary fitted = Vocab("word", 1, 1);
  fitted.Fit({{"abc", "world", "zebra"}});
  old.Extend(fitted);
  ASSERT_EQ(old.size(), 4);
  using Row = std::vector<std::pair<int32_t, float>>;
  EXPECT_EQ(old.Transform({"hello"}), (Row{{0, 1.0f}}));
  EXPECT_EQ(old.Transform({"world"}), (Row{{1, 1.0f}}));
  EXPECT_EQ(old.Transform({"abc"}), (Row{{2, 1.0f}}));
  EXPECT_EQ(old.Transform({"zebra"}), (Row{{3, 1.0f}}));
  const NgramVocabulary back = NgramVocabulary::FromJson(old.ToJson());
  EXPECT_EQ(back.Transform({"abc"}), (Row{{2, 1.0f}}));
  EXPECT_EQ(back.Transform({"world"}), (Row{{1, 1.0f}}));
}

TEST(SparseMatrix, RowsAddUpDuplicatesAndSum) {
  SparseMatrix m;
  m.cols = 5;
  m.AddRow({{3, 1}, {1, 1}, {3, 1}});
  m.AddRow({{0, 2}});
  EXPECT_EQ(m.rows, 2);
  EXPECT_EQ(m.At(0, 3), 2.0f);
  EXPECT_EQ(m.indices, (std::vector<int32_t>{1, 3, 0}));
  const SparseMatrix sum = m.SumRows();
  EXPECT_EQ(sum.rows, 1);
  EXPECT_EQ(sum.At(0, 0), 2.0f);
  EXPECT_EQ(sum.At(0, 3), 2.0f);
}

}  // namespace
}  // namespace trainyard::nlu
