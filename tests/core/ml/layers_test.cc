// core/ml's building blocks against hand-computed or brute-force answers.

#include "core/ml/layers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

#include "core/ml/batching.h"
#include "core/ml/device.h"
#include "core/ml/options.h"
#include "core/ml/tagging.h"
#include "core/util/strings.h"

namespace trainyard::ml {
namespace {

const torch::Device kCpu(torch::kCPU);

// Score of one tag path under emissions [L, T] and transitions [T, T].
double PathScore(const torch::Tensor& e, const torch::Tensor& tr, const std::vector<int>& path) {
  double s = e[0][path[0]].item<double>();
  for (size_t t = 1; t < path.size(); ++t)
    s += tr[path[t - 1]][path[t]].item<double>() + e[t][path[t]].item<double>();
  return s;
}

// Every path of length L over T tags.
std::vector<std::vector<int>> AllPaths(int L, int T) {
  std::vector<std::vector<int>> out{{}};
  for (int t = 0; t < L; ++t) {
    std::vector<std::vector<int>> next;
    for (const auto& p : out)
      for (int j = 0; j < T; ++j) {
        next.push_back(p);
        next.back().push_back(j);
      }
    out = next;
  }
  return out;
}

// Decoded tags to entities as Rasa does it: inconsistent BILOU chunks are
// repaired, and I-/L- tokens extend the entity before them instead of
// splitting it.
TEST(TaggingTest, TagsBecomeSpansAsRasaDecodesThem) {
  auto spans = [](const std::vector<std::string>& tags, std::vector<float> confidences = {}, bool bilou = true) {
    if (confidences.empty()) confidences.assign(tags.size(), 1.0f);
    std::vector<std::string> out;
    for (const Span& s : TagsToSpans(tags, confidences, bilou))
      out.push_back(s.entity + ":" + std::to_string(s.first) + "-" + std::to_string(s.last));
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(spans({"B-a", "I-a", "L-a", "I-a", "L-a"}), V{"a:0-4"});
  EXPECT_EQ(spans({"U-a", "L-a", "O", "U-a", "U-a"}), (V{"a:0-1", "a:3-3", "a:4-4"}));
  EXPECT_EQ(spans({"B-a", "O", "I-a", "L-a"}), (V{"a:0-0", "a:2-3"}));
  EXPECT_EQ(spans({"B-a", "B-a", "L-a"}), (V{"a:0-0", "a:1-2"}));
  EXPECT_EQ(spans({"B-a", "I-a"}), V{"a:0-1"});
  // A chunk takes its most confident type.
  EXPECT_EQ(spans({"B-a", "I-b", "L-b", "U-a"}, {0.2f, 0.9f, 0.9f, 1.0f}), (V{"b:0-2", "a:3-3"}));
  EXPECT_EQ(spans({"a", "a", "b", "O", "b"}, {}, false), (V{"a:0-1", "b:2-2", "b:4-4"}));
  // By mean confidence, not summed (two a's at 0.6 lose to one b at 0.9); the
  // tokens that changed type take the winner's mean; an entity is as confident
  // as its least confident token (it was the mean: 0.75 below).
  const auto mixed = TagsToSpans({"B-a", "I-a", "L-b"}, {0.6f, 0.6f, 0.9f}, true);
  ASSERT_EQ(mixed.size(), 1u);
  EXPECT_EQ(mixed[0].entity, "b");
  EXPECT_NEAR(mixed[0].confidence, 0.9, 1e-6);
  const auto confident = TagsToSpans({"B-a", "L-a"}, {0.5f, 1.0f}, true);
  ASSERT_EQ(confident.size(), 1u);
  EXPECT_DOUBLE_EQ(confident[0].confidence, 0.5);
}

// split_entities_by_comma: tokens of one entity type stay one entity across
// at most one character, or across up to three of ". , ;" and spaces unless
// a comma is among them and the type is split by comma; otherwise they are two.
TEST(TaggingTest, SplitEntitiesByCommaSplitsAtCommas) {
  auto spans = [](const std::string& text, const std::vector<std::pair<int, int>>& offsets,
                  const std::vector<std::string>& tags, const nlohmann::ordered_json& option) {
    std::vector<nlu::Token> tokens;
    for (const auto& [start, end] : offsets)
      tokens.push_back({text.substr(start, end - start), start, end});
    const std::u32string cps = util::DecodeUtf8(text);
    const CommaSplitting splitting = CommaSplitting::FromJson(option);
    const TokenGaps gaps{tokens, cps, splitting};
    std::vector<std::string> out;
    for (const Span& s : TagsToSpans(tags, std::vector<float>(tags.size(), 1.0f), false, &gaps))
      out.push_back(s.entity + ":" + std::to_string(s.first) + "-" + std::to_string(s.last));
    return out;
  };
  using V = std::vector<std::string>;
  // "berlin, paris": two characters between the tokens.
  const std::vector<std::pair<int, int>> two = {{0, 6}, {8, 13}};
  EXPECT_EQ(spans("berlin, paris", two, {"city", "city"}, true), (V{"city:0-0", "city:1-1"}));
  EXPECT_EQ(spans("berlin, paris", two, {"city", "city"}, false), V{"city:0-1"});
  EXPECT_EQ(spans("berlin, paris", two, {"city", "city"}, {{"city", false}}), V{"city:0-1"});
  EXPECT_EQ(spans("berlin, paris", two, {"city", "city"}, {{"food", false}}),
            (V{"city:0-0", "city:1-1"}));
  // One space never splits, nor do a full stop or two spaces (Rasa 3 splits
  // those too); a dash or more than three characters always do.
  EXPECT_EQ(spans("new york", {{0, 3}, {4, 8}}, {"city", "city"}, true), V{"city:0-1"});
  EXPECT_EQ(spans("st. louis", {{0, 2}, {4, 9}}, {"city", "city"}, true), V{"city:0-1"});
  EXPECT_EQ(spans("new  york", {{0, 3}, {5, 9}}, {"city", "city"}, true), V{"city:0-1"});
  EXPECT_EQ(spans("rio - de", {{0, 3}, {6, 8}}, {"city", "city"}, false),
            (V{"city:0-0", "city:1-1"}));
  EXPECT_EQ(spans("a ,,, b", {{0, 1}, {6, 7}}, {"city", "city"}, false),
            (V{"city:0-0", "city:1-1"}));
  EXPECT_THROW(CommaSplitting::FromJson("yes"), std::invalid_argument);
  EXPECT_THROW(CommaSplitting::FromJson({{"city", 1}}), std::invalid_argument);
}

TEST(CrfTest, HandComputedTwoTokenCase) {
  Rng rng(1, kCpu);
  Crf crf(2, rng);
  torch::NoGradGuard no_grad;
  crf->transitions.copy_(torch::tensor({{0.5, -1.0}, {0.0, 2.0}}));
  // Emissions: token 0 prefers tag 0 (1 vs 0), token 1 prefers tag 0 (0.4 vs 0).
  torch::Tensor e = torch::tensor({{1.0, 0.0}, {0.4, 0.0}}).view({1, 2, 2});
  // Paths: 00 = 1 + 0.5 + 0.4 = 1.9; 01 = 1 - 1 + 0 = 0; 10 = 0 + 0 + 0.4 = 0.4; 11 = 0 + 2 + 0 = 2.
  const auto paths = crf->Decode(e, {2}, nullptr);
  EXPECT_EQ(paths[0], (std::vector<int>{1, 1}));
  const double z = std::log(std::exp(1.9) + std::exp(0.0) + std::exp(0.4) + std::exp(2.0));
  torch::Tensor tags = torch::tensor({{0, 0}}, torch::kLong);
  torch::Tensor mask = torch::ones({1, 2}, torch::kBool);
  EXPECT_NEAR(crf->NegativeLogLikelihood(e, tags, mask).item<double>(), z - 1.9, 1e-5);
}

TEST(CrfTest, MatchesBruteForceWithPaddingAndMarginals) {
  Rng rng(7, kCpu);
  const int T = 3, L = 4;
  Crf crf(T, rng);
  torch::manual_seed(3);
  torch::Tensor e = torch::randn({2, L, T});
  const std::vector<int64_t> lengths{4, 2};
  torch::Tensor mask = torch::tensor({{1, 1, 1, 1}, {1, 1, 0, 0}}).to(torch::kBool);
  torch::Tensor tags = torch::tensor({{0, 2, 1, 1}, {2, 0, 0, 0}}, torch::kLong);
  std::vector<std::vector<float>> conf;
  const auto decoded = crf->Decode(e, lengths, &conf);
  double nll = 0;
  for (int b = 0; b < 2; ++b) {
    const int len = static_cast<int>(lengths[b]);
    torch::Tensor eb = e[b].slice(0, 0, len);
    double z = 0, best = -1e300;
    std::vector<int> best_path;
    std::vector<std::vector<double>> marginal(len, std::vector<double>(T, 0));
    for (const auto& p : AllPaths(len, T)) {
      const double s = PathScore(eb, crf->transitions.detach(), p);
      z += std::exp(s);
      for (int t = 0; t < len; ++t) marginal[t][p[t]] += std::exp(s);
      if (s > best) best = s, best_path = p;
    }
    EXPECT_EQ(decoded[b], best_path);
    std::vector<int> gold(len);
    for (int t = 0; t < len; ++t) gold[t] = static_cast<int>(tags[b][t].item<int64_t>());
    nll += std::log(z) - PathScore(eb, crf->transitions.detach(), gold);
    for (int t = 0; t < len; ++t) EXPECT_NEAR(conf[b][t], marginal[t][best_path[t]] / z, 1e-4);
  }
  EXPECT_NEAR(crf->NegativeLogLikelihood(e, tags, mask).item<double>(), nll / 2, 1e-4);
}

// The CRF's loops on the CPU use their own vectorized exp and log.
TEST(CrfTest, ExpAndLogAgreeWithLibm) {
  double exp_error = 0, log_error = 0;
  for (double x = -87; x <= 88; x += 0.00071) {
    const float f = static_cast<float>(x);
    exp_error =
        std::max(exp_error, std::abs(CrfExpForTest(f) - std::exp(double{f})) / std::exp(double{f}));
  }
  for (double l = -69; l <= 12; l += 0.00053) {
    const float f = static_cast<float>(std::exp(l));
    const double want = std::log(double{f});
    log_error =
        std::max(log_error, std::abs(CrfLogForTest(f) - want) / std::max(1.0, std::abs(want)));
  }
  EXPECT_LT(exp_error, 5e-7);
  EXPECT_LT(log_error, 3e-7);
  // Beyond the range: exp clamps to its ends, log reads anything below 1e-30 as 1e-30.
  EXPECT_GT(CrfExpForTest(-1000.0f), 0.0f);
  EXPECT_LT(CrfExpForTest(-1000.0f), 2e-38f);
  EXPECT_TRUE(std::isfinite(CrfExpForTest(1000.0f)));
  EXPECT_NEAR(CrfLogForTest(0.0f), std::log(1e-30), 1e-5);
  EXPECT_NEAR(CrfLogForTest(-0.0f), std::log(1e-30), 1e-5);
  EXPECT_EQ(CrfExpForTest(0.0f), 1.0f);
  EXPECT_EQ(CrfLogForTest(1.0f), 0.0f);
}

// The CRF's log-partition has a hand-written backward (forward-backward
// marginals), run over chunks of sequences side by side. Its loss and
// gradients must equal autograd's through the plain recursion, with ragged
// lengths, a hole in a mask, large scores and garbage on the padding.
TEST(CrfTest, GradientsEqualAutogradThroughThePlainRecursion) {
  const int64_t B = 24, L = 7, T = 5;
  torch::manual_seed(11);
  torch::Tensor mask = torch::zeros({B, L}, torch::kBool);
  for (int64_t b = 0; b < B; ++b) mask[b].slice(0, 0, 1 + b % L).fill_(true);
  mask[5][2] = false;  // positions 0, 1, 3, 4, 5 real: the chain links 1 to 3
  torch::Tensor e0 = torch::randn({B, L, T}) * 6;
  e0.masked_fill_(mask.logical_not().unsqueeze(2), 900.0);  // not real: must not count
  torch::Tensor tags = torch::randint(T, {B, L}, torch::kLong);

  auto reference = [&](const torch::Tensor& e, const torch::Tensor& tr) {
    torch::Tensor alpha = e.select(1, 0);
    for (int64_t t = 1; t < L; ++t) {
      torch::Tensor next = torch::logsumexp(alpha.unsqueeze(2) + tr.unsqueeze(0), 1) + e.select(1, t);
      alpha = torch::where(mask.select(1, t).unsqueeze(1), next, alpha);
    }
    return torch::logsumexp(alpha, 1);
  };
  torch::Tensor tr0 = torch::randn({T, T}) * 4;
  tr0[1][2] = -60.0;  // a transition the data forbids

  const int threads = at::get_num_threads();
  using Terms = CrfImpl::GradientTerms;
  for (const Terms terms : {Terms::kPerPosition, Terms::kAllAtOnce}) {
    for (int n : {1, 2}) {
      SCOPED_TRACE(terms == Terms::kPerPosition ? "per position" : "all positions at once");
      at::set_num_threads(n);
      Rng rng(1, kCpu);
      Crf crf(T, rng);
      crf->gradient_terms = terms;
      {
        torch::NoGradGuard no_grad;
        crf->transitions.copy_(tr0);
      }
      torch::Tensor e2 = e0.clone().requires_grad_(true);
      torch::Tensor loss = crf->NegativeLogLikelihood(e2, tags, mask);
      loss.backward();
      // The reference: autograd through the plain recursion, and the gold path's score.
      torch::Tensor e_want = e0.clone().requires_grad_(true),
                    tr_want = tr0.clone().requires_grad_(true);
      torch::Tensor gold =
          (e_want.gather(2, tags.unsqueeze(2)).squeeze(2) * mask.to(torch::kFloat)).sum(1);
      using torch::indexing::Slice;
      gold = gold + (tr_want.index({tags.index({Slice(), Slice(0, L - 1)}),
                                    tags.index({Slice(), Slice(1, L)})}) *
                     mask.index({Slice(), Slice(1, L)}).to(torch::kFloat))
                        .sum(1);
      torch::Tensor want = (reference(e_want, tr_want) - gold).mean();
      want.backward();
      EXPECT_NEAR(loss.item<double>(), want.item<double>(), 1e-3) << n << " threads";
      EXPECT_TRUE(torch::allclose(e2.grad(), e_want.grad(), 1e-4, 1e-5)) << n << " threads";
      EXPECT_TRUE(torch::allclose(crf->transitions.grad(), tr_want.grad(), 1e-4, 1e-5))
          << n << " threads";
      EXPECT_TRUE(torch::isfinite(crf->transitions.grad()).all().item<bool>());
      // Padding positions get no gradient.
      const torch::Tensor padding = mask.logical_not().unsqueeze(2).expand({B, L, T});
      EXPECT_EQ(e2.grad().masked_select(padding).abs().max().item<float>(), 0.0f);
    }
  }
  at::set_num_threads(threads);
}

// On the CPU attention's matmuls are split over the threads (one BLAS call
// per small matrix otherwise runs them one after another): the encoder's
// output and its gradients must not depend on the thread count.
TEST(TransformerTest, OutputAndGradientsDoNotDependOnTheThreadCount) {
  TransformerOptions o;
  o.layers = 1;
  o.units = 16;
  o.heads = 2;
  o.filter_units = 32;
  o.dropout = 0;
  const Packing p = Packing::Chunked({3, 5, 2, 4, 6, 1, 3, 2}, 8, kCpu);
  ASSERT_GE(p.batch, 4);
  torch::manual_seed(5);
  const torch::Tensor input = torch::randn({p.rows(), 12});
  const int threads = at::get_num_threads();
  std::vector<torch::Tensor> outputs, input_grads, weight_grads;
  for (int n : {1, 2}) {
    at::set_num_threads(n);
    Rng rng(3, kCpu);
    TransformerEncoder encoder(12, o, rng);
    torch::Tensor x = input.clone().requires_grad_(true);
    torch::Tensor out = encoder->forward(x, p, true, rng);
    (out * torch::arange(out.numel()).view(out.sizes()).sin()).sum().backward();
    outputs.push_back(out.detach());
    input_grads.push_back(x.grad());
    weight_grads.push_back(encoder->named_parameters()["layer0_query.weight"].grad());
  }
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::allclose(outputs[0], outputs[1], 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(input_grads[0], input_grads[1], 1e-5, 1e-6));
  ASSERT_TRUE(weight_grads[0].defined());
  EXPECT_TRUE(torch::allclose(weight_grads[0], weight_grads[1], 1e-5, 1e-6));
  EXPECT_GT(weight_grads[0].abs().max().item<float>(), 0.0f);
}

TEST(PackingTest, ChunksHoldWholeSequencesAndRoundTrip) {
  const Packing p = Packing::Chunked({3, 2, 4, 1}, 5, kCpu);
  EXPECT_EQ(p.max_length, 5);
  EXPECT_EQ(p.batch, 2);  // [3 2] [4 1]: nothing split
  torch::Tensor x = torch::arange(10).to(torch::kFloat).unsqueeze(1);
  EXPECT_TRUE(torch::equal(p.Pack(p.Unpack(x)), x));
  EXPECT_EQ(p.segment[0][3].item<int64_t>(), 1);
  EXPECT_EQ(p.segment[1][4].item<int64_t>(), 3);
  EXPECT_EQ(p.positions[9].item<int64_t>(), 0);
  EXPECT_FALSE(p.padding.any().item<bool>());
  const Packing q = Packing::Chunked({2, 7}, 4, kCpu);  // a long sequence widens the chunks
  EXPECT_EQ(q.max_length, 7);
  EXPECT_EQ(q.batch, 2);
  EXPECT_TRUE(q.padding[0][2].item<bool>());
}

// The chunked (block-diagonal) attention gives what one sequence per row
// gives, for every attention option.
TEST(TransformerTest, ChunkedAttentionEqualsPerSequenceAttention) {
  for (int variant = 0; variant < 3; ++variant) {
    TransformerOptions o;
    o.layers = 2;
    o.units = 16;
    o.heads = 2;
    o.filter_units = 32;
    o.key_relative = variant == 1;
    o.value_relative = variant == 1;
    o.max_relative_position = 2;
    o.unidirectional = variant == 2;
    Rng rng(5, kCpu);
    TransformerEncoder encoder(8, o, rng);
    const std::vector<int64_t> lengths{3, 5, 1, 4};
    torch::manual_seed(11);
    torch::Tensor x = torch::randn({13, 8});
    torch::NoGradGuard no_grad;
    torch::Tensor a = encoder->forward(x, Packing::FromLengths(lengths, kCpu), false, rng);
    torch::Tensor b = encoder->forward(x, Packing::Chunked(lengths, 6, kCpu), false, rng);
    EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-5)) << "variant " << variant;
    if (variant == 2) {
      // Unidirectional: the first token of sequence 2 does not see later ones.
      torch::Tensor y = x.clone();
      y[12] = y[12] + 5.0;  // the last token of the last sequence
      torch::Tensor c = encoder->forward(y, Packing::Chunked(lengths, 6, kCpu), false, rng);
      EXPECT_TRUE(torch::allclose(b.slice(0, 9, 12), c.slice(0, 9, 12), 1e-4, 1e-5));
      EXPECT_FALSE(torch::allclose(b[12], c[12], 1e-4, 1e-5));
    }
  }
}

TEST(SimilarityLossTest, SeparatedEmbeddingsScoreAndMaskTheirOwnLabel) {
  Rng rng(3, kCpu);
  SimilarityOptions o;
  o.negatives = 5;
  torch::Tensor all = torch::eye(3) * 4;  // three orthogonal labels
  torch::Tensor ids = torch::arange(3, torch::kLong);
  torch::Tensor label_ids = torch::tensor({0, 1, 2, 0}, torch::kLong);
  torch::Tensor inputs = all.index_select(0, label_ids);
  const auto good = DotProductLoss(o, inputs, inputs, label_ids, all, ids, rng);
  EXPECT_FLOAT_EQ(good.accuracy.item<float>(), 1.0f);
  const auto bad = DotProductLoss(o, inputs.roll(1, 0), inputs, label_ids, all, ids, rng);
  EXPECT_LT(bad.accuracy.item<float>(), 0.5f);
  EXPECT_GT(bad.loss.item<float>(), good.loss.item<float>() + 5);
  // Margin loss is zero once positives exceed 0.8 and negatives stay below -0.4.
  o.loss_type = "margin";
  o.similarity_type = "cosine";
  torch::Tensor spread = torch::tensor({{1.0, 0.0}, {-1.0, 0.0}});
  const auto margin = DotProductLoss(o, spread, spread, torch::tensor({0, 1}, torch::kLong), spread,
                                     torch::tensor({0, 1}, torch::kLong), rng);
  EXPECT_NEAR(margin.loss.item<float>(), 0.0f, 1e-6);
  torch::Tensor conf = Confidences(torch::tensor({{2.0, -1.0, 1.0}}), "linear_norm");
  EXPECT_NEAR(conf[0][0].item<float>(), 2.0f / 3, 1e-6);
  EXPECT_NEAR(conf[0][1].item<float>(), 0.0f, 1e-6);
}

// Example b's similarities when every label (`all`, one per input) and every
// input is a candidate negative: the positive first, then the four kinds for
// each other index (the masked own ones left out).
torch::Tensor EveryLogit(const torch::Tensor& inputs, const torch::Tensor& all, int64_t b) {
  std::vector<torch::Tensor> logits = {(inputs[b] * all[b]).sum()};
  for (int64_t j = 0; j < all.size(0); ++j) {
    if (j == b) continue;
    for (const torch::Tensor& x : {(inputs[b] * all[j]).sum(), (all[b] * all[j]).sum(),
                                   (inputs[b] * inputs[j]).sum(), (all[b] * inputs[j]).sum()})
      logits.push_back(x);
  }
  return torch::stack(logits);
}

TEST(SimilarityLossTest, NegativesAreDistinctCandidatesAsRasaSamplesThem) {
  // With more negatives asked for than there are candidates, each other label
  // and each other input of the batch is a negative exactly once, whatever the
  // draw (sampling with replacement would repeat some and miss others): the
  // loss is the softmax cross-entropy over all of them.
  SimilarityOptions o;
  o.negatives = 20;
  const torch::Tensor all = torch::tensor({{1.0f, 0.0f}, {0.0f, 2.0f}, {-1.0f, 1.0f}});
  const torch::Tensor ids = torch::arange(3, torch::kLong);
  const torch::Tensor inputs = torch::tensor({{0.5f, 0.2f}, {0.1f, 0.9f}, {-0.3f, 0.4f}});
  double expected = 0;
  for (int64_t b = 0; b < 3; ++b) {
    const torch::Tensor logits = EveryLogit(inputs, all, b);
    expected += (torch::logsumexp(logits, 0) - logits[0]).item<double>() / 3;
  }
  for (uint64_t seed : {1, 2, 3, 4})
    EXPECT_NEAR(DotProductLoss(o, inputs, all, ids, all, ids, Rng(seed, kCpu)).loss.item<double>(), expected, 1e-5)
        << "seed " << seed;
}

// constrain_similarities and scale_loss as Rasa's DotProductLoss computes
// them: the sigmoid cross-entropies averaged over all of an example's
// similarities (the masked ones counted) are added to the softmax's; then, once
// some example of the batch has p > 0.5, each is weighed ((1 - p) / 0.5)^4, so
// a badly learned one weighs more than 1 (up to 16), not at most 1.
TEST(SimilarityLossTest, ConstrainedAndScaledLossesAreRasas) {
  const torch::Tensor all = torch::tensor({{2.0f, 0.0f}, {0.0f, 2.0f}, {-1.0f, 1.0f}});
  const torch::Tensor ids = torch::arange(3, torch::kLong);
  // Example 0 is learned (p > 0.5), example 2 is not (p < 0.5).
  const torch::Tensor inputs = torch::tensor({{2.0f, 0.0f}, {0.1f, 0.9f}, {0.6f, 0.4f}});
  auto expected = [&](double scale_of_inputs, bool constrain, bool scale) {
    const torch::Tensor in = inputs * scale_of_inputs;
    std::vector<double> per_example, p;
    for (int64_t b = 0; b < 3; ++b) {
      const torch::Tensor l = EveryLogit(in, all, b);
      double loss = (torch::logsumexp(l, 0) - l[0]).item<double>();
      if (constrain) {
        // The positive towards 1, the 8 real negatives towards 0, over 13 similarities (4 masked).
        const double sum = torch::nn::functional::softplus(-l[0]).item<double>() +
                           torch::nn::functional::softplus(l.slice(0, 1)).sum().item<double>();
        loss += sum / 13;
      }
      per_example.push_back(loss);
      p.push_back(std::exp(-loss));
    }
    const bool learned = *std::max_element(p.begin(), p.end()) > 0.5;
    double mean = 0;
    for (size_t b = 0; b < 3; ++b)
      mean += per_example[b] * (scale && learned ? std::pow((1 - p[b]) / 0.5, 4) : 1.0) / 3;
    return std::make_pair(mean, p);
  };
  for (const double scale_of_inputs : {1.0, 0.01}) {
    const std::vector<double> p =
        expected(scale_of_inputs, false, false).second;  // each example's p
    if (scale_of_inputs == 1.0) {  // the case that tells a weight above 1 from one capped at 1
      ASSERT_GT(p[0], 0.5);
      ASSERT_LT(p[2], 0.5);
    } else {  // nothing learned: no scaling
      ASSERT_LT(*std::max_element(p.begin(), p.end()), 0.5);
    }
    for (const bool constrain : {false, true})
      for (const bool scale : {false, true}) {
        SimilarityOptions o;
        o.negatives = 20;
        o.constrain_similarities = constrain;
        o.scale_loss = scale;
        const double loss =
            DotProductLoss(o, inputs * scale_of_inputs, all, ids, all, ids, Rng(1, kCpu))
                .loss.item<double>();
        EXPECT_NEAR(loss, expected(scale_of_inputs, constrain, scale).first, 1e-5)
            << "inputs x" << scale_of_inputs << " constrain " << constrain << " scale " << scale;
      }
  }
}

// The margin loss as Rasa's: without use_maximum_negative_similarity every
// negative label counts, but the label-label, input-input and label-input
// negatives count by their most similar one either way.
TEST(SimilarityLossTest, MarginLossCountsNegativesAsRasa) {
  // Close embeddings: several negatives of each kind inside the margin.
  const torch::Tensor all = torch::tensor({{1.0f, 0.5f}, {0.5f, 1.0f}, {0.8f, 0.7f}});
  const torch::Tensor ids = torch::arange(3, torch::kLong);
  const torch::Tensor inputs = torch::tensor({{0.9f, 0.6f}, {0.4f, 0.9f}, {0.7f, 0.8f}});
  for (const bool use_max : {true, false}) {
    SimilarityOptions o;
    o.negatives = 20;
    o.loss_type = "margin";
    o.use_maximum_negative_similarity = use_max;
    const double mu_pos = o.maximum_positive_similarity, mu_neg = o.maximum_negative_similarity;
    double expected = 0;
    for (int64_t b = 0; b < 3; ++b) {
      const torch::Tensor l = EveryLogit(inputs, all, b);
      const torch::Tensor kinds = l.slice(0, 1).view({-1, 4});  // per other index: il, ll, ii, li
      auto most = [&](int64_t kind) {
        return std::max(0.0, mu_neg + kinds.select(1, kind).max().item<double>());
      };
      double loss = std::max(0.0, mu_pos - l[0].item<double>());
      loss += use_max ? most(0) : torch::relu(mu_neg + kinds.select(1, 0)).sum().item<double>();
      loss += o.negative_margin_scale * (most(1) + most(2) + most(3));
      expected += loss / 3;
    }
    EXPECT_NEAR(DotProductLoss(o, inputs, all, ids, all, ids, Rng(1, kCpu)).loss.item<double>(),
                expected, 1e-5)
        << "use_maximum_negative_similarity " << use_max;
  }
}

TEST(DropoutTest, DropsAtItsRateScalesTheRestAndIsTheSameOnAnyThreadCount) {
  const torch::Tensor x = torch::ones({300, 1000}).requires_grad_(true);
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  const torch::Tensor one = Dropout(x, 0.2, true, Rng(7, kCpu));
  torch::set_num_threads(2);
  const torch::Tensor two = Dropout(x, 0.2, true, Rng(7, kCpu));
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one, two));
  const torch::Tensor kept = one.ne(0);
  EXPECT_NEAR(kept.to(torch::kFloat).mean().item<double>(), 0.8, 0.005);
  EXPECT_TRUE(torch::allclose(one.masked_select(kept), torch::full({kept.sum().item<int64_t>()}, 1.25f)));
  // The gradient flows through the kept elements only, scaled alike.
  (one * 3).sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), one.detach() * 3));
  // Neighbours are dropped independently: both of two adjacent elements are
  // kept 0.8 x 0.8 of the time, and so are elements 1000 apart (rows).
  const torch::Tensor flat = kept.flatten().to(torch::kFloat);
  const int64_t n = flat.numel();
  EXPECT_NEAR((flat.slice(0, 0, n - 1) * flat.slice(0, 1, n)).mean().item<double>(), 0.64, 0.006);
  EXPECT_NEAR((flat.slice(0, 0, n - 1000) * flat.slice(0, 1000, n)).mean().item<double>(), 0.64,
              0.006);
  // Another draw, another mask, independent of the first (agreeing on
  // 0.8 x 0.8 + 0.2 x 0.2 of the elements); no dropout outside training.
  const torch::Tensor other = Dropout(x, 0.2, true, Rng(8, kCpu)).ne(0);
  EXPECT_NEAR(other.eq(kept).to(torch::kFloat).mean().item<double>(), 0.68, 0.006);
  EXPECT_FALSE(torch::equal(Dropout(x, 0.2, true, Rng(8, kCpu)), one));
  EXPECT_TRUE(torch::equal(Dropout(x, 0.2, false, Rng(7, kCpu)), x));
  // Without rescaling the same mask keeps the values as they are.
  const torch::Tensor plain = Dropout(x, 0.2, true, Rng(7, kCpu), /*rescale=*/false);
  EXPECT_TRUE(torch::equal(plain.ne(0), kept));
  EXPECT_TRUE(torch::equal(plain.masked_select(kept), x.masked_select(kept)));
}

