#include "core/util/diagnostics.h"

#include <gtest/gtest.h>

#include "core/util/errors.h"

namespace trainyard::util {
namespace {

TEST(SourceLocation, FormatsWhatIsKnown) {
  EXPECT_EQ((SourceLocation{"a.yml", 3, 7}.ToString()), "a.yml:3:7");
  EXPECT_EQ((SourceLocation{"a.yml", 3, 0}.ToString()), "a.yml:3");
  EXPECT_EQ((SourceLocation{"a.yml", 0, 0}.ToString()), "a.yml");
}

TEST(Diagnostics, CountsErrorsAndWarningsSeparately) {
  Diagnostics d;
  d.Warn({"a.yml", 1, 1}, "w1");
  d.Error({"b.yml", 2, 3}, "e1");
  d.Warn({}, "w2");
  EXPECT_EQ(d.error_count(), 1u);
  EXPECT_EQ(d.warning_count(), 2u);
  EXPECT_TRUE(d.has_errors());
  EXPECT_EQ(d.errors().front().ToString(), "b.yml:2:3: error: e1");
  EXPECT_EQ(d.warnings().back().ToString(), "warning: w2");
}

TEST(InvalidDataError, MessageListsOnlyErrors) {
  InvalidDataError e({{Severity::kWarning, "just a warning", {"a.yml", 1, 1}},
                      {Severity::kError, "broken", {"a.yml", 4, 2}}});
  EXPECT_STREQ(e.what(), "a.yml:4:2: error: broken");
  EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(e.details().size(), 2u);
}

TEST(ErrorCode, HasCanonicalNames) {
  EXPECT_STREQ(ErrorCodeName(NotFoundError("x").code()), "NOT_FOUND");
  EXPECT_STREQ(ErrorCodeName(CancelledError().code()), "CANCELLED");
}

}  // namespace
}  // namespace trainyard::util
