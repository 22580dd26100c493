#include "core/data/entities_parser.h"

#include <gtest/gtest.h>

namespace trainyard::data {
namespace {

ParsedExample ParseOk(const std::string& text) {
  util::Diagnostics d;
  ParsedExample p = ParseAnnotatedText(text, {"nlu.yml", 3, 0}, d);
  EXPECT_FALSE(d.has_errors()) << (d.all().empty() ? "" : d.all()[0].ToString());
  return p;
}

TEST(EntitiesParser, PlainAnnotation) {
  const ParsedExample p = ParseOk("show me [chinese](cuisine) restaurants");
  EXPECT_EQ(p.plain_text, "show me chinese restaurants");
  ASSERT_EQ(p.entities.size(), 1u);
  EXPECT_EQ(p.entities[0].start, 8);
  EXPECT_EQ(p.entities[0].end, 15);
  EXPECT_EQ(p.entities[0].entity, "cuisine");
  EXPECT_EQ(p.entities[0].value, "chinese");
}

TEST(EntitiesParser, SynonymShorthand) {
  const ParsedExample p = ParseOk("I live in [NYC](city:New York City)");
  EXPECT_EQ(p.plain_text, "I live in NYC");
  EXPECT_EQ(p.entities[0].value, "New York City");
  EXPECT_EQ(p.entities[0].entity, "city");
}

TEST(EntitiesParser, JsonAnnotationWithRoleGroupAndValue) {
  const ParsedExample p =
      ParseOk("fly from [Berlin]{\"entity\": \"city\", \"role\": \"departure\", \"group\": \"1\", "
              "\"value\": \"BER\"} to [London]{\"entity\": \"city\", \"role\": \"destination\"}");
  EXPECT_EQ(p.plain_text, "fly from Berlin to London");
  ASSERT_EQ(p.entities.size(), 2u);
  EXPECT_EQ(p.entities[0].role, "departure");
  EXPECT_EQ(p.entities[0].group, "1");
  EXPECT_EQ(p.entities[0].value, "BER");
  EXPECT_EQ(p.entities[1].start, 19);
  EXPECT_EQ(p.entities[1].end, 25);
  EXPECT_EQ(p.entities[1].value, "London");
}

TEST(EntitiesParser, ListOfEntitiesOnOneSpan) {
  const ParsedExample p = ParseOk("[Paris][{\"entity\": \"city\"}, {\"entity\": \"location\", \"role\": \"to\"}] please");
  EXPECT_EQ(p.plain_text, "Paris please");
  ASSERT_EQ(p.entities.size(), 2u);
  EXPECT_EQ(p.entities[1].entity, "location");
  EXPECT_EQ(p.entities[1].start, 0);
  EXPECT_EQ(p.entities[1].end, 5);
}

TEST(EntitiesParser, OffsetsCountUnicodeCodePoints) {
  const ParsedExample p = ParseOk("caf\xC3\xA9 in [M\xC3\xBCnchen](city)");
  EXPECT_EQ(p.entities[0].start, 8);
  EXPECT_EQ(p.entities[0].end, 15);
}

TEST(EntitiesParser, TextWithoutMarkupIsUnchanged) {
  const ParsedExample p = ParseOk("brackets [like this] alone and (parens) stay");
  EXPECT_EQ(p.plain_text, "brackets [like this] alone and (parens) stay");
  EXPECT_TRUE(p.entities.empty());
}

TEST(EntitiesParser, InvalidJsonIsAnErrorWithLocation) {
  util::Diagnostics d;
  ParseAnnotatedText("go to [Rome]{\"entity\": city}", {"nlu.yml", 7, 0}, d);
  ASSERT_EQ(d.error_count(), 1u);
  EXPECT_EQ(d.errors()[0].location.line, 7);
  EXPECT_NE(d.errors()[0].message.find("Incorrect training data format"), std::string::npos);
}

TEST(EntitiesParser, JsonWithoutEntityKeyIsAnError) {
  util::Diagnostics d;
  ParseAnnotatedText("go to [Rome]{\"role\": \"x\"}", {"nlu.yml", 1, 0}, d);
  EXPECT_EQ(d.error_count(), 1u);
}

}  // namespace
}  // namespace trainyard::data
