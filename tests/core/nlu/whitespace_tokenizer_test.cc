#include "core/nlu/whitespace_tokenizer.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace trainyard::nlu
