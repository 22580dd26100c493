#include "core/util/option_reader.h"

#include <gtest/gtest.h>

#include <cmath>

namespace trainyard::util {
namespace {

using Json = nlohmann::ordered_json;

// The message an option read refuses with ("" when it is accepted).
template <typename Read>
std::string Refusal(Read read) {
  try {
    read();
  } catch (const InvalidConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(OptionReader, WholeNumbersMustBeWholeAndInRange) {
  const Json c = {{"epochs", 10}, {"as_float", 10.0}, {"half", 2.5}, {"negative", -3}, {"huge", 1e30},
                  {"past_int", 4294967296LL}, {"text", "ten"}, {"none", nullptr}};
  const OptionReader r(c, "DIETClassifier");
  EXPECT_EQ(r.Int("epochs", 300, 0), 10);
  EXPECT_EQ(r.Int("as_float", 300, 0), 10);
  EXPECT_EQ(r.Int("none", 300, 0), 300);
  EXPECT_EQ(r.Int("absent", 7, 0), 7);
  EXPECT_EQ(Refusal([&] { r.Int("half", 1, 0); }),
            "DIETClassifier: 'half' must be a whole number of at least 0, not 2.5.");
  EXPECT_EQ(Refusal([&] { r.Int("negative", 1, 0); }),
            "DIETClassifier: 'negative' must be a whole number of at least 0, not -3.");
  EXPECT_EQ(Refusal([&] { r.Int("epochs", 1, 1, 5); }),
            "DIETClassifier: 'epochs' must be a whole number from 1 to 5, not 10.");
  // Beyond int: refused, not wrapped into range.
  EXPECT_NE(Refusal([&] { r.Int("huge", 1, 1); }), "");
  EXPECT_NE(Refusal([&] { r.Int("past_int", 1, 1); }), "");
  EXPECT_EQ(Refusal([&] { r.Int("text", 1, 1); }),
            "DIETClassifier: 'text' must be a whole number of at least 1, not \"ten\".");
}

TEST(OptionReader, NumbersMustBeFiniteAndInRange) {
  const Json c = {{"rate", 0.5}, {"one", 1}, {"negative", -0.1}, {"text", ".inf"}, {"zero", 0}};
  const OptionReader r(c, "TEDPolicy");
  EXPECT_EQ(r.Real("rate", 0.2, 0, 1, /*below_max=*/true), 0.5);
  EXPECT_EQ(r.Real("one", 0.2, 0, 1), 1.0);
  EXPECT_EQ(Refusal([&] { r.Real("one", 0.2, 0, 1, /*below_max=*/true); }),
            "TEDPolicy: 'one' must be a number of at least 0 and below 1, not 1.");
  EXPECT_EQ(Refusal([&] { r.Real("negative", 0.2, 0, 1); }),
            "TEDPolicy: 'negative' must be a number from 0 to 1, not -0.1.");
  EXPECT_EQ(Refusal([&] { r.Num("text", 0.8); }), "TEDPolicy: 'text' must be a number, not \".inf\".");
  EXPECT_EQ(r.Positive("rate", 0.001), 0.5);
  EXPECT_EQ(Refusal([&] { r.Positive("zero", 0.001); }), "TEDPolicy: 'zero' must be a number above 0, not 0.");
  // A non-finite double (YAML's .inf where a converter keeps it as a number).
  const Json inf = {{"x", std::numeric_limits<double>::infinity()}};
  EXPECT_EQ(Refusal([&] { OptionReader(inf, "T").Real("x", 0, 0, OptionReader::kNoLimit); }),
            "T: 'x' must be a number of at least 0, not .inf.");
  const Json nan = {{"x", std::nan("")}};
  EXPECT_EQ(Refusal([&] { OptionReader(nan, "T").Positive("x", 1); }), "T: 'x' must be a number above 0, not .nan.");
}

TEST(OptionReader, BatchSizesAndSeeds) {
  int first = 64, last = 256;
  OptionReader(Json{{"batch_size", {32, 128}}}, "D").BatchSize(first, last);
  EXPECT_EQ(first, 32);
  EXPECT_EQ(last, 128);
  OptionReader(Json{{"batch_size", 16}}, "D").BatchSize(first, last);
  EXPECT_EQ(first, 16);
  EXPECT_EQ(last, 16);
  EXPECT_EQ(Refusal([&] { OptionReader(Json{{"batch_size", {0, 8}}}, "D").BatchSize(first, last); }),
            "D: 'batch_size' must be a whole number of at least 1, not 0.");
  EXPECT_NE(Refusal([&] { OptionReader(Json{{"batch_size", {8, 2.5}}}, "D").BatchSize(first, last); }), "");
  EXPECT_NE(Refusal([&] { OptionReader(Json{{"batch_size", {8, 16, 32}}}, "D").BatchSize(first, last); }), "");

  uint64_t seed = 0;
  EXPECT_FALSE(OptionReader(Json{{"random_seed", nullptr}}, "D").Seed("random_seed", seed));
  EXPECT_TRUE(OptionReader(Json{{"random_seed", 4294967295LL}}, "D").Seed("random_seed", seed));
  EXPECT_EQ(seed, 4294967295u);
  EXPECT_EQ(Refusal([&] { OptionReader(Json{{"random_seed", -5}}, "D").Seed("random_seed", seed); }),
            "D: 'random_seed' must be null or a whole number from 0 to 4294967295, not -5.");
  EXPECT_NE(Refusal([&] { OptionReader(Json{{"random_seed", 4294967296LL}}, "D").Seed("random_seed", seed); }), "");
}

}  // namespace
}  // namespace trainyard::util
