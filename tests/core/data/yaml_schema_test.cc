#include "core/data/yaml_schema.h"

#include <gtest/gtest.h>

namespace trainyard::data {
namespace {

TEST(FileContext, ShapeChecksReportWhatWasExpectedAndFound) {
  util::Diagnostics d;
  FileContext c("f.yml", d);
  const auto root = yaml::Parse("a: [1]\nb: 12\nc: ''\nd: yes\ne: {x: 1, y: 2}\n", "f.yml");
  EXPECT_FALSE(c.ExpectMap(*root->Get("a"), "'a'"));
  EXPECT_FALSE(c.ExpectString(*root->Get("b"), "'b'"));
  EXPECT_FALSE(c.ExpectString(*root->Get("c"), "'c'"));
  EXPECT_TRUE(c.ExpectString(*root->Get("c"), "'c'", /*allow_empty=*/true));
  EXPECT_FALSE(c.ExpectBool(*root->Get("d"), "'d'"));  // YAML 1.2: `yes` is a string
  EXPECT_FALSE(c.CheckKeys(*root->Get("e"), {"x"}, "'e'"));
  ASSERT_EQ(d.error_count(), 5u);
  EXPECT_EQ(d.errors()[0].message, "'a' must be a mapping (key: value pairs) but is a list.");
  EXPECT_NE(d.errors()[1].message.find("put it in quotes"), std::string::npos);
  EXPECT_EQ(d.errors()[2].message, "'c' must not be empty.");
  EXPECT_EQ(d.errors()[4].location.line, 5);
  EXPECT_NE(d.errors()[4].message.find("Unknown key 'y'"), std::string::npos);
}

TEST(CheckFormatVersion, FollowsRasasRules) {
  util::Diagnostics d;
  FileContext c("f.yml", d);
  EXPECT_TRUE(CheckFormatVersion(*yaml::Parse("nlu: []\n", "f.yml"), c));
  EXPECT_TRUE(CheckFormatVersion(*yaml::Parse("version: '3.0'\n", "f.yml"), c));
  EXPECT_EQ(d.warning_count(), 0u);
  EXPECT_TRUE(CheckFormatVersion(*yaml::Parse("version: 3.1\n", "f.yml"), c));  // not a string: warn, read
  EXPECT_FALSE(CheckFormatVersion(*yaml::Parse("version: '3.2'\n", "f.yml"), c));
  EXPECT_EQ(d.warning_count(), 2u);
  EXPECT_EQ(CompareVersions("3.1", "3.1.0"), 0);
  EXPECT_EQ(CompareVersions("3.10", "3.9"), 1);
}

}  // namespace
}  // namespace trainyard::data
