#include "core/util/strings.h"

#include <gtest/gtest.h>

namespace trainyard::util {
namespace {

TEST(Strip, RemovesGivenCharactersFromBothEnds) {
  EXPECT_EQ(Strip("  a b \n"), "a b");
  EXPECT_EQ(Strip("\r\n x ", "\n\r "), "x");
  EXPECT_EQ(Strip("   "), "");
}

TEST(SplitLines, BehavesLikePythonSplitlines) {
  EXPECT_EQ(SplitLines("a\nb\r\nc\rd"), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(SplitLines("a\n"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(SplitLines("a\n\nb"), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_TRUE(SplitLines("").empty());
}

TEST(CodePointLength, CountsUnicodeCharacters) {
  EXPECT_EQ(CodePointLength("abc"), 3u);
  EXPECT_EQ(CodePointLength("h\xC3\xA9llo"), 5u);           // héllo
  EXPECT_EQ(CodePointLength("\xF0\x9F\x98\x80!"), 2u);       // emoji + '!'
}

TEST(IsValidUtf8, RejectsMalformedSequences) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(QuoteJoin, QuotesEachItem) {
  EXPECT_EQ(QuoteJoin({"a", "b"}), "'a', 'b'");
  EXPECT_EQ(Join({"a", "b", "c"}, "+"), "a+b+c");
}

TEST(WithoutBacktrace, KeepsLibtorchsMessageAndDropsItsStack) {
  // libtorch 1.13 appends "frame #N" lines; 2.x first says where it was raised.
  EXPECT_EQ(WithoutBacktrace("[enforce fail at alloc_cpu.cpp:75] err == 0. can't allocate memory\n"
                             "frame #0: <unknown function> + 0x4c062\nframe #1: c10::alloc_cpu(unsigned long)"),
            "[enforce fail at alloc_cpu.cpp:75] err == 0. can't allocate memory");
  EXPECT_EQ(WithoutBacktrace("shapes cannot be multiplied (2x3 and 4x5)\nException raised from meta at "
                             "LinearAlgebra.cpp:190 (most recent call first):\nframe #0: c10::Error::Error"),
            "shapes cannot be multiplied (2x3 and 4x5)");
  EXPECT_EQ(WithoutBacktrace("two lines\nof a message"), "two lines\nof a message");
}

}  // namespace
}  // namespace trainyard::util
