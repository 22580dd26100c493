#include "core/nlu/whitespace_tokenizer.h"

#include <gtest/gtest.h>

#include "core/util/errors.h"

namespace trainyard::nlu {
namespace {

std::vector<std::string> Texts(const std::string& text) {
  std::vector<std::string> out;
  for (const Token& t : WhitespaceTokenize(text)) out.push_back(t.text);
  return out;
}

TEST(WhitespaceTokenizer, FollowsRasasPunctuationRules) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Texts("Forecast for lunch"), (V{"Forecast", "for", "lunch"}));
  EXPECT_EQ(Texts("hey, how are you?"), (V{"hey", "how", "are", "you"}));
  EXPECT_EQ(Texts("10'000.00 dollars"), (V{"10'000.00", "dollars"}));
  EXPECT_EQ(Texts("mail me at bla@gmail.com please!"), (V{"mail", "me", "at", "bla@gmail.com", "please"}));
  EXPECT_EQ(Texts("https://rasa.com/docs is nice"), (V{"https://rasa.com/docs", "is", "nice"}));
  EXPECT_EQ(Texts("#hashtag &amp"), (V{"#hashtag", "&amp"}));
  EXPECT_EQ(Texts(":)"), (V{":)"}));  // nothing left: the whole text is one token
  EXPECT_EQ(Texts("Ünïcödé wörds"), (V{"Ünïcödé", "wörds"}));
}

TEST(WhitespaceTokenizer, OffsetsAreCodePoints) {
  const auto tokens = WhitespaceTokenize("café au lait!");
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[0].start, 0);
  EXPECT_EQ(tokens[0].end, 4);
  EXPECT_EQ(tokens[1].start, 5);
  EXPECT_EQ(tokens[2].text, "lait");
  EXPECT_EQ(tokens[2].end, 12);
}

// sara's config: `token_pattern: (?u)\b\w+\b` splits tokens the punctuation
// rules keep whole, letters of every script included, with code point offsets.
TEST(TokenPattern, SplitsTokensIntoThePatternsMatchesAsRasaDoes) {
  const TokenPattern words("(?u)\\b\\w+\\b");
  const auto tokens = words.Apply(WhitespaceTokenize("café-bar at 10:30 for bla@gmail.com &"));
  std::vector<std::string> texts;
  for (const Token& t : tokens) texts.push_back(t.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"café", "bar", "at", "10", "30", "for", "bla", "gmail", "com", "&"}));
  ASSERT_EQ(tokens.size(), 10u);
  EXPECT_EQ(tokens[1].start, 5);  // "bar" after "café-" (5 code points)
  EXPECT_EQ(tokens[1].end, 8);
  EXPECT_EQ(tokens[4].start, 15);
  EXPECT_EQ(tokens[4].end, 17);
  EXPECT_EQ(tokens[9].text, "&");  // no match: the token stays whole

  // One group: its text, as Python's findall; (?i) ignores case.
  const auto grouped = TokenPattern("(?i)x(\\d+)").Apply(WhitespaceTokenize("X12x3 y"));
  ASSERT_EQ(grouped.size(), 3u);
  EXPECT_EQ(grouped[0].text, "12");
  EXPECT_EQ(grouped[0].start, 1);
  EXPECT_EQ(grouped[1].text, "3");
  EXPECT_EQ(grouped[1].start, 4);
  EXPECT_EQ(grouped[2].text, "y");

  EXPECT_THROW(TokenPattern("[a-"), util::InvalidConfigError);
}

}  // namespace
}  // namespace trainyard::nlu
