#pragma once

// Building blocks of trainyard's models in libtorch (DIET now; TED reuses the
// transformer and the similarity loss). Internal to core/ml: this header pulls
// in torch/torch.h, so only core/ml's own .cc files include it.

#include <optional>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "core/ml/options.h"

namespace trainyard::ml {

// Random numbers for one training run. On the CPU a private generator, so a
// seeded run is reproducible even while other jobs train in the same
// process; on CUDA torch's default generator (seeded, not bit-reproducible).
class Rng {
 public:
  Rng(uint64_t seed, const torch::Device& device);
  c10::optional<at::Generator> generator() const { return generator_; }
  // Uniform [0, 1) of `shape` on the run's device.
  torch::Tensor Uniform(at::IntArrayRef shape) const;
  // Integers in [0, high) of `shape`.
  torch::Tensor RandInt(int64_t high, at::IntArrayRef shape) const;
  const torch::Device& device() const { return device_; }

 private:
  torch::Device device_;
  c10::optional<at::Generator> generator_;
};

// Dropout drawing from `rng`: inverted (kept values scaled by 1 / (1 - rate))
// unless `rescale` is false, when kept values stay as they are.
torch::Tensor Dropout(const torch::Tensor& x, double rate, bool training, const Rng& rng, bool rescale = true);

// A dense layer that keeps a fixed random fraction `density` of its kernel's
// connections (Rasa's RandomlyConnectedDense); density 1 is a plain layer.
// Glorot-uniform kernel, zero bias, as Keras initialises them.
class DenseImpl : public torch::nn::Module {
 public:
  DenseImpl(int64_t in, int64_t out, double density, bool bias, const Rng& rng);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias, mask;  // weight [out, in]
};
TORCH_MODULE(Dense);

// Finetuning: gives `model` the connection masks of `old` (same names and
// shapes). The masks are drawn at construction, after the input tables, so a
// model built for a wider vocabulary draws different ones; the old weights
// only mean something under the old masks.
void CopyConnectionMasks(torch::nn::Module& model, const torch::nn::Module& old);

// Sparse rows as torch's embedding_bag takes them: row r holds
// indices[offsets[r] .. offsets[r+1]) with per-entry values `weights`.
struct SparseRows {
  torch::Tensor indices;  // int64 [nnz]
  torch::Tensor offsets;  // int64 [rows]
  torch::Tensor weights;  // float [nnz]
  void To(const torch::Device& device);
};

// Sparse features times a [vocabulary, units] kernel (Rasa's DenseForSparse),
// as an embedding bag with per-entry weights: FLOPs only for non-zeros. With
// drop_rate > 0 in training, non-zero inputs are dropped and the rest kept
// unscaled, as Rasa's SparseDropout does (sparse input dropout). The
// kernel's gradient is sparse: train it with LazyAdam.
class SparseDenseImpl : public torch::nn::Module {
 public:
  SparseDenseImpl(int64_t vocabulary, int64_t units, const Rng& rng);
  torch::Tensor forward(const SparseRows& rows, double drop_rate, bool training, const Rng& rng);
  torch::Tensor weight, bias;
};
TORCH_MODULE(SparseDense);

// The sum of one parameter's gradients from several backward passes, added in
// the order given (the same bits whichever pass finished first). Sparse
// gradients over rows, as SparseDense's kernel gets them (one index
// dimension, rows sorted and distinct), are merged row by row and come out
// sorted and distinct as well, so LazyAdam need not coalesce them.
// Undefined entries are skipped; none defined gives an undefined tensor.
torch::Tensor SumGradients(const std::vector<torch::Tensor>& grads);

// x.index_select(0, index), with a faster backward on the CPU (float x,
// long index): each gradient row is added into its source row in index order.
torch::Tensor SelectRows(const torch::Tensor& x, const torch::Tensor& index);

// Where the rows of a packed [N, d] tensor sit in a padded [B, L, d] one:
// sequences of lengths[b] are packed back to back, so every position-wise
// layer spends FLOPs on real tokens only; attention unpacks.
//
// For attention, Chunked() instead packs whole sequences side by side into
// rows ("chunks") of a fixed capacity and attends block-diagonally within
// each chunk: a few large matmuls instead of one tiny matmul per sequence
// (the CPU's batched matmul loops over its batch), and no padding per sequence.
struct Packing {
  int64_t batch = 0, max_length = 0;  // rows (sequences or chunks) and their length
  torch::Tensor grid_index;  // int64 [N]: b * L + t
  torch::Tensor positions;   // int64 [N]: position within its own sequence
  torch::Tensor padding;     // bool [B, L], true at padding
  torch::Tensor segment;     // int64 [B, L]: the sequence at each place, -1 at padding (Chunked only)
  static Packing FromLengths(const std::vector<int64_t>& lengths, const torch::Device& device);
  static Packing Chunked(const std::vector<int64_t>& lengths, int64_t capacity, const torch::Device& device);
  int64_t rows() const { return grid_index.size(0); }
  torch::Tensor Unpack(const torch::Tensor& packed) const;  // [N, ...] -> [B, L, ...], zeros at padding
  torch::Tensor Pack(const torch::Tensor& padded) const;    // [B, L, ...] -> [N, ...]
};

struct TransformerOptions {
  int layers = 2;
  int units = 256;
  int heads = 4;
  int filter_units = 1024;
  double dropout = 0.2;
  double attention_dropout = 0.0;
  double density = 1.0;
  bool unidirectional = false;
  bool key_relative = false;
  bool value_relative = false;
  int max_relative_position = 5;
};

// The transformer options of a model's options struct (DIET's, TED's), which
// name them as Rasa does; `dropout` is the model's rate for its transformer.
template <typename ModelOptions>
TransformerOptions TransformerOptionsOf(const ModelOptions& o, double dropout) {
  TransformerOptions t;
  t.layers = o.layers;
  t.units = o.transformer_size;
  t.heads = o.heads;
  t.filter_units = 4 * o.transformer_size;
  t.dropout = dropout;
  t.attention_dropout = o.drop_rate_attention;
  t.density = o.density;
  t.unidirectional = o.unidirectional;
  t.key_relative = o.key_relative;
  t.value_relative = o.value_relative;
  t.max_relative_position = o.max_relative_position;
  return t;
}

// Multi-head attention within each packed sequence, on the CPU, for float
// [N, heads * depth] queries, keys and values: a sequence starts at each row
// whose `positions` entry is 0 and runs to the next. Optional relative key and
// value tables [heads, 2 * max_relative + 1, depth] (Shaw et al.: the bucket
// of key j for query i is clamp(j - i, -max_relative, max_relative));
// `unidirectional` lets a query see only keys up to itself. An optional
// `weight_mask` multiplies the attention weights as the values see them
// (dropout: 0 or 1 / (1 - rate)), one entry per weight, laid out sequence by
// sequence, head by head, [length, length] row-major within each (so
// SequenceAttentionWeights(positions, heads) entries). The transformer's
// attention on the CPU.
torch::Tensor SequenceAttention(const torch::Tensor& q, const torch::Tensor& k,
                                const torch::Tensor& v, const torch::Tensor& rel_keys,
                                const torch::Tensor& rel_values, const torch::Tensor& positions,
                                int64_t heads, int64_t max_relative, bool unidirectional,
                                const torch::Tensor& weight_mask = {});
int64_t SequenceAttentionWeights(const torch::Tensor& positions, int64_t heads);

// Rasa's transformer encoder: input projection scaled by sqrt(units) plus
// sinusoidal positions, pre-norm layers (attention, GELU feed-forward), a
// final layer norm, then a GELU (as Rasa's callers apply). Optional relative-position keys/values (Shaw et al.) and
// a causal (unidirectional) mask. Works on packed sequences.
class TransformerEncoderImpl : public torch::nn::Module {
 public:
  TransformerEncoderImpl(int64_t input_size, const TransformerOptions& options, const Rng& rng);
  torch::Tensor forward(const torch::Tensor& packed, const Packing& packing, bool training, const Rng& rng);