TEST(LazyAdamTest, MovesRowsAsDenseAdamDoes) {
  // Steps touching rows {1, 3}, {3, 9000}, {5, 3, 5000}, {3}: torch's (dense)
  // Adam keeps moving rows 1, 5, 5000 and 9000 on their momentum in the steps
  // they are absent; LazyAdam owes those moves until a row is touched again or
  // flushed (a flush goes through the table in blocks of rows: the rows lie in
  // different blocks).
  Rng rng(2, kCpu);
  SparseDense layer(10000, 4, rng);
  const torch::Tensor before = layer->weight.detach().clone();
  torch::Tensor reference = before.clone().requires_grad_(true);
  LazyAdam lazy(layer->weight, 0.1, 0.0);
  torch::optim::Adam adam({reference}, torch::optim::AdamOptions(0.1).eps(1e-7));
  namespace F = torch::nn::functional;
  const std::vector<std::vector<int64_t>> steps = {{1, 3, 3}, {3, 9000}, {5, 3, 5000}, {3}};
  for (const auto& indices : steps) {
    std::vector<float> weights;
    for (size_t k = 0; k < indices.size(); ++k) weights.push_back(0.5f + static_cast<float>(k));
    SparseRows rows{torch::tensor(indices, torch::kLong), torch::tensor({int64_t{0}}, torch::kLong),
                    torch::tensor(weights)};
    layer->forward(rows, 0.0, false, rng).sub(1).pow(2).sum().backward();
    lazy.Step();
    adam.zero_grad();
    torch::Tensor dense = F::embedding_bag(rows.indices, reference,
                                           F::EmbeddingBagFuncOptions().offsets(rows.offsets).mode(torch::kSum)
                                               .per_sample_weights(rows.weights));
    (dense + layer->bias.detach()).sub(1).pow(2).sum().backward();
    adam.step();
  }
  const torch::Tensor expected = reference.detach();
  // Row 3 was touched last step: up to date. Rows 1 and 5 still owe.
  EXPECT_TRUE(torch::allclose(layer->weight.detach()[3], expected[3], 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(layer->weight.detach()[1], expected[1], 1e-5, 1e-6));
  lazy.Flush();
  const torch::Tensor after = layer->weight.detach();
  for (int r : {1, 3, 5, 5000, 9000}) {
    EXPECT_TRUE(torch::allclose(after[r], expected[r], 1e-5, 1e-6)) << r << after[r] << expected[r];
    EXPECT_FALSE(torch::equal(after[r], before[r])) << r;
  }
  for (int r : {0, 2, 4, 4999, 9999}) EXPECT_TRUE(torch::equal(after[r], before[r])) << r;
}

TEST(SparseDenseTest, InputDropoutKeepsTheSurvivingValuesUnscaledAsRasa) {
  // 4000 bags of one input each (index 3, value 1.5): in training with rate
  // 0.25 about a quarter come out as the bias alone, the rest as exactly
  // 1.5 x row 3 + bias (Rasa's SparseDropout retains values as they are;
  // inverted dropout would give 2 x row 3).
  Rng rng(5, kCpu);
  SparseDense layer(10, 4, rng);
  torch::NoGradGuard no_grad;
  layer->bias.copy_(torch::tensor({0.5f, -1.0f, 2.0f, 0.0f}));
  const int64_t n = 4000;
  SparseRows rows{torch::full({n}, 3, torch::kLong), torch::arange(n, torch::kLong), torch::full({n}, 1.5f)};
  const torch::Tensor out = layer->forward(rows, 0.25, true, rng);
  const torch::Tensor kept_row = layer->weight[3] * 1.5 + layer->bias;
  const torch::Tensor kept = (out - kept_row).abs().amax(1).lt(1e-6);
  const torch::Tensor dropped = (out - layer->bias).abs().amax(1).lt(1e-6);
  EXPECT_TRUE(kept.logical_xor(dropped).all().item<bool>()) << "each bag is either kept unscaled or dropped";
  EXPECT_NEAR(dropped.to(torch::kFloat).mean().item<double>(), 0.25, 0.02);
  // Outside training nothing is dropped.
  EXPECT_TRUE((layer->forward(rows, 0.25, false, rng) - kept_row).abs().max().item<float>() < 1e-6);
}

TEST(SparseDenseTest, KernelGradientHasOneSortedRowPerDistinctIndex) {
  // Bags {7, 2, 7}, {} and {2, 40, 2, 2}: the kernel's gradient is the dense
  // one's on rows 2, 7 and 40 and nothing else, each row once. Tables of 50
  // rows and of 70,000 (many more rows than the batch has entries: the
  // entries are sorted instead of counted into rows).
  for (const int64_t vocabulary : {int64_t{50}, int64_t{70000}}) {
    Rng rng(4, kCpu);
    SparseDense layer(vocabulary, 3, rng);
    SparseRows rows{torch::tensor({7, 2, 7, 2, 40, 2, 2}, torch::kLong),
                    torch::tensor({0, 3, 3}, torch::kLong),
                    torch::tensor({0.5f, 1.0f, 2.0f, -1.0f, 3.0f, 0.25f, 4.0f})};
    const torch::Tensor target = torch::arange(9, torch::kFloat).view({3, 3});
    (layer->forward(rows, 0.0, false, rng) * target).sum().backward();
    const torch::Tensor grad = layer->weight.grad();
    ASSERT_TRUE(grad.is_sparse());
    EXPECT_TRUE(torch::equal(grad._indices(), torch::tensor({2, 7, 40}, torch::kLong).view({1, 3})))
        << vocabulary;
    EXPECT_EQ(grad.size(0), vocabulary);

    torch::Tensor dense = layer->weight.detach().clone().requires_grad_(true);
    namespace F = torch::nn::functional;
    (F::embedding_bag(rows.indices, dense,
                      F::EmbeddingBagFuncOptions()
                          .offsets(rows.offsets)
                          .mode(torch::kSum)
                          .per_sample_weights(rows.weights)) *
     target)
        .sum()
        .backward();
    EXPECT_TRUE(torch::allclose(grad.to_dense(), dense.grad(), 1e-6, 1e-6)) << vocabulary;
  }
}

TEST(SumGradientsTest, MergesSortedRowsAndAddsInTheGivenOrder) {
  // Rows {1, 4, 9} and {0, 4, 12} of a [20, 2] table: the sum has rows
  // {0, 1, 4, 9, 12}, sorted and distinct, row 4 the two values added.
  auto rows = [](std::vector<int64_t> r, const torch::Tensor& values) {
    const auto n = static_cast<int64_t>(r.size());
    return torch::sparse_coo_tensor(torch::tensor(r, torch::kLong).view({1, n}), values, {20, 2});
  };
  const torch::Tensor a =
      rows({1, 4, 9}, torch::tensor({1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}).view({3, 2}));
  const torch::Tensor b =
      rows({0, 4, 12}, torch::tensor({-1.0f, 0.5f, 0.25f, 8.0f, 7.0f, 9.0f}).view({3, 2}));
  const torch::Tensor sum = SumGradients({a, torch::Tensor(), b});
  ASSERT_TRUE(sum.is_sparse());
  EXPECT_TRUE(
      torch::equal(sum._indices(), torch::tensor({0, 1, 4, 9, 12}, torch::kLong).view({1, 5})));
  EXPECT_TRUE(torch::equal(sum._values().select(0, 2), torch::tensor({3.25f, 12.0f})));
  EXPECT_TRUE(torch::equal(sum.to_dense(), a.to_dense() + b.to_dense()));
  // A third one merges as well; none defined gives none.
  const torch::Tensor c = rows({4, 19}, torch::ones({2, 2}));
  const torch::Tensor three = SumGradients({a, b, c});
  EXPECT_TRUE(torch::equal(three._indices(),
                           torch::tensor({0, 1, 4, 9, 12, 19}, torch::kLong).view({1, 6})));
  EXPECT_TRUE(torch::equal(three.to_dense(), a.to_dense() + b.to_dense() + c.to_dense()));
  EXPECT_FALSE(SumGradients({torch::Tensor(), torch::Tensor()}).defined());
  // Dense ones are added left to right: (x + y) + z, not x + (y + z).
  const torch::Tensor x = torch::tensor({1e8f}), y = torch::tensor({-1e8f}),
                      z = torch::tensor({1.0f});
  EXPECT_EQ(SumGradients({x, y, z}).item<float>(), 1.0f);
  EXPECT_EQ(SumGradients({z, x, y}).item<float>(), 0.0f);
}

TEST(BatchingTest, BalancedBatchesRepeatRareLabelsAsRasaDoes) {
  // 60, 20 and 10 examples, batches of 10: turns of 7, 3 and 2 examples. The
  // rarest label is through after 5 turns, the middle one after 7, the
  // largest after 9, which ends the epoch; labels already through sit out
  // every other turn (rounds 6 and 8), so they give 2 and 3 more each in
  // round 7 or 9 (round 9 ends when the largest label is through).
  std::vector<int> labels;
  for (int i = 0; i < 90; ++i) labels.push_back(i < 60 ? 0 : i < 80 ? 1 : 2);
  for (uint64_t seed : {1u, 2u, 3u}) {
    std::mt19937_64 rng(seed);
    const auto batches = MakeBatches(labels, 10, "balanced", rng);
    std::map<size_t, int> times;
    std::map<int, int> per_label;
    size_t total = 0;
    for (size_t b = 0; b < batches.size(); ++b) {
      if (b + 1 < batches.size()) {
        EXPECT_EQ(batches[b].size(), 10u);
      }
      for (size_t i : batches[b]) {
        ++times[i];
        ++per_label[labels[i]];
        ++total;
      }
    }
    EXPECT_EQ(times.size(), 90u);  // every example at least once
    EXPECT_EQ(per_label[0], 60);   // the largest label once
    EXPECT_GE(per_label[1], 20);
    EXPECT_LE(per_label[1], 23);
    EXPECT_GE(per_label[2], 12);   // round 7 at least
    EXPECT_LE(per_label[2], 14);
    EXPECT_EQ(total, static_cast<size_t>(per_label[0] + per_label[1] + per_label[2]));
  }
  std::mt19937_64 rng(1);
  const auto sequence = MakeBatches(labels, 10, "sequence", rng);
  std::set<size_t> seen;
  for (const auto& b : sequence)
    for (size_t i : b) EXPECT_TRUE(seen.insert(i).second);
  EXPECT_EQ(seen.size(), 90u);
  EXPECT_EQ(BatchSizeForEpoch(64, 128, 0, 200), 64);
  EXPECT_EQ(BatchSizeForEpoch(64, 128, 199, 200), 128);
  EXPECT_EQ(BatchSizeForEpoch(64, 128, 5, 1), 64);
}

// GroupAdam moves the parameters exactly as libtorch's Adam: two groups (with
// and without weight decay), and a parameter that gets its first gradient at
// the third step (its own step count starts there).
// evaluate_on_number_of_examples' split: stratified by label, never a
// label's last training example, never an example whose label has no other;
// the counts Rasa refuses are refused with the bound to keep to.
TEST(BatchingTest, HeldOutExamplesAreStratifiedAsRasaSplitsThem) {
  // Label 0: 61 examples, 1: 30, 2: 8, 3: 1 (100 examples, 4 labels).
  std::vector<int> labels;
  for (int label : {0, 1, 2, 3})
    for (int k = 0; k < std::vector<int>{61, 30, 8, 1}[static_cast<size_t>(label)]; ++k)
      labels.push_back(label);
  std::mt19937_64 rng(3);
  const HeldOutSplit split = HoldOut(labels, 10, rng);
  ASSERT_EQ(split.held_out.size(), 10u);
  ASSERT_EQ(split.train.size(), 90u);
  std::map<int, int> held;
  std::set<size_t> all(split.train.begin(), split.train.end());
  for (size_t i : split.held_out) {
    ++held[labels[i]];
    EXPECT_TRUE(all.insert(i).second) << i << " both trained on and held out";
  }
  EXPECT_EQ(all.size(), labels.size());
  // Shares of 10 over the 99 examples of labels with more than one: 6.16, 3.03, 0.81;
  // rounded down 6, 3, 0, and the one left to the largest remainder.
  EXPECT_EQ(held[0], 6);
  EXPECT_EQ(held[1], 3);
  EXPECT_EQ(held[2], 1);
  EXPECT_EQ(held.count(3), 0u);
  // The same seed splits the same way, another seed otherwise.
  std::mt19937_64 same(3), other(4);
  EXPECT_EQ(HoldOut(labels, 10, same).held_out, split.held_out);
  EXPECT_NE(HoldOut(labels, 10, other).held_out, split.held_out);
  // Held out as many as can be: every label keeps one example to train on.
  std::mt19937_64 most(5);
  const HeldOutSplit tight = HoldOut(labels, 95, most);
  std::set<int> trained;
  for (size_t i : tight.train) trained.insert(labels[i]);
  EXPECT_EQ(tight.train.size(), 5u);
  EXPECT_EQ(trained.size(), 4u);

  auto refusal = [&labels](int count) {
    std::mt19937_64 r(1);
    try {
      HoldOut(labels, count, r);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refusal(3).find("hold out at least 4"), std::string::npos) << refusal(3);
  EXPECT_NE(refusal(96).find("hold out at most 95"), std::string::npos) << refusal(96);
  EXPECT_EQ(refusal(4), "accepted");
  EXPECT_EQ(refusal(95), "accepted");
  const std::vector<int> two = {0, 1};
  std::mt19937_64 r(1);
  EXPECT_THROW(HoldOut(two, 2, r), std::invalid_argument);
}

// checkpoint_model's rule (Rasa's RasaModelCheckpoint): better only when no
// held-out metric got worse and at least one got better.
TEST(BatchingTest, AnEvaluationIsTheBestOnlyWhenNoMetricGotWorse) {
  BestEvaluation best;
  EXPECT_TRUE(best.Improves({{"val_i_acc", 0.5}, {"val_e_f1", 0.5}}));
  EXPECT_FALSE(best.Improves({{"val_i_acc", 0.5}, {"val_e_f1", 0.5}}));  // both equal
  EXPECT_TRUE(best.Improves({{"val_i_acc", 0.5}, {"val_e_f1", 0.7}}));   // one equal, one better
  EXPECT_FALSE(best.Improves({{"val_i_acc", 0.9}, {"val_e_f1", 0.6}}));  // one better, one worse
  EXPECT_FALSE(best.Improves({{"val_i_acc", 0.4}, {"val_e_f1", 0.7}}));  // one worse, one equal
  EXPECT_TRUE(best.Improves({{"val_i_acc", 0.6}, {"val_e_f1", 0.8}}));   // both better
  BestEvaluation none;
  EXPECT_FALSE(none.Improves({}));
}

// Rasa's rank_and_mask: most confident first (ties in label order), the
// first ranking_length kept, renormalized over the kept ones when asked; only
// softmax confidences are renormalized.
TEST(RankingTest, RankAndMaskKeepsTheTopAndRenormalizesAsRasa) {
  const std::vector<float> p = {0.1f, 0.5f, 0.1f, 0.3f};
  const Ranking all = RankAndMask(p, 0, true);
  EXPECT_EQ(all.labels, (std::vector<size_t>{1, 3, 0, 2}));
  EXPECT_DOUBLE_EQ(all.confidences[0], 0.5f);  // nothing left out: nothing divided
  const Ranking two = RankAndMask(p, 2, true);
  ASSERT_EQ(two.labels, (std::vector<size_t>{1, 3}));
  EXPECT_NEAR(two.confidences[0], 0.5 / 0.8, 1e-7);
  EXPECT_NEAR(two.confidences[1], 0.3 / 0.8, 1e-7);
  EXPECT_DOUBLE_EQ(RankAndMask(p, 2, false).confidences[0], 0.5f);
  EXPECT_EQ(RankAndMask(p, 9, true).labels.size(), 4u);
  SimilarityOptions softmax, linear;
  linear.model_confidence = "linear_norm";
  EXPECT_TRUE(ShouldRenormalize(true, softmax));
  EXPECT_FALSE(ShouldRenormalize(true, linear));
  EXPECT_FALSE(ShouldRenormalize(false, softmax));
}

TEST(GroupAdamTest, MovesTheParametersAsLibtorchsAdam) {
  torch::manual_seed(3);
  auto make = [] {
    return std::vector<torch::Tensor>{torch::randn({5, 4}), torch::randn({4}), torch::randn({3, 2}),
                                      torch::randn({2})};
  };
  std::vector<torch::Tensor> ours = make(), theirs;
  for (const torch::Tensor& p : ours) theirs.push_back(p.clone());
  for (auto* set : {&ours, &theirs})
    for (torch::Tensor& p : *set) p.requires_grad_(true);
  GroupAdam group({{{ours[0], ours[1]}, 0.004}, {{ours[2], ours[3]}, 0.0}}, 0.01);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{theirs[0], theirs[1]},
                      std::make_unique<torch::optim::AdamOptions>(torch::optim::AdamOptions(0.01).eps(1e-7).weight_decay(0.004)));
  groups.emplace_back(std::vector<torch::Tensor>{theirs[2], theirs[3]},
                      std::make_unique<torch::optim::AdamOptions>(torch::optim::AdamOptions(0.01).eps(1e-7)));
  torch::optim::Adam adam(groups, torch::optim::AdamOptions(0.01).eps(1e-7));
  auto loss = [](const std::vector<torch::Tensor>& p, int step) {
    torch::Tensor l = (p[0].sum(0) * p[1]).pow(2).sum() + (p[2] * step).sin().sum();
    if (step >= 3) l = l + (p[3] * p[2].sum(0)).exp().sum();
    return l;
  };
  for (int step = 1; step <= 6; ++step) {
    group.ZeroGrad();
    adam.zero_grad();
    loss(ours, step).backward();
    loss(theirs, step).backward();
    EXPECT_EQ(ours[3].grad().defined(), step >= 3);
    group.Step();
    adam.step();
    for (size_t i = 0; i < ours.size(); ++i)
      EXPECT_TRUE(torch::equal(ours[i], theirs[i])) << "step " << step << ", parameter " << i << "\n"
                                                                << ours[i] - theirs[i];
  }
  // The last parameter moved from its third step on, the others from the first.
  for (size_t i = 0; i < ours.size(); ++i) EXPECT_FALSE(torch::equal(ours[i], make()[i])) << i;
}

// A batched matmul is one call, though on the CPU it calls the BLAS once per
// matrix through the dispatcher; counters alive at once each see it once.
TEST(OpCounterTest, CountsTheCallsMadeNotTheCallsInsideThem) {
  const torch::Tensor a = torch::randn({16, 64, 64});
  OpCounter outer;
  (void)torch::bmm(a, a);
  EXPECT_EQ(outer.Count(), 1);
  {
    OpCounter inner;
    (void)torch::bmm(a, a);
    (void)(a + a);
    EXPECT_EQ(inner.Count(), 2);
  }
  EXPECT_EQ(outer.Count(), 3);
  // A backward pass counts its nodes and what they call: more than nothing.
  const torch::Tensor w = torch::randn({3}, torch::requires_grad());
  const torch::Tensor loss = (w * w).sum();
  const int64_t before = outer.Count();
  loss.backward();
  EXPECT_GE(outer.Count() - before, 3);  // the sum's, the product's and the accumulation's nodes at least
}

TEST(DeviceTest, CudaRequestFallsBackToCpuOnlyWithoutCuda) {
  bool fell_back = false;
  const std::string d = ResolveDevice("cuda", &fell_back);
  EXPECT_EQ(fell_back, !CudaAvailable());
  EXPECT_EQ(d, CudaAvailable() ? "cuda:0" : "cpu");
  EXPECT_EQ(ResolveDevice("cpu"), "cpu");
  EXPECT_THROW(ResolveDevice("gpu"), std::exception);
  EXPECT_THROW(ResolveDevice("cuda:x"), std::exception);
}

TEST(DeviceTest, OwnLoopsShareTheWorkOverLibtorchsThreads) {
  // Our loops run at::parallel_for, which only spreads work when this
  // library is built with OpenMP (else dropout, LazyAdam and the sparse
  // gradients run on one thread while the other cores wait).
  const int threads = torch::get_num_threads();
  torch::set_num_threads(2);
  const int used = OwnLoopThreads(64);
  torch::set_num_threads(threads);
  EXPECT_EQ(used, 2);
}

// SelectRows selects as index_select does, and its backward gives the same
// bits as index_select's: repeated rows summed in index order, unselected
// rows zero, any number of trailing dimensions.
TEST(SelectRowsTest, GradientIsIndexSelectsBitForBit) {
  torch::manual_seed(3);
  const torch::Tensor index = torch::tensor({4, 0, 4, 2, 4, 6}, torch::kLong);
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{7, 5}, std::vector<int64_t>{7, 3, 4}}) {
    const torch::Tensor base = torch::randn(shape);
    std::vector<int64_t> out_shape = shape;
    out_shape[0] = index.size(0);
    const torch::Tensor weights = torch::randn(out_shape) * 1e3;
    const torch::Tensor a = base.clone().requires_grad_(true),
                        b = base.clone().requires_grad_(true);
    const torch::Tensor picked = SelectRows(a, index);
    EXPECT_TRUE(torch::equal(picked, b.index_select(0, index)));
    (picked * weights).sum().backward();
    (b.index_select(0, index) * weights).sum().backward();
    EXPECT_TRUE(torch::equal(a.grad(), b.grad()));
    EXPECT_TRUE(torch::equal(a.grad().select(0, 1), torch::zeros(a.grad().select(0, 1).sizes())));
    // Row 4, chosen three times, gets the three gradient rows.
    EXPECT_TRUE(torch::allclose(
        a.grad().select(0, 4), weights.select(0, 0) + weights.select(0, 2) + weights.select(0, 4)));
  }
}

