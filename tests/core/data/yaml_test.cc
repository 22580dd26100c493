#include "core/data/yaml.h"

#include <gtest/gtest.h>

#include "core/util/errors.h"

namespace trainyard::data::yaml {
namespace {

util::Diagnostic ParseError(const std::string& text) {
  try {
    Parse(text, "f.yml");
  } catch (const util::InvalidDataError& e) {
    return e.details().front();
  }
  ADD_FAILURE() << "expected a parse error for: " << text;
  return {};
}

TEST(YamlParse, ResolvesScalarsWithTheYaml12CoreSchema) {
  const NodePtr root = Parse("a: yes\nb: true\nc: 3.1\nd: 12\ne: ~\nf: '3.1'\ng: 0x1F\nh: .inf\ni: 1e3\n", "f.yml");
  EXPECT_TRUE(root->Get("a")->IsString());  // YAML 1.2: `yes` is text
  EXPECT_TRUE(root->Get("b")->IsBool());
  EXPECT_EQ(root->Get("c")->type, ScalarType::kFloat);
  EXPECT_EQ(root->Get("d")->type, ScalarType::kInt);
  EXPECT_TRUE(root->Get("e")->IsNull());
  EXPECT_TRUE(root->Get("f")->IsString());
  EXPECT_EQ(root->Get("g")->type, ScalarType::kInt);
  EXPECT_EQ(root->Get("h")->type, ScalarType::kFloat);
  EXPECT_EQ(root->Get("i")->type, ScalarType::kFloat);
  EXPECT_EQ(root->Get("i")->ToJson(), 1000.0);
}

TEST(YamlParse, RecordsOneBasedPositions) {
  const NodePtr root = Parse("nlu:\n- intent: greet\n  examples: |\n    - hi\n", "f.yml");
  const Node* item = root->Get("nlu")->items[0].get();
  EXPECT_EQ(item->line, 2);
  EXPECT_EQ(item->column, 3);
  EXPECT_EQ(item->Get("examples")->style, ScalarStyle::kLiteral);
  EXPECT_EQ(item->Get("examples")->value, "- hi\n");
}

TEST(YamlParse, SyntaxErrorNamesFileLineAndColumn) {
  const util::Diagnostic d = ParseError("a: 1\nb: [1, 2\nc: 3\n");
  EXPECT_EQ(d.location.file, "f.yml");
  EXPECT_GT(d.location.line, 1);
  EXPECT_NE(d.message.find("Failed to read 'f.yml'"), std::string::npos) << d.message;
}

TEST(YamlParse, DuplicateKeysAreErrors) {
  const util::Diagnostic d = ParseError("intents:\n- a\nintents:\n- b\n");
  EXPECT_EQ(d.location.line, 3);
  EXPECT_EQ(d.location.column, 1);
  EXPECT_NE(d.message.find("duplicate key 'intents'"), std::string::npos) << d.message;
}

TEST(YamlParse, AliasBombIsRefusedQuickly) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'k'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + prev;
    bomb += "]\n";
    prev = c;
  }
  const util::Diagnostic d = ParseError(bomb);
  EXPECT_NE(d.message.find("alias"), std::string::npos) << d.message;
  EXPECT_GT(d.location.line, 1);
}

TEST(YamlParse, ModestAliasesAreExpanded) {
  const NodePtr root = Parse("base: &b {text: hi}\nother: *b\n", "f.yml");
  EXPECT_EQ(root->Get("other")->Get("text")->value, "hi");
}

TEST(YamlParse, MergeKeysCopyMissingEntries) {
  const NodePtr root = Parse("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\n", "f.yml");
  EXPECT_EQ(root->Get("x")->Get("a")->value, "1");
  EXPECT_EQ(root->Get("x")->Get("b")->value, "3");
}

TEST(YamlParse, DeepNestingIsAnErrorNotAStackOverflow) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const util::Diagnostic d = ParseError(deep);
  EXPECT_NE(d.message.find("nests deeper"), std::string::npos) << d.message;
}

TEST(YamlParse, InvalidUtf8IsReported) {
  const util::Diagnostic d = ParseError("nlu:\n- intent: gr\xFF\xFE" "et\n");
  EXPECT_NE(d.message.find("UTF-8"), std::string::npos) << d.message;
}

TEST(YamlParse, UndefinedAliasAndSeveralDocumentsAreErrors) {
  EXPECT_NE(ParseError("a: *nope\n").message.find("undefined alias"), std::string::npos);
  EXPECT_NE(ParseError("a: 1\n---\nb: 2\n").message.find("single YAML document"), std::string::npos);
}

TEST(YamlParse, EmptyDocumentIsNull) {
  EXPECT_TRUE(Parse("", "f.yml")->IsNull());
  EXPECT_TRUE(Parse("# only a comment\n", "f.yml")->IsNull());
}

TEST(YamlParse, ExplicitStringTagWins) {
  EXPECT_TRUE(Parse("v: !!str 3.1\n", "f.yml")->Get("v")->IsString());
}

}  // namespace
}  // namespace trainyard::data::yaml