 private:
  struct Layer {
    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    Dense q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr}, ff1{nullptr}, ff2{nullptr};
    torch::Tensor rel_keys, rel_values;  // [heads, 2k+1, head_size] when enabled
  };
  torch::Tensor Attention(Layer& layer, const torch::Tensor& x, const Packing& packing, bool training,
                          const Rng& rng);

  TransformerOptions options_;
  Dense embedding_{nullptr};
  std::vector<Layer> layers_;
  torch::nn::LayerNorm final_norm_{nullptr};
};
TORCH_MODULE(TransformerEncoder);

// A linear-chain CRF over tag scores (no start/end transitions, as
// TensorFlow Addons' CRF that Rasa uses).
class CrfImpl : public torch::nn::Module {
 public:
  CrfImpl(int64_t num_tags, const Rng& rng);
  // Mean negative log-likelihood of the gold `tags` [B, L] given `emissions`
  // [B, L, T]; `mask` [B, L] is true on real tokens (each row starts with one).
  torch::Tensor NegativeLogLikelihood(const torch::Tensor& emissions, const torch::Tensor& tags,
                                      const torch::Tensor& mask);
  // The best path (Viterbi) of each sequence and each token's marginal
  // probability of its chosen tag. `emissions` [B, L, T] on any device.
  std::vector<std::vector<int>> Decode(const torch::Tensor& emissions, const std::vector<int64_t>& lengths,
                                       std::vector<std::vector<float>>* confidences) const;
  torch::Tensor transitions;  // [T, T]: from -> to
  // How the gradient's terms of each position are computed: one position at a
  // time in the backward recursion, each a loop over its rows and a matmul,
  // on data that stays in the CPU's caches (float on the CPU only), or for
  // all positions at once after it, as tensor operations (~10 calls per
  // position, but passes over [L, B, T] arrays; a GPU's calls cost their
  // dispatch). kAuto: per position on the CPU, all at once elsewhere.
  enum class GradientTerms { kAuto, kPerPosition, kAllAtOnce };
  GradientTerms gradient_terms = GradientTerms::kAuto;
};
TORCH_MODULE(Crf);
// The CRF loops' vectorized exp and log, for their tests.
float CrfExpForTest(float x);
float CrfLogForTest(float x);