// SequenceAttention against attention written out per sequence and head
// with tensor operations (scores, relative terms by bucket, causal mask,
// softmax, dropout mask, weighted values), outputs and every input's
// gradient, for sequences of lengths 3, 1, 7 and 5 packed back to back.
TEST(SequenceAttentionTest, MatchesAttentionWrittenOutPerSequence) {
  torch::manual_seed(11);
  const std::vector<int64_t> lengths{3, 1, 7, 5};
  const int64_t H = 2, D = 4, P = 2, S = 2 * P + 1;
  std::vector<int64_t> positions;
  for (int64_t l : lengths)
    for (int64_t t = 0; t < l; ++t) positions.push_back(t);
  const auto N = static_cast<int64_t>(positions.size());
  const torch::Tensor pos = torch::tensor(positions, torch::kLong);
  const int64_t weight_count = SequenceAttentionWeights(pos, H);
  EXPECT_EQ(weight_count, H * (3 * 3 + 1 * 1 + 7 * 7 + 5 * 5));
  for (bool relative : {false, true})
    for (bool unidirectional : {false, true})
      for (bool masked : {false, true}) {
        SCOPED_TRACE(std::string(relative ? "relative" : "absolute") +
                     (unidirectional ? ", causal" : "") + (masked ? ", dropout" : ""));
        // Dropout at rate 0.25: a quarter of the weights 0, the rest 4/3.
        const torch::Tensor mask =
            masked ? torch::rand({weight_count}).ge(0.25).to(torch::kFloat).div(0.75)
                   : torch::Tensor();
        auto leaf = [](std::vector<int64_t> shape) {
          return torch::randn(shape).requires_grad_(true);
        };
        const torch::Tensor q = leaf({N, H * D}), k = leaf({N, H * D}), v = leaf({N, H * D});
        const torch::Tensor rk = relative ? leaf({H, S, D}) : torch::Tensor();
        const torch::Tensor rv = relative ? leaf({H, S, D}) : torch::Tensor();
        const torch::Tensor weights = torch::randn({N, H * D});
        const torch::Tensor out =
            SequenceAttention(q, k, v, rk, rv, pos, H, P, unidirectional, mask);
        std::vector<torch::Tensor> rows;
        int64_t begin = 0, mask_at = 0;
        for (int64_t l : lengths) {
          std::vector<torch::Tensor> heads;
          for (int64_t h = 0; h < H; ++h) {
            auto part = [&](const torch::Tensor& t) {
              return t.slice(0, begin, begin + l).slice(1, h * D, (h + 1) * D);
            };
            torch::Tensor scores = torch::matmul(part(q), part(k).t());  // [l, l]
            std::vector<int64_t> bucket;
            for (int64_t i = 0; i < l; ++i)
              for (int64_t j = 0; j < l; ++j)
                bucket.push_back(std::clamp<int64_t>(j - i, -P, P) + P);
            const torch::Tensor buckets = torch::tensor(bucket, torch::kLong).view({l, l});
            if (relative) scores = scores + torch::matmul(part(q), rk[h].t()).gather(1, buckets);
            scores = scores / std::sqrt(static_cast<double>(D));
            if (unidirectional)
              scores = scores.masked_fill(torch::ones({l, l}, torch::kBool).triu(1), -1e9);
            torch::Tensor a = torch::softmax(scores, 1);
            if (masked) a = a * mask.slice(0, mask_at, mask_at + l * l).view({l, l});
            mask_at += l * l;
            torch::Tensor o = torch::matmul(a, part(v));
            if (relative)
              o = o + torch::matmul(torch::zeros({l, S}).scatter_add(1, buckets, a), rv[h]);
            heads.push_back(o);
          }
          rows.push_back(torch::cat(heads, 1));
          begin += l;
        }
        const torch::Tensor expected = torch::cat(rows, 0);
        EXPECT_TRUE(torch::allclose(out, expected, 1e-5, 1e-5))
            << (out - expected).abs().max().item<float>();
        std::vector<torch::Tensor> inputs{q, k, v};
        if (relative) inputs.insert(inputs.end(), {rk, rv});
        const auto got = torch::autograd::grad({(out * weights).sum()}, inputs);
        const auto want = torch::autograd::grad({(expected * weights).sum()}, inputs);
        for (size_t i = 0; i < inputs.size(); ++i)
          EXPECT_TRUE(torch::allclose(got[i], want[i], 1e-4, 1e-5))
              << "input " << i << ": " << (got[i] - want[i]).abs().max().item<float>();
      }
}

}  // namespace
}  // namespace trainyard::ml