// The dot-product loss of DIET and TED (Rasa's DotProductLoss / StarSpace):
// inputs and their labels are embedded; the positive similarity is pushed up
// against sampled negatives (labels and other inputs of the batch).
// Its options (SimilarityOptions) are in core/ml/options.h.
struct SimilarityLossResult {
  torch::Tensor loss;      // scalar
  torch::Tensor accuracy;  // scalar: positive beats every sampled negative label
};

// inputs [B, E], labels [B, E] (each input's own label embedded), label_ids
// [B]; all_labels [K, E] with ids all_label_ids [K].
SimilarityLossResult DotProductLoss(const SimilarityOptions& options, const torch::Tensor& inputs,
                                    const torch::Tensor& labels, const torch::Tensor& label_ids,
                                    const torch::Tensor& all_labels, const torch::Tensor& all_label_ids,
                                    const Rng& rng);
// Similarities [..., K] of inputs [..., E] to candidates [K, E].
torch::Tensor Similarities(const torch::Tensor& inputs, const torch::Tensor& candidates, const std::string& type);
// Confidences from similarities [B, K] (softmax, or linear_norm: negatives
// clipped to 0, then normalised).
torch::Tensor Confidences(const torch::Tensor& similarities, const std::string& model_confidence);

// Counts libtorch's operator calls made by our code and by autograd's
// backward functions (each of those, and each call it makes), on every
// thread, while one lives; calls an operator makes inside itself are not
// counted (on the CPU a batched matmul loops over its matrices, a _foreach_
// operation over its tensors: one call each on a GPU). On a GPU each counted
// call costs some microseconds of host dispatch and a kernel launch however
// small its tensors, so the count per training step bounds the step's time
// there from below; it is measured the same on the CPU. Calls of other
// trainings running at the same time (TED beside DIET) count too.
class OpCounter {
 public:
  OpCounter();
  ~OpCounter();
  OpCounter(const OpCounter&) = delete;
  OpCounter& operator=(const OpCounter&) = delete;
  int64_t Count() const;  // since construction

 private:
  int64_t start_ = 0;
};

// Adam over groups of dense parameters, with the arithmetic of libtorch
// 1.13's torch::optim::Adam (weight decay added to the gradient, both moments'
// bias corrections, epsilon added after the corrected root), but each of a
// step's ~10 operations is one call for all the parameters that share a step
// count (libtorch's _foreach_ operations), not one call per parameter.
// ZeroGrad zeroes the gradients (1.13's zero_grad; 2.x's resets them, which
// would skip a parameter that a step leaves without gradient).
class GroupAdam {
 public:
  struct Group {
    std::vector<torch::Tensor> params;
    double weight_decay = 0;
  };
  GroupAdam(std::vector<Group> groups, double learning_rate, double epsilon = 1e-7, double beta1 = 0.9,
            double beta2 = 0.999);
  void ZeroGrad();
  void Step();

 private:
  struct Slot {
    torch::Tensor param, m, v;
    int64_t step = 0;
    double weight_decay = 0;
  };
  std::vector<Slot> slots_;
  double lr_, eps_, beta1_, beta2_;
};

// Adam for an embedding table whose gradient is sparse, costing O(rows
// touched) per step instead of O(vocabulary), yet moving the rows as plain
// (dense) Adam does, as Rasa's DenseForSparse kernels are trained: in dense
// Adam a row keeps moving on its momentum in the steps its gradient is zero.
// Those steps are owed to a row until it is next touched (or Flush()): the
// momentum's and the squared gradient's decay over the missed steps and the
// sum of the updates they would have made, in closed form (Adam's epsilon
// taken at the row's last step). `l2` adds Keras' L2 penalty gradient
// (2·l2·w) on the rows in the gradient only (dense Adam would also shrink
// the rows absent from a step; left out).
class LazyAdam {
 public:
  LazyAdam(torch::Tensor weight, double learning_rate, double l2, double beta1 = 0.9, double beta2 = 0.999,
           double epsilon = 1e-7);
  void Step();
  // Every row brought up to the current step (before the weights are read).
  void Flush();

 private:
  // What rows owe for the steps after their last one up to `until`: per row
  // the update factor (times m / (sqrt(v) + eps)) and m's and v's decay.
  struct Owed {
    std::vector<float> update, m_decay, v_decay;
    bool any = false;
  };
  // The debts of `n` rows (their last step becomes `mark`).
  Owed Take(const int64_t* rows, int64_t n, int64_t until, int64_t mark);
  void Pay(const torch::Tensor& rows, const Owed& owed);  // the tensor version, any device
  double UpdateFactor(int64_t last, int64_t until);

  torch::Tensor weight_, m_, v_;
  double lr_, l2_, beta1_, beta2_, epsilon_;
  int64_t step_ = 0;
  std::vector<int64_t> last_;  // per row: the step its update was last applied
  std::vector<double> bias_;   // per step j: Adam's bias corrections sqrt(1 - b2^j) / (1 - b1^j)
};

}  // namespace trainyard::ml
