#include "core/ml/layers.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <vector>

#include "core/util/strings.h"

namespace trainyard::ml {
namespace F = torch::nn::functional;

// The hand-written loops below (dropout, LazyAdam, the sparse kernel's
// gradient, the CRF's recursion) are compiled three times and picked when the
// program loads: AVX-512, AVX2 and the baseline x86-64 (SSE2) the rest is
// built for.
// Arithmetic may differ in the last bit between CPUs (fused
// multiply-adds), as libtorch's own kernels do; on one machine it is the same.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define TRAINYARD_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TRAINYARD_VECTOR_CLONES
#endif

Rng::Rng(uint64_t seed, const torch::Device& device) : device_(device) {
  if (device.is_cpu()) {
    generator_ = at::make_generator<at::CPUGeneratorImpl>(seed);
  } else {
    torch::manual_seed(seed);  // CUDA: the default generators
  }
}

torch::Tensor Rng::Uniform(at::IntArrayRef shape) const {
  return torch::rand(shape, generator_, torch::TensorOptions().device(device_));
}

torch::Tensor Rng::RandInt(int64_t high, at::IntArrayRef shape) const {
  return torch::randint(high, shape, generator_, torch::TensorOptions().dtype(torch::kLong).device(device_));
}

namespace {

// Dropout on the CPU in one pass: element i is kept (times `keep_scale`)
// when the top 24 bits of a hash of (seed, i) fall at or above `rate`, so the
// mask needs no generator calls, no storage (backward recomputes it) and comes
// out the same whatever the number of threads.
// torch::rand, a comparison and two products cost several times as much. (One
// hash for two elements was slower: the loop no longer vectorizes.) The hash
// is 32-bit: a Weyl step of i offset by the seed's low half, its high half
// xored in, then Wellons' "lowbias32" mix (two xorshift-multiplies). AVX2 has
// 32-bit vector products and no 64-bit ones: with SplitMix64's 64-bit mix this
// loop stayed scalar there and took 5.6 % of the CPU samples of a fast-config
// DIET training; now 1.0 %.
TRAINYARD_VECTOR_CLONES void HashedDropoutRange(const float* src, float* dst, int64_t begin,
                                                int64_t end, uint64_t seed, uint32_t threshold,
                                                float scale) {
  // (Written so that GCC vectorizes it: counted from 0, every element loaded
  // and scaled, the dropped ones' bits cleared; a conditional store is not.)
  const uint32_t low = static_cast<uint32_t>(seed), high = static_cast<uint32_t>(seed >> 32);
  const uint32_t first = static_cast<uint32_t>(begin);
  const float* s = src + begin;
  float* d = dst + begin;
  for (int64_t j = 0; j < end - begin; ++j) {
    uint32_t z = ((first + static_cast<uint32_t>(j)) * 0x9E3779B9u + low) ^ high;
    z = (z ^ (z >> 16)) * 0x7FEB352Du;
    z = (z ^ (z >> 15)) * 0x846CA68Bu;
    z ^= z >> 16;
    const float x = s[j] * scale;
    uint32_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    bits &= 0u - static_cast<uint32_t>((z >> 8) >= threshold);
    std::memcpy(d + j, &bits, sizeof bits);
  }
}

torch::Tensor HashedDropout(const torch::Tensor& x, double rate, uint64_t seed, double keep_scale) {
  const torch::Tensor in = x.contiguous();
  torch::Tensor out = torch::empty_like(in);
  const float* src = in.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  const float scale = static_cast<float>(keep_scale);
  const uint32_t threshold = static_cast<uint32_t>(std::ceil(rate * 16777216.0));  // of 2^24
  at::parallel_for(0, in.numel(), 16384, [&](int64_t begin, int64_t end) {
    HashedDropoutRange(src, dst, begin, end, seed, threshold, scale);
  });
  return out;
}

class HashedDropoutFunction : public torch::autograd::Function<HashedDropoutFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, double rate,
                               int64_t seed, double keep_scale) {
    ctx->saved_data["rate"] = rate;
    ctx->saved_data["seed"] = seed;
    ctx->saved_data["keep_scale"] = keep_scale;
    return HashedDropout(x, rate, static_cast<uint64_t>(seed), keep_scale);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    return {HashedDropout(grads[0], ctx->saved_data["rate"].toDouble(),
                          static_cast<uint64_t>(ctx->saved_data["seed"].toInt()),
                          ctx->saved_data["keep_scale"].toDouble()),
            torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor Dropout(const torch::Tensor& x, double rate, bool training, const Rng& rng, bool rescale) {
  if (!training || rate <= 0) return x;
  const double keep_scale = rescale ? 1.0 / (1.0 - rate) : 1.0;
  if (x.is_cpu() && x.scalar_type() == torch::kFloat) {
    const int64_t seed = rng.RandInt(std::numeric_limits<int64_t>::max(), {1}).item<int64_t>();
    return HashedDropoutFunction::apply(x, rate, seed, keep_scale);
  }
  return x * rng.Uniform(x.sizes()).ge_(rate).mul_(keep_scale);
}

namespace {

// Glorot-uniform initialisation drawing from `rng` (on the CPU, then moved).
torch::Tensor Glorot(int64_t out, int64_t in, const Rng& rng) {
  const double limit = std::sqrt(6.0 / static_cast<double>(in + out));
  torch::Tensor w = torch::empty({out, in});
  w.uniform_(-limit, limit, rng.device().is_cpu() ? rng.generator() : c10::nullopt);
  return w;
}

}  // namespace

DenseImpl::DenseImpl(int64_t in, int64_t out, double density, bool with_bias, const Rng& rng) {
  weight = register_parameter("weight", Glorot(out, in, rng));
  if (with_bias) bias = register_parameter("bias", torch::zeros({out}));
  if (density < 1.0) {
    torch::Tensor m = torch::empty({out, in});
    m.uniform_(0, 1, rng.device().is_cpu() ? rng.generator() : c10::nullopt);
    m = m.lt(density).to(torch::kFloat);
    // Every output keeps at least one input, as Rasa's layer does.
    for (int64_t o = 0; o < out; ++o) m[o][o % in] = 1.0;
    mask = register_buffer("mask", m);
  }
}

torch::Tensor DenseImpl::forward(const torch::Tensor& x) {
  return F::linear(x, mask.defined() ? weight * mask : weight, bias);
}

void CopyConnectionMasks(torch::nn::Module& model, const torch::nn::Module& old) {
  torch::NoGradGuard no_grad;
  const auto old_buffers = old.named_buffers(true);
  for (auto& b : model.named_buffers(true)) {
    if (b.key() != "mask" && !util::EndsWith(b.key(), ".mask")) continue;
    const torch::Tensor* from = old_buffers.find(b.key());
    if (from && from->sizes() == b.value().sizes()) b.value().copy_(*from);
  }
}

namespace {

std::atomic<int64_t> op_count{0};
thread_local int op_depth = 0;

// What a call's end has to undo: a function's nesting level, or the level a
// backward function saved (the calls it makes count as top-level ones).
struct OpDepth : at::ObserverContext {
  explicit OpDepth(int saved) : saved(saved) {}
  int saved;
};

std::unique_ptr<at::ObserverContext> OpStart(const at::RecordFunction& fn) {
  // The autograd engine's record around each backward node: the node's own
  // record, inside it, is the one counted.
  if (std::strncmp(fn.name(), "autograd::engine::", 18) == 0) return std::make_unique<OpDepth>(op_depth);
  if (fn.scope() == at::RecordScope::BACKWARD_FUNCTION) {
    op_count.fetch_add(1, std::memory_order_relaxed);
    auto saved = std::make_unique<OpDepth>(op_depth);
    op_depth = 0;
    return saved;
  }
  if (op_depth++ == 0) op_count.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

void OpEnd(const at::RecordFunction&, at::ObserverContext* context) {
  if (context) op_depth = static_cast<OpDepth*>(context)->saved;
  else --op_depth;
}

}  // namespace

namespace {
// One callback serves every live counter.
std::mutex op_counters_mutex;
int op_counters = 0;
at::CallbackHandle op_callback = 0;
}  // namespace

OpCounter::OpCounter() {
  const std::lock_guard<std::mutex> lock(op_counters_mutex);
  if (op_counters++ == 0)
    op_callback = at::addGlobalCallback(at::RecordFunctionCallback(OpStart, OpEnd).scopes(
        {at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION}));
  start_ = op_count.load(std::memory_order_relaxed);
}

OpCounter::~OpCounter() {
  const std::lock_guard<std::mutex> lock(op_counters_mutex);
  if (--op_counters == 0) at::removeCallback(op_callback);
}

int64_t OpCounter::Count() const { return op_count.load(std::memory_order_relaxed) - start_; }

void SparseRows::To(const torch::Device& device) {
  indices = indices.to(device);
  offsets = offsets.to(device);
  weights = weights.to(device);
}

SparseDenseImpl::SparseDenseImpl(int64_t vocabulary, int64_t units, const Rng& rng) {
  // Keras' Dense on a [vocabulary]-wide input: Glorot over (vocabulary, units).
  weight = register_parameter("weight", Glorot(units, vocabulary, rng).t().contiguous());
  bias = register_parameter("bias", torch::zeros({units}));
}

namespace {

TRAINYARD_VECTOR_CLONES void AddScaled(float* dst, const float* src, float scale, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += scale * src[i];
}

// An embedding bag (sum, per-entry weights) on the CPU whose kernel gradient
// has one row per distinct index, sorted, each summed by one thread in entry
// order. libtorch's sparse backward gives a row per entry (nnz x units
// values), which LazyAdam then had to coalesce: sort and sum, on one thread,
// ~12 % of a DIET step on NLU-Benchmark.
class SparseBagFunction : public torch::autograd::Function<SparseBagFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& weight,
                               const torch::Tensor& indices, const torch::Tensor& offsets,
                               const torch::Tensor& entry_weights) {
    ctx->save_for_backward({indices, offsets, entry_weights});
    ctx->saved_data["vocabulary"] = weight.size(0);
    return F::embedding_bag(indices, weight,
                            F::EmbeddingBagFuncOptions().offsets(offsets).mode(torch::kSum).per_sample_weights(
                                entry_weights));
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor indices = saved[0].contiguous(), offsets = saved[1].contiguous(),
                        weights = saved[2].contiguous(), grad = grads[0].contiguous();
    const int64_t nnz = indices.size(0), bags = offsets.size(0), units = grad.size(1);
    const int64_t* index = indices.data_ptr<int64_t>();
    const int64_t* offset = offsets.data_ptr<int64_t>();
    std::vector<int64_t> bag_of(static_cast<size_t>(nnz));
    for (int64_t b = 0; b < bags; ++b)
      for (int64_t e = offset[b]; e < (b + 1 < bags ? offset[b + 1] : nnz); ++e) bag_of[static_cast<size_t>(e)] = b;
    // Entries ordered by (index, position): equal indices side by side.
    const int64_t vocabulary = ctx->saved_data["vocabulary"].toInt();
    std::vector<int64_t> order(static_cast<size_t>(nnz)), rows, starts;
    if (vocabulary <= 4 * nnz + 65536) {
      // A counting sort over the table's rows (stable: positions stay in order).
      std::vector<int64_t> next(static_cast<size_t>(vocabulary) + 1, 0);
      for (int64_t e = 0; e < nnz; ++e) ++next[static_cast<size_t>(index[e]) + 1];
      for (size_t r = 0; r < static_cast<size_t>(vocabulary); ++r) {
        const int64_t count = next[r + 1];
        next[r + 1] += next[r];  // next[r]: where row r's entries start
        if (count == 0) continue;
        rows.push_back(static_cast<int64_t>(r));
        starts.push_back(next[r]);
      }
      for (int64_t e = 0; e < nnz; ++e)
        order[static_cast<size_t>(next[static_cast<size_t>(index[e])]++)] = e;
    } else {
      // A table much larger than the batch: sort the entries themselves.
      std::vector<std::pair<int64_t, int64_t>> pairs(static_cast<size_t>(nnz));
      for (int64_t e = 0; e < nnz; ++e) pairs[static_cast<size_t>(e)] = {index[e], e};
      std::sort(pairs.begin(), pairs.end());
      for (size_t e = 0; e < pairs.size(); ++e) {
        order[e] = pairs[e].second;
        if (e == 0 || pairs[e].first != pairs[e - 1].first) {
          rows.push_back(pairs[e].first);
          starts.push_back(static_cast<int64_t>(e));
        }
      }
    }
    starts.push_back(nnz);
    const int64_t n = static_cast<int64_t>(rows.size());
    torch::Tensor values = torch::zeros({n, units}, grad.options());
    const float* g = grad.data_ptr<float>();
    const float* w = weights.data_ptr<float>();
    float* out = values.data_ptr<float>();
    at::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        float* dst = out + r * units;
        for (int64_t e = starts[static_cast<size_t>(r)]; e < starts[static_cast<size_t>(r) + 1]; ++e) {
          const int64_t entry = order[static_cast<size_t>(e)];
          const float scale = w[entry];
          AddScaled(dst, g + bag_of[static_cast<size_t>(entry)] * units, scale, units);
        }
      }
    });
    torch::Tensor row_tensor = torch::tensor(rows, torch::kLong).view({1, n});
    torch::Tensor sparse = torch::sparse_coo_tensor(row_tensor, values, {vocabulary, units});
    return {sparse, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// index_select along rows whose backward adds each gradient row into its
// source row in one loop. libtorch's backward (zeros, then index_add_) calls
// its add kernel once per index on the CPU, and a DIET step selects rows ~20
// times (heads, packing, the CRF's order). Same sums in the same order.
class SelectRowsFunction : public torch::autograd::Function<SelectRowsFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& index) {
    ctx->save_for_backward({index});
    ctx->saved_data["rows"] = x.size(0);
    return x.index_select(0, index);
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const torch::Tensor index = ctx->get_saved_variables()[0].contiguous();
    const torch::Tensor grad = grads[0].contiguous();
    std::vector<int64_t> shape = grad.sizes().vec();
    shape[0] = ctx->saved_data["rows"].toInt();
    torch::Tensor out = torch::zeros(shape, grad.options());
    const int64_t n = index.size(0), width = n == 0 ? 0 : grad.numel() / n;
    const int64_t* row = index.data_ptr<int64_t>();
    const float* g = grad.data_ptr<float>();
    float* o = out.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) AddScaled(o + row[i] * width, g + i * width, 1.0f, width);
    return {out, torch::Tensor()};
  }
};

// Whether a sparse gradient's rows are sorted and distinct (coalesced, though
// not flagged so once autograd has stored it).
bool RowsStrictlyIncrease(const torch::Tensor& sparse) {
  const torch::Tensor rows = sparse._indices().select(0, 0).to(torch::kCPU).contiguous();
  const int64_t* r = rows.data_ptr<int64_t>();
  for (int64_t i = 1; i < rows.size(0); ++i)
    if (r[i] <= r[i - 1]) return false;
  return true;
}

// a + b for row-sparse float gradients with sorted, distinct rows on the CPU:
// a merge of the two row lists, a row in both summed as a's value plus b's.
torch::Tensor MergeSortedRows(const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor ra = a._indices().select(0, 0).contiguous(),
                      rb = b._indices().select(0, 0).contiguous();
  const torch::Tensor va = a._values().contiguous(), vb = b._values().contiguous();
  const int64_t na = ra.size(0), nb = rb.size(0), width = va.size(1);
  const int64_t* ia = ra.data_ptr<int64_t>();
  const int64_t* ib = rb.data_ptr<int64_t>();
  std::vector<int64_t> rows;
  rows.reserve(static_cast<size_t>(na + nb));
  std::vector<std::pair<int64_t, int64_t>> from;  // (a's entry or -1, b's entry or -1) per row
  from.reserve(static_cast<size_t>(na + nb));
  for (int64_t i = 0, j = 0; i < na || j < nb;) {
    if (j == nb || (i < na && ia[i] < ib[j])) {
      rows.push_back(ia[i]);
      from.emplace_back(i++, -1);
    } else if (i == na || ib[j] < ia[i]) {
      rows.push_back(ib[j]);
      from.emplace_back(-1, j++);
    } else {
      rows.push_back(ia[i]);
      from.emplace_back(i++, j++);
    }
  }
  const int64_t n = static_cast<int64_t>(rows.size());
  torch::Tensor values = torch::empty({n, width}, va.options());
  const float* pa = va.data_ptr<float>();
  const float* pb = vb.data_ptr<float>();
  float* out = values.data_ptr<float>();
  at::parallel_for(0, n, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const auto [x, y] = from[static_cast<size_t>(r)];
      float* dst = out + r * width;
      if (y < 0) {
        std::memcpy(dst, pa + x * width, sizeof(float) * static_cast<size_t>(width));
      } else if (x < 0) {
        std::memcpy(dst, pb + y * width, sizeof(float) * static_cast<size_t>(width));
      } else {
        for (int64_t k = 0; k < width; ++k) dst[k] = pa[x * width + k] + pb[y * width + k];
      }
    }
  });
  return torch::sparse_coo_tensor(torch::tensor(rows, torch::kLong).view({1, n}), values,
                                  a.sizes());
}

bool SortedRowSparse(const torch::Tensor& g) {
  return g.is_sparse() && g.is_cpu() && g.sparse_dim() == 1 && g.dense_dim() == 1 &&
         g.scalar_type() == torch::kFloat && (g.is_coalesced() || RowsStrictlyIncrease(g));
}

}  // namespace

torch::Tensor SumGradients(const std::vector<torch::Tensor>& grads) {
  torch::NoGradGuard no_grad;
  torch::Tensor sum;
  for (const torch::Tensor& g : grads) {
    if (!g.defined()) continue;
    if (!sum.defined())
      sum = g;
    else if (SortedRowSparse(sum) && SortedRowSparse(g))
      sum = MergeSortedRows(sum, g);
    else if (sum.is_sparse() && g.is_sparse())
      sum = (sum + g).coalesce();
    else
      sum = sum.is_sparse() ? g + sum : sum + g;
  }
  return sum;
}

torch::Tensor SelectRows(const torch::Tensor& x, const torch::Tensor& index) {
  if (!x.is_cpu() || x.scalar_type() != torch::kFloat || index.scalar_type() != torch::kLong ||
      !x.requires_grad() || !torch::GradMode::is_enabled())
    return x.index_select(0, index);
  return SelectRowsFunction::apply(x, index);
}

torch::Tensor SparseDenseImpl::forward(const SparseRows& rows, double drop_rate, bool training, const Rng& rng) {
  torch::Tensor w = rows.weights;
  // Rasa's SparseDropout keeps the surviving values as they are (no 1 / (1 - rate)).
  if (training && drop_rate > 0 && w.numel() > 0) w = Dropout(w, drop_rate, true, rng, /*rescale=*/false);
  if (weight.is_cpu() && weight.scalar_type() == torch::kFloat && w.defined() && w.scalar_type() == torch::kFloat &&
      weight.requires_grad() && torch::GradMode::is_enabled())
    return SparseBagFunction::apply(weight, rows.indices, rows.offsets, w) + bias;
  torch::Tensor out = F::embedding_bag(rows.indices, weight,
                                       F::EmbeddingBagFuncOptions()
                                           .offsets(rows.offsets)
                                           .mode(torch::kSum)
                                           .per_sample_weights(w)
                                           .sparse(true));
  return out + bias;
}

Packing Packing::FromLengths(const std::vector<int64_t>& lengths, const torch::Device& device) {
  Packing p;
  p.batch = static_cast<int64_t>(lengths.size());
  for (int64_t l : lengths) p.max_length = std::max(p.max_length, l);
  std::vector<int64_t> grid, positions;
  std::vector<uint8_t> padding(static_cast<size_t>(p.batch * p.max_length), 1);
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t t = 0; t < lengths[b]; ++t) {
      grid.push_back(b * p.max_length + t);
      positions.push_back(t);
      padding[b * p.max_length + t] = 0;
    }
  auto longs = torch::TensorOptions().dtype(torch::kLong);
  p.grid_index = torch::tensor(grid, longs).to(device);
  p.positions = torch::tensor(positions, longs).to(device);
  p.padding = torch::tensor(padding, torch::TensorOptions().dtype(torch::kUInt8))
                  .to(torch::kBool)
                  .view({p.batch, p.max_length})
                  .to(device);
  return p;
}

Packing Packing::Chunked(const std::vector<int64_t>& lengths, int64_t capacity, const torch::Device& device) {
  Packing p;
  for (int64_t l : lengths) p.max_length = std::max(p.max_length, l);
  p.max_length = std::max(p.max_length, capacity);
  std::vector<int64_t> grid, positions, segment;
  int64_t used = p.max_length;  // places used in the current chunk
  for (size_t s = 0; s < lengths.size(); ++s) {
    if (used + lengths[s] > p.max_length) {
      ++p.batch;
      used = 0;
      segment.resize(static_cast<size_t>(p.batch * p.max_length), -1);
    }
    for (int64_t t = 0; t < lengths[s]; ++t) {
      const int64_t place = (p.batch - 1) * p.max_length + used + t;
      grid.push_back(place);
      positions.push_back(t);
      segment[static_cast<size_t>(place)] = static_cast<int64_t>(s);
    }
    used += lengths[s];
  }
  auto longs = torch::TensorOptions().dtype(torch::kLong);
  p.grid_index = torch::tensor(grid, longs).to(device);
  p.positions = torch::tensor(positions, longs).to(device);
  p.segment = torch::tensor(segment, longs).view({p.batch, p.max_length}).to(device);
  p.padding = p.segment.lt(0);
  return p;
}

torch::Tensor Packing::Unpack(const torch::Tensor& packed) const {
  std::vector<int64_t> shape = packed.sizes().vec();
  shape[0] = batch * max_length;
  torch::Tensor grid = torch::zeros(shape, packed.options()).index_copy(0, grid_index, packed);
  shape.erase(shape.begin());
  shape.insert(shape.begin(), {batch, max_length});
  return grid.view(shape);
}

torch::Tensor Packing::Pack(const torch::Tensor& padded) const {
  std::vector<int64_t> shape = padded.sizes().vec();
  shape.erase(shape.begin());
  shape[0] = batch * max_length;
  return SelectRows(padded.reshape(shape), grid_index);
}

TransformerEncoderImpl::TransformerEncoderImpl(int64_t input_size, const TransformerOptions& o, const Rng& rng)
    : options_(o) {
  embedding_ = register_module("embedding", Dense(input_size, o.units, o.density, true, rng));
  const int64_t head_size = o.units / o.heads;
  for (int i = 0; i < o.layers; ++i) {
    Layer l;
    const std::string n = "layer" + std::to_string(i) + "_";
    auto norm = [&](const std::string& name) {
      return register_module(n + name, torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.units}).eps(1e-6)));
    };
    auto dense = [&](const std::string& name, int64_t in, int64_t out) {
      return register_module(n + name, Dense(in, out, o.density, true, rng));
    };
    l.norm1 = norm("norm1");
    l.q = dense("query", o.units, o.units);
    l.k = dense("key", o.units, o.units);
    l.v = dense("value", o.units, o.units);
    l.o = dense("output", o.units, o.units);
    l.norm2 = norm("norm2");
    l.ff1 = dense("ffn1", o.units, o.filter_units);
    l.ff2 = dense("ffn2", o.filter_units, o.units);
    const int64_t span = 2 * o.max_relative_position + 1;
    auto relative = [&](const std::string& name) {
      torch::Tensor t = Glorot(span, head_size, rng).unsqueeze(0).repeat({o.heads, 1, 1});
      return register_parameter(n + name, t);
    };
    if (o.key_relative) l.rel_keys = relative("relative_keys");
    if (o.value_relative) l.rel_values = relative("relative_values");
    layers_.push_back(l);
  }
  final_norm_ = register_module("final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.units}).eps(1e-6)));
}

namespace {

// Work made of many small operations that libtorch and the BLAS would run on
// one thread (the CRF's recursion, a chain of [B, T] steps; attention's
// matmuls of [L, D] matrices) split by rows: one contiguous chunk of at least
// `min_rows` per intra-op thread on the CPU, one chunk elsewhere.
int64_t RowChunks(const torch::Tensor& like, int64_t rows, int64_t min_rows) {
  return like.is_cpu() ? std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), rows / min_rows)) : 1;
}

// Runs fn(chunk, begin, end) for the chunks of `rows` side by side; inside
// each, libtorch's kernels and the BLAS see a parallel region and stay on
// their thread.
template <typename Fn>
void ForRowChunks(int64_t chunks, int64_t rows, Fn fn) {
  auto run = [&](int64_t c) {
    torch::NoGradGuard no_grad;  // grad mode is per thread
    fn(c, c * rows / chunks, (c + 1) * rows / chunks);
  };
  if (chunks == 1) {
    run(0);
  } else {
    at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) run(c);
    });
  }
}

// matmul of [N, ..., n, k] and [N, ..., k, m] batches of small matrices,
// split along N over the threads (libtorch's batched matmul on the CPU
// calls the BLAS once per matrix, one after the other, each too small to be
// threaded), forward and backward.
class SplitMatmul : public torch::autograd::Function<SplitMatmul> {
 public:
  static torch::Tensor Run(const torch::Tensor& a, const torch::Tensor& b) {
    std::vector<int64_t> shape = a.sizes().vec();
    shape.back() = b.size(-1);
    torch::Tensor out = torch::empty(shape, a.options());
    ForRowChunks(RowChunks(a, a.size(0), 2), a.size(0), [&](int64_t, int64_t begin, int64_t end) {
      torch::Tensor part = out.slice(0, begin, end);
      torch::matmul_out(part, a.slice(0, begin, end), b.slice(0, begin, end));
    });
    return out;
  }

  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b) {
    ctx->save_for_backward({a, b});
    return Run(a.detach(), b.detach());
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor a = saved[0].detach(), b = saved[1].detach(), g = grads[0].detach();
    return {Run(g, b.transpose(-1, -2)), Run(a.transpose(-1, -2), g)};
  }
};

torch::Tensor BatchMatmul(const torch::Tensor& a, const torch::Tensor& b) {
  if (!a.is_cpu() || at::get_num_threads() < 2) return torch::matmul(a, b);
  return SplitMatmul::apply(a, b);
}

}  // namespace

namespace {

// The shapes of one SequenceAttention call: packed rows [N, heads * depth],
// sequences back to back (sequence s is rows start[s] .. start[s + 1]).
struct AttentionShape {
  std::vector<int64_t> start;
  int64_t heads = 0, depth = 0, max_relative = 0;
  bool unidirectional = false;
  // Where each sequence's attention weights start in the saved ones (head
  // h's h * l * l further on), then their total.
  std::vector<int64_t> weights_at;
};

inline int64_t Bucket(int64_t i, int64_t j, int64_t max_relative) {
  return std::clamp<int64_t>(j - i, -max_relative, max_relative) + max_relative;
}

// In eight running sums, so that the compiler can keep them in one vector
// register (a single running sum's order forbids that).
inline float Dot(const float* a, const float* b, int64_t n) {
  float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t d = 0;
  for (; d + 8 <= n; d += 8)
    for (int u = 0; u < 8; ++u) part[u] += a[d + u] * b[d + u];
  float sum =
      ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
  for (; d < n; ++d) sum += a[d] * b[d];
  return sum;
}

// One sequence's attention, all heads: weights (softmax of the scaled
// scores, key-relative term included) into `w`, outputs into `out`.
TRAINYARD_VECTOR_CLONES void SequenceAttentionForward(const AttentionShape& sh, int64_t s,
                                                      const float* q, const float* k,
                                                      const float* v, const float* rk,
                                                      const float* rv, const float* mask, float* w,
                                                      float* out) {
  const int64_t b = sh.start[static_cast<size_t>(s)], e = sh.start[static_cast<size_t>(s) + 1],
                l = e - b;
  const int64_t H = sh.heads, D = sh.depth, HD = H * D, S = 2 * sh.max_relative + 1;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  for (int64_t h = 0; h < H; ++h) {
    float* wh = w + sh.weights_at[static_cast<size_t>(s)] + h * l * l;
    const float* mh = mask ? mask + sh.weights_at[static_cast<size_t>(s)] + h * l * l : nullptr;
    for (int64_t i = 0; i < l; ++i) {
      const float* qi = q + (b + i) * HD + h * D;
      const int64_t last = sh.unidirectional ? i : l - 1;
      float* row = wh + i * l;
      float top = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j <= last; ++j) {
        float score = Dot(qi, k + (b + j) * HD + h * D, D);
        if (rk) score += Dot(qi, rk + (h * S + Bucket(i, j, sh.max_relative)) * D, D);
        row[j] = score * scale;
        top = std::max(top, row[j]);
      }
      float total = 0;
      for (int64_t j = 0; j <= last; ++j) total += (row[j] = std::exp(row[j] - top));
      for (int64_t j = 0; j <= last; ++j) row[j] /= total;
      for (int64_t j = last + 1; j < l; ++j) row[j] = 0;
      float* o = out + (b + i) * HD + h * D;
      for (int64_t d = 0; d < D; ++d) o[d] = 0;
      for (int64_t j = 0; j <= last; ++j) {
        const float a = mh ? row[j] * mh[i * l + j] : row[j];  // dropped out: 0
        const float* vj = v + (b + j) * HD + h * D;
        for (int64_t d = 0; d < D; ++d) o[d] += a * vj[d];
        if (rv) {
          const float* r = rv + (h * S + Bucket(i, j, sh.max_relative)) * D;
          for (int64_t d = 0; d < D; ++d) o[d] += a * r[d];
        }
      }
    }
  }
}

// Its backward: gradients of q, k, v (rows of this sequence) and the
// relative tables' (added into `drk`, `drv`).
TRAINYARD_VECTOR_CLONES void SequenceAttentionBackward(
    const AttentionShape& sh, int64_t s, const float* q, const float* k, const float* v,
    const float* rk, const float* rv, const float* mask, const float* w, const float* dout,
    float* dq, float* dk, float* dv, float* drk, float* drv, float* da) {
  const int64_t b = sh.start[static_cast<size_t>(s)], e = sh.start[static_cast<size_t>(s) + 1],
                l = e - b;
  const int64_t H = sh.heads, D = sh.depth, HD = H * D, S = 2 * sh.max_relative + 1;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  for (int64_t h = 0; h < H; ++h) {
    const float* wh = w + sh.weights_at[static_cast<size_t>(s)] + h * l * l;
    const float* mh = mask ? mask + sh.weights_at[static_cast<size_t>(s)] + h * l * l : nullptr;
    for (int64_t i = 0; i < l; ++i) {
      const float* qi = q + (b + i) * HD + h * D;
      const float* doi = dout + (b + i) * HD + h * D;
      float* dqi = dq + (b + i) * HD + h * D;
      const int64_t last = sh.unidirectional ? i : l - 1;
      const float* row = wh + i * l;
      // da_ij: the gradient of the softmax's output (through the dropout
      // mask m_ij when there is one: the values saw a_ij m_ij).
      float mean = 0;  // sum_j a_ij da_ij
      for (int64_t j = 0; j <= last; ++j) {
        float g = Dot(doi, v + (b + j) * HD + h * D, D);
        if (rv) g += Dot(doi, rv + (h * S + Bucket(i, j, sh.max_relative)) * D, D);
        if (mh) g *= mh[i * l + j];
        da[j] = g;
        mean += row[j] * g;
      }
      for (int64_t j = 0; j <= last; ++j) {
        const float ds = row[j] * (da[j] - mean) * scale;
        const float a = mh ? row[j] * mh[i * l + j] : row[j];  // what the values saw
        const int64_t bucket = Bucket(i, j, sh.max_relative);
        const float* kj = k + (b + j) * HD + h * D;
        float* dkj = dk + (b + j) * HD + h * D;
        float* dvj = dv + (b + j) * HD + h * D;
        for (int64_t d = 0; d < D; ++d) {
          dqi[d] += ds * kj[d];
          dkj[d] += ds * qi[d];
          dvj[d] += a * doi[d];
        }
        if (rk) {
          const float* r = rk + (h * S + bucket) * D;
          float* dr = drk + (h * S + bucket) * D;
          for (int64_t d = 0; d < D; ++d) {
            dqi[d] += ds * r[d];
            dr[d] += ds * qi[d];
          }
        }
        if (rv) {
          float* dr = drv + (h * S + bucket) * D;
          for (int64_t d = 0; d < D; ++d) dr[d] += a * doi[d];
        }
      }
    }
  }
}

// Multi-head attention within each packed sequence on the CPU, forward and
// backward as loops over the sequences: no padding, no chunk-mates' masked
// pairs, and two calls instead of the ~40 operations (and their backward)
// that the chunked tensor version makes per layer, most of them on tiny
// matrices. Float; relative keys and values and a dropout mask optional.
class SequenceAttentionFunction : public torch::autograd::Function<SequenceAttentionFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q,
                               const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& rk, const torch::Tensor& rv,
                               const torch::Tensor& mask, const AttentionShape& shape) {
    const torch::Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
    // Absent relative tables come as empty tensors (autograd functions take
    // no undefined inputs in libtorch 1.13).
    const torch::Tensor rkc = rk.contiguous(), rvc = rv.contiguous(), mc = mask.contiguous();
    const AttentionShape& sh = shape;
    const int64_t sequences = static_cast<int64_t>(sh.start.size()) - 1;
    torch::Tensor weights = torch::empty({sh.weights_at.back()}, q.options());
    torch::Tensor out = torch::empty_like(qc);
    for (int64_t s = 0; s < sequences; ++s)
      SequenceAttentionForward(sh, s, qc.data_ptr<float>(), kc.data_ptr<float>(),
                               vc.data_ptr<float>(),
                               rkc.numel() > 0 ? rkc.data_ptr<float>() : nullptr,
                               rvc.numel() > 0 ? rvc.data_ptr<float>() : nullptr,
                               mc.numel() > 0 ? mc.data_ptr<float>() : nullptr,
                               weights.data_ptr<float>(), out.data_ptr<float>());
    ctx->save_for_backward({qc, kc, vc, rkc, rvc, mc, weights});
    ctx->saved_data["start"] = sh.start;
    ctx->saved_data["weights_at"] = sh.weights_at;
    ctx->saved_data["heads"] = sh.heads;
    ctx->saved_data["depth"] = sh.depth;
    ctx->saved_data["max_relative"] = sh.max_relative;
    ctx->saved_data["unidirectional"] = sh.unidirectional;
    return out;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &rk = saved[3], &rv = saved[4],
                        &mask = saved[5], &weights = saved[6];
    AttentionShape sh;
    sh.start = ctx->saved_data["start"].toIntVector();
    sh.weights_at = ctx->saved_data["weights_at"].toIntVector();
    sh.heads = ctx->saved_data["heads"].toInt();
    sh.depth = ctx->saved_data["depth"].toInt();
    sh.max_relative = ctx->saved_data["max_relative"].toInt();
    sh.unidirectional = ctx->saved_data["unidirectional"].toBool();
    const torch::Tensor dout = grads[0].contiguous();
    torch::Tensor dq = torch::zeros_like(q), dk = torch::zeros_like(k), dv = torch::zeros_like(v);
    torch::Tensor drk = rk.numel() > 0 ? torch::zeros_like(rk) : torch::Tensor();
    torch::Tensor drv = rv.numel() > 0 ? torch::zeros_like(rv) : torch::Tensor();
    std::vector<float> da(static_cast<size_t>(std::max<int64_t>(1, q.size(0))));
    const int64_t sequences = static_cast<int64_t>(sh.start.size()) - 1;
    for (int64_t s = 0; s < sequences; ++s)
      SequenceAttentionBackward(
          sh, s, q.data_ptr<float>(), k.data_ptr<float>(), v.data_ptr<float>(),
          rk.numel() > 0 ? rk.data_ptr<float>() : nullptr,
          rv.numel() > 0 ? rv.data_ptr<float>() : nullptr,
          mask.numel() > 0 ? mask.data_ptr<float>() : nullptr, weights.data_ptr<float>(),
          dout.data_ptr<float>(), dq.data_ptr<float>(), dk.data_ptr<float>(), dv.data_ptr<float>(),
          drk.defined() ? drk.data_ptr<float>() : nullptr,
          drv.defined() ? drv.data_ptr<float>() : nullptr, da.data());
    return {dq, dk, dv, drk, drv, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

namespace {

// The packed sequences' bounds (a sequence starts where `positions` is 0) and
// where each one's attention weights start, for `heads` heads.
AttentionShape SequenceShape(const torch::Tensor& positions, int64_t heads) {
  AttentionShape shape;
  shape.heads = heads;
  const torch::Tensor at = positions.to(torch::kCPU).contiguous();
  const int64_t n = at.size(0);
  const int64_t* pos = at.data_ptr<int64_t>();
  for (int64_t r = 0; r < n; ++r)
    if (pos[r] == 0) shape.start.push_back(r);
  shape.start.push_back(n);
  shape.weights_at.push_back(0);
  for (size_t s = 0; s + 1 < shape.start.size(); ++s) {
    const int64_t length = shape.start[s + 1] - shape.start[s];
    shape.weights_at.push_back(shape.weights_at.back() + heads * length * length);
  }
  return shape;
}

}  // namespace

torch::Tensor SequenceAttention(const torch::Tensor& q, const torch::Tensor& k,
                                const torch::Tensor& v, const torch::Tensor& rel_keys,
                                const torch::Tensor& rel_values, const torch::Tensor& positions,
                                int64_t heads, int64_t max_relative, bool unidirectional,
                                const torch::Tensor& weight_mask) {
  AttentionShape shape = SequenceShape(positions, heads);
  shape.depth = q.size(1) / heads;
  shape.max_relative = max_relative;
  shape.unidirectional = unidirectional;
  const torch::Tensor none = torch::empty({0}, q.options());
  TORCH_CHECK(!weight_mask.defined() || weight_mask.numel() == shape.weights_at.back(),
              "SequenceAttention: a weight mask of ", weight_mask.numel(), " entries for ",
              shape.weights_at.back(), " attention weights");
  return SequenceAttentionFunction::apply(q, k, v, rel_keys.defined() ? rel_keys : none,
                                          rel_values.defined() ? rel_values : none,
                                          weight_mask.defined() ? weight_mask : none, shape);
}

int64_t SequenceAttentionWeights(const torch::Tensor& positions, int64_t heads) {
  return SequenceShape(positions, heads).weights_at.back();
}

torch::Tensor TransformerEncoderImpl::Attention(Layer& l, const torch::Tensor& x, const Packing& p, bool training,
                                                const Rng& rng) {
  const int64_t B = p.batch, L = p.max_length, H = options_.heads, D = options_.units / options_.heads;
  if (x.is_cpu() && x.scalar_type() == torch::kFloat) {
    torch::Tensor mask;  // attention dropout: a multiplier per attention weight
    if (training && options_.attention_dropout > 0)
      mask = Dropout(torch::ones({SequenceAttentionWeights(p.positions, H)}),
                     options_.attention_dropout, training, rng);
    return l.o->forward(SequenceAttention(
        l.q->forward(x), l.k->forward(x), l.v->forward(x), l.rel_keys, l.rel_values, p.positions, H,
        options_.max_relative_position, options_.unidirectional, mask));
  }
  auto heads = [&](const torch::Tensor& packed) {  // [N, units] -> [B, H, L, D]
    return p.Unpack(packed).view({B, L, H, D}).permute({0, 2, 1, 3});
  };
  torch::Tensor q = heads(l.q->forward(x)), k = heads(l.k->forward(x)), v = heads(l.v->forward(x));
  torch::Tensor scores = BatchMatmul(q, k.transpose(-1, -2));  // [B, H, L, L]
  // Each place's position within its own sequence, and the relative
  // distance bucket of every (query, key) pair.
  torch::Tensor pos = p.Unpack(p.positions.unsqueeze(1)).view({B, L});
  torch::Tensor relative;
  const int64_t S = 2 * options_.max_relative_position + 1;
  if (l.rel_keys.defined() || l.rel_values.defined())
    relative = (pos.unsqueeze(1) - pos.unsqueeze(2))
                   .clamp(-options_.max_relative_position, options_.max_relative_position)
                   .add(options_.max_relative_position)
                   .unsqueeze(1)
                   .expand({B, H, L, L});
  if (l.rel_keys.defined())  // q · r[rel(i, j)]: score against every bucket, then pick
    scores = scores + torch::matmul(q, l.rel_keys.transpose(-1, -2).unsqueeze(0)).gather(3, relative);
  scores = scores / std::sqrt(static_cast<double>(D));
  torch::Tensor blocked = p.padding.view({B, 1, 1, L});
  if (p.segment.defined())  // attend within the same sequence only
    blocked = blocked.logical_or(p.segment.unsqueeze(2).ne(p.segment.unsqueeze(1)).unsqueeze(1));
  if (options_.unidirectional) blocked = blocked.logical_or(pos.unsqueeze(1).gt(pos.unsqueeze(2)).unsqueeze(1));
  scores = scores.masked_fill(blocked, -1e9);
  torch::Tensor attention = Dropout(torch::softmax(scores, -1), options_.attention_dropout, training, rng);
  torch::Tensor out = BatchMatmul(attention, v);  // [B, H, L, D]
  if (l.rel_values.defined()) {  // sum_j a_ij r[rel(i, j)]: weights per bucket, then one matmul
    torch::Tensor buckets = torch::zeros({B, H, L, S}, attention.options()).scatter_add(3, relative, attention);
    out = out + torch::matmul(buckets, l.rel_values.unsqueeze(0));
  }
  out = p.Pack(out.permute({0, 2, 1, 3}).reshape({B, L, H * D}));
  return l.o->forward(out);
}

torch::Tensor TransformerEncoderImpl::forward(const torch::Tensor& packed, const Packing& p, bool training,
                                              const Rng& rng) {
  torch::Tensor x = embedding_->forward(packed) * std::sqrt(static_cast<double>(options_.units));
  // Sinusoidal positions: sin on even, cos on odd dimensions.
  auto fopts = torch::TensorOptions().dtype(torch::kFloat).device(x.device());
  torch::Tensor dims = torch::arange(options_.units, fopts);
  torch::Tensor rates = torch::pow(10000.0, -2.0 * torch::floor(dims / 2) / options_.units);
  torch::Tensor angles = p.positions.to(torch::kFloat).unsqueeze(1) * rates.unsqueeze(0);
  torch::Tensor even = torch::fmod(dims, 2).eq(0).unsqueeze(0);
  x = x + torch::where(even, torch::sin(angles), torch::cos(angles));
  x = Dropout(x, options_.dropout, training, rng);
  for (Layer& l : layers_) {
    x = x + Dropout(Attention(l, l.norm1->forward(x), p, training, rng), options_.dropout, training, rng);
    torch::Tensor h = torch::gelu(l.ff1->forward(l.norm2->forward(x)));
    h = l.ff2->forward(Dropout(h, options_.dropout, training, rng));
    x = x + Dropout(h, options_.dropout, training, rng);
  }
  // Rasa passes a transformer's output through a GELU before anything reads it
  // (RasaSequenceLayer, TED's encoders).
  return torch::gelu(final_norm_->forward(x));
}

CrfImpl::CrfImpl(int64_t num_tags, const Rng& rng) {
  transitions = register_parameter("transitions", Glorot(num_tags, num_tags, rng));
}

namespace {

// Each sequence's extent in a CRF batch: one past its last real position (at
// least 1: position 0 always counts).
std::vector<int64_t> RealExtents(const torch::Tensor& mask) {
  const torch::Tensor m = mask.to(torch::kBool).contiguous();
  const int64_t B = m.size(0), L = m.size(1);
  const bool* real = m.data_ptr<bool>();
  std::vector<int64_t> extent(static_cast<size_t>(B), 1);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = L - 1; t > 0; --t)
      if (real[b * L + t]) {
        extent[static_cast<size_t>(b)] = t + 1;
        break;
      }
  return extent;
}

// Rows [begin, end)'s leading rows the recursion must visit at each position:
// up to the last row whose sequence reaches it (rows past it keep their
// scores). For the CPU's loops (the extents are read on the host).
std::vector<int64_t> ActiveRows(const std::vector<int64_t>& extent, int64_t length, int64_t begin,
                                int64_t end) {
  std::vector<int64_t> active(static_cast<size_t>(length));
  for (int64_t t = 0; t < length; ++t) {
    int64_t k = 0;
    for (int64_t r = begin; r < end; ++r)
      if (extent[static_cast<size_t>(r)] > t) k = r - begin + 1;
    active[static_cast<size_t>(t)] = k;
  }
  return active;
}

// exp and log for the CRF's loops on the CPU, written so that GCC vectorizes
// them (libm's are scalar calls). exp: x = n ln2 + r with |r| <= ln2 / 2,
// e^r by its Taylor series to r^6, 2^n put in the exponent bits; x is
// clamped to [-87, 88], where the result stays a normal float. log: x = 2^k m
// with m in [0.71, 1.42), log m = 2 atanh((m - 1) / (m + 1)) by its series to
// the 9th power. Both within a few units in the last place of libm's over the
// CRF's ranges (CrfTest checks them). (Vectorized in the AVX2 and AVX-512
// clones; the baseline's float clamp keeps exp scalar there.)
inline float ExpFast(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;  // rounded to an integer
  const float r = (x - n * 0.693145752f) - n * 1.42860677e-6f;    // ln 2 in two parts
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// x at least 1e-30 (smaller ones, zero too, are read as 1e-30).
inline float LogFast(float x) {
  int32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  bits = std::max(bits, int32_t{0x0da24260});  // 1e-30's bits: positive floats order as integers
  // (Integer operations throughout: GCC does not vectorize a float select
  // next to the bit casts.)
  int32_t mantissa = (bits & 0x7fffff) | 0x3f800000;  // m in [1, 2)
  const int32_t high = mantissa > 0x3fb504f3;         // m > sqrt(2): halve it
  mantissa -= high << 23;
  float m;
  std::memcpy(&m, &mantissa, sizeof m);
  const float k = static_cast<float>(((bits >> 23) & 0xff) - 127 + high);
  const float f = m - 1.0f;
  const float s = f / (2.0f + f), s2 = s * s;
  float p = 1.0f / 9;
  p = p * s2 + 1.0f / 7;
  p = p * s2 + 1.0f / 5;
  p = p * s2 + 1.0f / 3;
  p = p * s2 + 1.0f;
  return k * 0.693145752f + (k * 1.42860677e-6f + 2.0f * s * p);
}

}  // namespace

float CrfExpForTest(float x) { return ExpFast(x); }
float CrfLogForTest(float x) { return LogFast(x); }

namespace {

float RowMax(const float* x, int64_t n) {
  float m = x[0];
  for (int64_t j = 1; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// out = exp(x + y - shift), y optional.
TRAINYARD_VECTOR_CLONES void ExpRow(const float* __restrict x, const float* __restrict y,
                                    float shift, float* __restrict out, int64_t n) {
  if (y)
    for (int64_t j = 0; j < n; ++j) out[j] = ExpFast(x[j] + y[j] - shift);
  else
    for (int64_t j = 0; j < n; ++j) out[j] = ExpFast(x[j] - shift);
}

// out = log(max(q, 1e-30)) + shift + e, e optional.
TRAINYARD_VECTOR_CLONES void LogRow(const float* __restrict q, float shift,
                                    const float* __restrict e, float* __restrict out, int64_t n) {
  if (e)
    for (int64_t j = 0; j < n; ++j) out[j] = LogFast(q[j]) + shift + e[j];
  else
    for (int64_t j = 0; j < n; ++j) out[j] = LogFast(q[j]) + shift;
}

TRAINYARD_VECTOR_CLONES void AddRows(const float* __restrict x, const float* __restrict y,
                                     float* __restrict out, int64_t n) {
  for (int64_t j = 0; j < n; ++j) out[j] = x[j] + y[j];
}

TRAINYARD_VECTOR_CLONES void ScaleRow(float* x, float scale, int64_t n) {
  for (int64_t j = 0; j < n; ++j) x[j] *= scale;
}

// log Z of a linear-chain CRF for each sequence (the forward algorithm), whose
// gradient is computed from the forward-backward marginals: d log Z / d e[t, j]
// = P(y_t = j), d log Z / d A[i, j] = sum over t of P(y_t-1 = i, y_t = j).
// Autograd through the recursion recorded about ten nodes per token (most of
// DIET's entity cost); here each direction is one matmul per token. A position
// whose mask is false is skipped: the chain links the positions around it.
// Each step is in exp space, [B, T] x [T, T], both factors shifted by their
// maxima to stay in range.
// On the CPU (float) a position is one loop over the rows and one matmul (as
// libtorch operator calls on [B, T] slices, about 45 a position, the CRF took
// 1.19 s of a fast-config NLU-Benchmark epoch; now 0.71 s), and the
// transitions' gradient is one matmul at the end over all the (sequence,
// position) rows the backward went through. A step computes only the leading
// rows that still have positions to come (ActiveRows): rows sorted by length,
// as NegativeLogLikelihood passes them, skip their padding's work. Elsewhere
// (a GPU; or not float) the steps are tensor operations over every row, and
// the backward computes each position's terms for all positions at once.
class CrfLogPartition : public torch::autograd::Function<CrfLogPartition> {
 public:
  // Whether the rows' own loops run (per-position terms): float on the CPU.
  static bool Looped(const torch::Tensor& emissions) {
    return emissions.is_cpu() && emissions.scalar_type() == torch::kFloat;
  }

  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& emissions_in,
                               const torch::Tensor& transitions_in, const torch::Tensor& mask_in, bool all_at_once) {
    const torch::Tensor emissions = emissions_in.detach().contiguous(),
                        transitions = transitions_in.detach(), mask = mask_in.detach().contiguous();
    const bool looped = Looped(emissions);
    all_at_once = all_at_once || !looped;
    ctx->saved_data["all_at_once"] = all_at_once;
    const int64_t B = emissions.size(0), L = emissions.size(1), T = emissions.size(2);
    const torch::Tensor trans_max = transitions.max();
    const torch::Tensor exp_trans = torch::exp(transitions - trans_max).contiguous();
    // alphas[t]: the forward scores at t, or at the last real position before t.
    torch::Tensor alphas = torch::empty({L, B, T}, emissions.options());
    torch::Tensor log_z = torch::empty({B}, emissions.options());
    if (looped) {
      const std::vector<int64_t> extent = RealExtents(mask);
      ctx->saved_data["extent"] = extent;  // for the backward's rows
      const float* e = emissions.data_ptr<float>();
      const bool* real = mask.data_ptr<bool>();
      float* out = alphas.data_ptr<float>();
      float* z = log_z.data_ptr<float>();
      const float shift = trans_max.item<float>();
      ForRowChunks(RowChunks(emissions, B, 8), B, [&](int64_t, int64_t begin, int64_t end) {
        const int64_t n = end - begin;
        const std::vector<int64_t> active = ActiveRows(extent, L, begin, end);
        // alpha: the chunk's current scores; p: exp(alpha - max); q: p x exp(A).
        torch::Tensor work = torch::empty({3, n, T}, emissions.options());
        float* alpha = work[0].data_ptr<float>();
        float* p = work[1].data_ptr<float>();
        std::vector<float> maxima(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i)
          std::memcpy(alpha + i * T, e + (begin + i) * L * T, T * sizeof(float));
        std::memcpy(out + begin * T, alpha, n * T * sizeof(float));
        for (int64_t t = 1; t < L; ++t) {
          const int64_t k = active[static_cast<size_t>(t)];
          if (k > 0) {
            for (int64_t i = 0; i < k; ++i) {
              maxima[static_cast<size_t>(i)] = RowMax(alpha + i * T, T);
              ExpRow(alpha + i * T, nullptr, maxima[static_cast<size_t>(i)], p + i * T, T);
            }
            torch::Tensor q = work[2].narrow(0, 0, k);
            torch::mm_out(q, work[1].narrow(0, 0, k), exp_trans);
            const float* qs = q.data_ptr<float>();
            for (int64_t i = 0; i < k; ++i)
              if (real[(begin + i) * L + t])
                LogRow(qs + i * T, maxima[static_cast<size_t>(i)] + shift,
                       e + ((begin + i) * L + t) * T, alpha + i * T, T);
          }
          std::memcpy(out + (t * B + begin) * T, alpha, n * T * sizeof(float));
        }
        for (int64_t i = 0; i < n; ++i) {
          const float m = RowMax(alpha + i * T, T);
          ExpRow(alpha + i * T, nullptr, m, p, T);
          double sum = 0;
          for (int64_t j = 0; j < T; ++j) sum += p[j];
          z[begin + i] = m + static_cast<float>(std::log(sum));
        }
      });
    } else {
      ForRowChunks(RowChunks(emissions, B, 8), B, [&](int64_t, int64_t begin, int64_t end) {
        // (The per-position views are taken once: on a GPU every operator
        // call costs its dispatch, whatever its size.)
        const std::vector<torch::Tensor> e = emissions.slice(0, begin, end).unbind(1),
                                         real = mask.slice(0, begin, end).unsqueeze(2).unbind(1);
        const std::vector<torch::Tensor> out = alphas.slice(1, begin, end).unbind(0);  // views
        torch::Tensor alpha = e[0];
        out[0].copy_(alpha);
        for (int64_t t = 1; t < L; ++t) {
          const torch::Tensor alpha_max = std::get<0>(alpha.max(1, true));
          torch::Tensor next = torch::matmul(torch::exp(alpha - alpha_max), exp_trans)
                                   .clamp_min_(1e-30)
                                   .log_()
                                   .add_(alpha_max + trans_max)
                                   .add_(e[t]);
          alpha = torch::where(real[t], next, alpha);
          out[t].copy_(alpha);
        }
        log_z.slice(0, begin, end).copy_(torch::logsumexp(alpha, 1));
      });
    }
    ctx->save_for_backward({emissions, mask, alphas, log_z, exp_trans, trans_max});
    return log_z;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &emissions = saved[0], &mask = saved[1], &alphas = saved[2], &log_z = saved[3],
                        &exp_trans = saved[4], &trans_max = saved[5];
    const torch::Tensor grad = grads[0].detach().contiguous();
    const int64_t B = emissions.size(0), L = emissions.size(1), T = emissions.size(2);
    const bool all_at_once = ctx->saved_data["all_at_once"].toBool();
    // All at once writes every position; the loops leave the positions they
    // skip (not real, or past a row's end) at zero.
    torch::Tensor grad_emissions =
        all_at_once ? torch::empty_like(emissions) : torch::zeros_like(emissions);
    const int64_t chunks = RowChunks(emissions, B, 8);
    torch::Tensor pair_sums = torch::zeros({chunks, T, T}, emissions.options());  // one per chunk
    const torch::Tensor exp_trans_t = exp_trans.t();
    if (all_at_once) {
      ForRowChunks(chunks, B, [&](int64_t c, int64_t begin, int64_t end) {
        const std::vector<torch::Tensor> e = emissions.slice(0, begin, end).unbind(1),
                                         real = mask.slice(0, begin, end).unsqueeze(2).unbind(1);
        const torch::Tensor z = log_z.slice(0, begin, end).unsqueeze(1), g = grad.slice(0, begin, end).unsqueeze(1);
        const torch::Tensor zero = torch::zeros({}, emissions.options());
        // Only the backward recursion goes position by position; what each
        // position adds to the gradients is computed for all of them after it.
        // beta: the log score of everything after the current real position.
        std::vector<torch::Tensor> betas(static_cast<size_t>(L)), ys, u_maxes;
        torch::Tensor beta = torch::zeros({end - begin, T}, emissions.options());
        for (int64_t t = L - 1; t >= 1; --t) {
          // (Where a position is not real, the exponents are not bounded:
          // `where` keeps an overflow there out of the sums.)
          betas[t] = beta;
          const torch::Tensor u = e[t] + beta;
          const torch::Tensor u_max = std::get<0>(u.max(1, true));
          const torch::Tensor y = torch::exp(u - u_max);
          ys.push_back(y);
          u_maxes.push_back(u_max);
          torch::Tensor previous =
              torch::matmul(y, exp_trans_t).clamp_min_(1e-30).log_().add_(u_max + trans_max);
          beta = torch::where(real[t], previous, beta);
        }
        betas[0] = beta;
        // [L, b, 1]: the real positions, the first always one.
        torch::Tensor m = mask.slice(0, begin, end).t().unsqueeze(2).clone();
        m.select(0, 0).fill_(true);
        const torch::Tensor a = alphas.slice(1, begin, end);  // [L, b, T]
        // d log Z / d e[t, j] = P(y_t = j).
        grad_emissions.slice(0, begin, end)
            .copy_(torch::where(m, torch::exp(a + torch::stack(betas) - z) * g, zero).transpose(0, 1));
        if (L < 2) return;
        // d log Z / d A[i, j]: the sum over positions t >= 1 and sequences of
        // exp(alpha_t-1(i) + A(i, j) + u_t(j) - log Z), exp(A) multiplied in at
        // the end, as one matmul of the positions' rows.
        std::reverse(ys.begin(), ys.end());  // positions 1 .. L-1
        std::reverse(u_maxes.begin(), u_maxes.end());
        const torch::Tensor before = a.narrow(0, 0, L - 1);
        const torch::Tensor before_max = std::get<0>(before.max(2, true));
        const torch::Tensor scale = torch::where(
            m.narrow(0, 1, L - 1), torch::exp(before_max + torch::stack(u_maxes) + trans_max - z) * g, zero);
        const torch::Tensor weighted = (torch::stack(ys) * scale).reshape({-1, T});
        pair_sums.select(0, c).copy_(torch::exp(before - before_max).reshape({-1, T}).t().mm(weighted));
      });
    } else {
      const std::vector<int64_t> extent = ctx->saved_data["extent"].toIntVector();
      const float* e = emissions.data_ptr<float>();
      const bool* real = mask.data_ptr<bool>();
      const float* alpha = alphas.data_ptr<float>();
      const float* zs = log_z.data_ptr<float>();
      const float* gs = grad.data_ptr<float>();
      float* grad_e = grad_emissions.data_ptr<float>();
      const float shift = trans_max.item<float>();
      const torch::Tensor exp_trans_tc = exp_trans_t.contiguous();
      ForRowChunks(chunks, B, [&](int64_t c, int64_t begin, int64_t end) {
        const int64_t n = end - begin;
        const std::vector<int64_t> active = ActiveRows(extent, L, begin, end);
        int64_t pairs = 0;  // the (sequence, position) rows of the transitions' sum
        for (int64_t t = 1; t < L; ++t)
          for (int64_t i = 0; i < active[static_cast<size_t>(t)]; ++i)
            pairs += real[(begin + i) * L + t];
        // beta: the log score of everything after the current real position;
        // y: exp(e + beta - max) of the rows at this position; q: y x exp(A)';
        // before / weighted: the two factors of each pair row, stacked.
        torch::Tensor work = torch::zeros({3, n, T}, emissions.options());
        float* beta = work[0].data_ptr<float>();
        float* y = work[1].data_ptr<float>();
        torch::Tensor before = torch::empty({pairs, T}, emissions.options()),
                      weighted = torch::empty({pairs, T}, emissions.options());
        float* before_rows = before.data_ptr<float>();
        float* weighted_rows = weighted.data_ptr<float>();
        std::vector<float> u_max(static_cast<size_t>(n));
        std::vector<float> u(static_cast<size_t>(T));
        int64_t row = 0;
        for (int64_t t = L - 1; t >= 1; --t) {
          // Rows past `k` have ended: no gradient here, beta stays 0.
          const int64_t k = active[static_cast<size_t>(t)];
          if (k == 0) continue;
          for (int64_t i = 0; i < k; ++i) {
            const int64_t s = begin + i;
            float* y_i = y + i * T;
            if (!real[s * L + t]) {  // the chain skips it: no terms, beta unchanged
              std::fill(y_i, y_i + T, 0.0f);
              continue;
            }
            const float z = zs[s], g = gs[s];
            const float* a_t = alpha + (t * B + s) * T;
            const float* a_before = alpha + ((t - 1) * B + s) * T;
            const float* b_i = beta + i * T;
            // d log Z / d e[t, j] = P(y_t = j) = exp(alpha + beta - log Z).
            float* ge = grad_e + (s * L + t) * T;
            ExpRow(a_t, b_i, z, ge, T);
            ScaleRow(ge, g, T);
            AddRows(e + (s * L + t) * T, b_i, u.data(), T);
            const float m = RowMax(u.data(), T);
            u_max[static_cast<size_t>(i)] = m;
            ExpRow(u.data(), nullptr, m, y_i, T);
            // The pair sum's row: exp(alpha_t-1 - max) and y scaled by
            // exp(max + u_max + max(A) - log Z) g.
            const float before_max = RowMax(a_before, T);
            ExpRow(a_before, nullptr, before_max, before_rows + row * T, T);
            const float scale = ExpFast(before_max + m + shift - z) * g;
            float* w = weighted_rows + row * T;
            std::memcpy(w, y_i, T * sizeof(float));
            ScaleRow(w, scale, T);
            ++row;
          }
          torch::Tensor q = work[2].narrow(0, 0, k);
          torch::mm_out(q, work[1].narrow(0, 0, k), exp_trans_tc);
          const float* qs = q.data_ptr<float>();
          for (int64_t i = 0; i < k; ++i)
            if (real[(begin + i) * L + t])
              LogRow(qs + i * T, u_max[static_cast<size_t>(i)] + shift, nullptr, beta + i * T, T);
        }
        for (int64_t i = 0; i < n; ++i) {
          const int64_t s = begin + i;
          float* ge = grad_e + s * L * T;
          ExpRow(alpha + s * T, beta + i * T, zs[s], ge, T);
          ScaleRow(ge, gs[s], T);
        }
        // The sum over sequences and positions of exp(alpha_t-1(i) + A(i, j)
        // + u_t(j) - log Z), exp(A) multiplied in at the end: one matmul.
        if (pairs > 0) pair_sums.select(0, c).copy_(before.t().mm(weighted));
      });
    }
    torch::Tensor grad_transitions = pair_sums.sum(0) * exp_trans;
    return {grad_emissions, grad_transitions, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor CrfImpl::NegativeLogLikelihood(const torch::Tensor& emissions, const torch::Tensor& tags,
                                             const torch::Tensor& mask) {
  const int64_t L = emissions.size(1);
  const torch::Tensor real = mask.to(emissions.scalar_type());
  // The gold path's score: its emissions and transitions on real tokens.
  torch::Tensor gold = (emissions.gather(2, tags.unsqueeze(2)).squeeze(2) * real).sum(1);
  if (L > 1) {
    using torch::indexing::Slice;
    torch::Tensor steps = transitions.index({tags.index({Slice(), Slice(0, L - 1)}), tags.index({Slice(), Slice(1, L)})});
    gold = gold + (steps * real.index({Slice(), Slice(1, L)})).sum(1);
  }
  const bool all_at_once = gradient_terms == GradientTerms::kAllAtOnce ||
                           (gradient_terms == GradientTerms::kAuto && !emissions.is_cpu());
  const torch::Tensor real_mask = mask.to(torch::kBool);
  if (!emissions.is_cpu() || all_at_once)
    return (CrfLogPartition::apply(emissions, transitions, real_mask, all_at_once) - gold).mean();
  // On the CPU the rows go in by length, longest first within each of the
  // recursion's chunks (dealt to the chunks in turn, so that every chunk gets
  // long and short ones), so that a position's work covers only the
  // sequences that reach it. The mean does not depend on the order.
  const std::vector<int64_t> extent = RealExtents(real_mask);
  const int64_t B = emissions.size(0), chunks = RowChunks(emissions, B, 8);
  std::vector<int64_t> by_length(static_cast<size_t>(B));
  std::iota(by_length.begin(), by_length.end(), 0);
  std::stable_sort(by_length.begin(), by_length.end(), [&](int64_t x, int64_t y) {
    return extent[static_cast<size_t>(x)] > extent[static_cast<size_t>(y)];
  });
  std::vector<std::vector<int64_t>> dealt(static_cast<size_t>(chunks));
  // Chunk c holds rows [c * B / chunks, (c + 1) * B / chunks).
  auto full = [&](int64_t c) {
    return static_cast<int64_t>(dealt[static_cast<size_t>(c)].size()) ==
           (c + 1) * B / chunks - c * B / chunks;
  };
  int64_t next = 0;
  for (int64_t row : by_length) {
    while (full(next)) next = (next + 1) % chunks;  // the next chunk with room
    dealt[static_cast<size_t>(next)].push_back(row);
    next = (next + 1) % chunks;
  }
  std::vector<int64_t> order;
  for (const auto& d : dealt) order.insert(order.end(), d.begin(), d.end());
  const torch::Tensor o = torch::tensor(order, torch::TensorOptions().dtype(torch::kLong));
  return (CrfLogPartition::apply(SelectRows(emissions, o), transitions,
                                 real_mask.index_select(0, o), false) -
          SelectRows(gold, o))
      .mean();
}

std::vector<std::vector<int>> CrfImpl::Decode(const torch::Tensor& emissions_in, const std::vector<int64_t>& lengths,
                                              std::vector<std::vector<float>>* confidences) const {
  const torch::Tensor emissions = emissions_in.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const torch::Tensor trans_t = transitions.detach().to(torch::kCPU, torch::kDouble).contiguous();
  auto e = emissions.accessor<double, 3>();
  auto tr = trans_t.accessor<double, 2>();
  const int T = static_cast<int>(emissions.size(2));
  std::vector<std::vector<int>> paths;
  if (confidences) confidences->clear();
  for (size_t b = 0; b < lengths.size(); ++b) {
    const int L = static_cast<int>(lengths[b]);
    std::vector<int> path(L);
    if (L == 0) {
      paths.push_back(path);
      if (confidences) confidences->emplace_back();
      continue;
    }
    std::vector<std::vector<double>> score(L, std::vector<double>(T)), fwd(L, std::vector<double>(T)),
        bwd(L, std::vector<double>(T, 0.0));
    std::vector<std::vector<int>> back(L, std::vector<int>(T, 0));
    for (int j = 0; j < T; ++j) score[0][j] = fwd[0][j] = e[b][0][j];
    auto logsumexp = [](const std::vector<double>& v) {
      double m = -std::numeric_limits<double>::infinity();
      for (double x : v) m = std::max(m, x);
      double s = 0;
      for (double x : v) s += std::exp(x - m);
      return m + std::log(s);
    };
    std::vector<double> tmp(T);
    for (int t = 1; t < L; ++t)
      for (int j = 0; j < T; ++j) {
        int best = 0;
        for (int i = 0; i < T; ++i) {
          const double s = score[t - 1][i] + tr[i][j];
          if (s > score[t - 1][best] + tr[best][j]) best = i;
          tmp[i] = fwd[t - 1][i] + tr[i][j];
        }
        back[t][j] = best;
        score[t][j] = score[t - 1][best] + tr[best][j] + e[b][t][j];
        fwd[t][j] = logsumexp(tmp) + e[b][t][j];
      }
    int last = 0;
    for (int j = 1; j < T; ++j)
      if (score[L - 1][j] > score[L - 1][last]) last = j;
    path[L - 1] = last;
    for (int t = L - 1; t > 0; --t) path[t - 1] = back[t][path[t]];
    paths.push_back(path);
    if (!confidences) continue;
    for (int t = L - 2; t >= 0; --t)
      for (int i = 0; i < T; ++i) {
        for (int j = 0; j < T; ++j) tmp[j] = tr[i][j] + e[b][t + 1][j] + bwd[t + 1][j];
        bwd[t][i] = logsumexp(tmp);
      }
    const double log_z = logsumexp(fwd[L - 1]);
    std::vector<float> conf(L);
    for (int t = 0; t < L; ++t) conf[t] = static_cast<float>(std::exp(fwd[t][path[t]] + bwd[t][path[t]] - log_z));
    confidences->push_back(std::move(conf));
  }
  return paths;
}

torch::Tensor Similarities(const torch::Tensor& inputs, const torch::Tensor& candidates, const std::string& type) {
  if (type == "cosine")
    return torch::matmul(F::normalize(inputs, F::NormalizeFuncOptions().dim(-1)),
                         F::normalize(candidates, F::NormalizeFuncOptions().dim(-1)).t());
  return torch::matmul(inputs, candidates.t());
}

torch::Tensor Confidences(const torch::Tensor& similarities, const std::string& model_confidence) {
  if (model_confidence == "linear_norm") {
    torch::Tensor clipped = similarities.clamp_min(0);
    return clipped / clipped.sum(-1, true).clamp_min(1e-12);
  }
  return torch::softmax(similarities, -1);
}

namespace {

// Pairwise similarity of a[b] with each of n[b, j]: [B, k].
torch::Tensor RowSimilarity(const torch::Tensor& a, const torch::Tensor& n, const std::string& type) {
  if (type == "cosine")
    return (F::normalize(a, F::NormalizeFuncOptions().dim(-1)).unsqueeze(1) *
            F::normalize(n, F::NormalizeFuncOptions().dim(-1)))
        .sum(-1);
  return (a.unsqueeze(1) * n).sum(-1);
}

}  // namespace

SimilarityLossResult DotProductLoss(const SimilarityOptions& o, const torch::Tensor& inputs,
                                    const torch::Tensor& labels, const torch::Tensor& label_ids,
                                    const torch::Tensor& all_labels, const torch::Tensor& all_label_ids,
                                    const Rng& rng) {
  const int64_t B = inputs.size(0), K = all_labels.size(0);
  // As Rasa samples them: for each input, `negatives` distinct candidates
  // (all of them when there are fewer) among all labels and among the batch's
  // inputs; a candidate that shares the positive's label (the input itself
  // among them) is masked out.
  const auto distinct = [&](int64_t candidates) {
    const int64_t k = std::max<int64_t>(1, std::min<int64_t>(o.negatives, candidates));
    return std::get<1>(rng.Uniform({B, candidates}).topk(k, 1));
  };
  const torch::Tensor label_pick = distinct(K), input_pick = distinct(B);
  const int64_t k_labels = label_pick.size(1), k_inputs = input_pick.size(1);
  torch::Tensor neg_labels = SelectRows(all_labels, label_pick.flatten()).view({B, k_labels, -1});
  torch::Tensor neg_inputs = SelectRows(inputs, input_pick.flatten()).view({B, k_inputs, -1});
  torch::Tensor ids = label_ids.unsqueeze(1);
  torch::Tensor bad_labels = all_label_ids.index_select(0, label_pick.flatten()).view({B, k_labels}).eq(ids);
  torch::Tensor bad_inputs = label_ids.index_select(0, input_pick.flatten()).view({B, k_inputs}).eq(ids);
  const std::string& type = o.similarity_type;
  torch::Tensor sim_pos = (type == "cosine" ? F::cosine_similarity(inputs, labels, F::CosineSimilarityFuncOptions().dim(-1))
                                            : (inputs * labels).sum(-1)).unsqueeze(1);  // [B, 1]
  torch::Tensor sim_il = RowSimilarity(inputs, neg_labels, type).masked_fill(bad_labels, -1e9);
  torch::Tensor sim_ll = RowSimilarity(labels, neg_labels, type).masked_fill(bad_labels, -1e9);
  torch::Tensor sim_ii = RowSimilarity(inputs, neg_inputs, type).masked_fill(bad_inputs, -1e9);
  torch::Tensor sim_li = RowSimilarity(labels, neg_inputs, type).masked_fill(bad_inputs, -1e9);
  SimilarityLossResult r;
  r.accuracy = (sim_pos.squeeze(1) > std::get<0>(sim_il.max(1))).to(torch::kFloat).mean();
  if (o.loss_type == "margin") {
    // As Rasa: use_maximum_negative_similarity chooses between the most
    // similar negative label and all of them; the other three kinds always
    // count by their most similar one.
    torch::Tensor loss = torch::relu(o.maximum_positive_similarity - sim_pos.squeeze(1));
    auto most = [&](const torch::Tensor& s) {
      return torch::relu(o.maximum_negative_similarity + std::get<0>(s.max(1)));
    };
    loss = loss + (o.use_maximum_negative_similarity
                       ? most(sim_il)
                       : torch::relu(o.maximum_negative_similarity + sim_il).sum(1));
    loss = loss + o.negative_margin_scale * (most(sim_ll) + most(sim_ii) + most(sim_li));
    r.loss = loss.mean();
    return r;
  }
  torch::Tensor logits = torch::cat({sim_pos, sim_il, sim_ll, sim_ii, sim_li}, 1);
  torch::Tensor per_example = torch::logsumexp(logits, 1) - sim_pos.squeeze(1);  // softmax CE, target 0
  if (o.constrain_similarities) {
    // As Rasa: each similarity through a sigmoid as well, the positive's
    // towards 1 and the negatives' towards 0, the binary cross-entropies
    // averaged over all of an example's similarities (a masked one, at -1e9,
    // adds 0 and counts).
    torch::Tensor targets = torch::zeros_like(logits);
    targets.select(1, 0).fill_(1);
    per_example = per_example + (F::softplus(logits) - logits * targets).mean(1);
  }
  if (o.scale_loss) {
    // Rasa's _scale_loss: once some example of the batch is likelier than not
    // (p > 0.5), each example weighs ((1 - p) / 0.5)^4: the well-learned less,
    // the badly learned up to 16 times more; before that, all alike.
    torch::Tensor p = torch::exp(-per_example).detach();
    per_example = per_example *
                  torch::where(p.max().gt(0.5), torch::pow((1 - p) / 0.5, 4), torch::ones_like(p));
  }
  r.loss = per_example.mean();
  return r;
}

GroupAdam::GroupAdam(std::vector<Group> groups, double learning_rate, double epsilon, double beta1, double beta2)
    : lr_(learning_rate), eps_(epsilon), beta1_(beta1), beta2_(beta2) {
  for (Group& g : groups)
    for (torch::Tensor& p : g.params) slots_.push_back({p, torch::Tensor(), torch::Tensor(), 0, g.weight_decay});
}

void GroupAdam::ZeroGrad() {
  std::vector<torch::Tensor> grads;
  for (Slot& s : slots_)
    if (s.param.grad().defined()) grads.push_back(s.param.mutable_grad());
  if (!grads.empty()) torch::_foreach_zero_(grads);
}

void GroupAdam::Step() {
  torch::NoGradGuard no_grad;
  // Parameters with a gradient, by step count and weight decay: each set
  // shares its bias corrections and its decay.
  std::map<std::pair<int64_t, double>, std::vector<Slot*>> sets;
  for (Slot& s : slots_) {
    if (!s.param.grad().defined()) continue;
    if (!s.m.defined()) {
      s.m = torch::zeros_like(s.param, torch::MemoryFormat::Preserve);
      s.v = torch::zeros_like(s.param, torch::MemoryFormat::Preserve);
    }
    sets[{++s.step, s.weight_decay}].push_back(&s);
  }
  for (const auto& [key, set] : sets) {
    const auto [step, weight_decay] = key;
    std::vector<torch::Tensor> params, grads, m, v;
    for (Slot* s : set) {
      params.push_back(s->param);
      grads.push_back(s->param.grad());
      m.push_back(s->m);
      v.push_back(s->v);
    }
    if (weight_decay != 0) grads = torch::_foreach_add(grads, params, weight_decay);
    torch::_foreach_mul_(m, beta1_);
    torch::_foreach_add_(m, grads, 1 - beta1_);
    torch::_foreach_mul_(v, beta2_);
    torch::_foreach_addcmul_(v, grads, grads, 1 - beta2_);
    const double correction1 = 1 - std::pow(beta1_, static_cast<double>(step));
    const double correction2 = 1 - std::pow(beta2_, static_cast<double>(step));
    std::vector<torch::Tensor> denominators = torch::_foreach_sqrt(v);
    torch::_foreach_div_(denominators, std::sqrt(correction2));
    torch::_foreach_add_(denominators, eps_);
    torch::_foreach_addcdiv_(params, m, denominators, -lr_ / correction1);
  }
}

LazyAdam::LazyAdam(torch::Tensor weight, double learning_rate, double l2, double beta1, double beta2, double epsilon)
    : weight_(std::move(weight)), lr_(learning_rate), l2_(l2), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {
  m_ = torch::zeros_like(weight_);
  v_ = torch::zeros_like(weight_);
  last_.assign(static_cast<size_t>(weight_.size(0)), 0);
}

double LazyAdam::UpdateFactor(int64_t last, int64_t until) {
  // With a zero gradient, step j = last + k moves the row by
  // lr · (b1^k m / c1(j)) / sqrt(b2^k v / c2(j)) = lr · r^k · sqrt(c2(j)) / c1(j) · m / sqrt(v),
  // r = b1 / sqrt(b2) < 1: the terms fade geometrically, so the sum stops
  // once they no longer count.
  while (static_cast<int64_t>(bias_.size()) <= until) {
    const double j = static_cast<double>(bias_.size());
    bias_.push_back(j == 0 ? 0.0 : std::sqrt(1 - std::pow(beta2_, j)) / (1 - std::pow(beta1_, j)));
  }
  const double r = beta1_ / std::sqrt(beta2_);
  double total = 0, rk = 1;
  for (int64_t j = last + 1; j <= until; ++j) {
    rk *= r;
    if (rk < 1e-12) break;
    total += rk * bias_[static_cast<size_t>(j)];
  }
  return lr_ * total;
}

LazyAdam::Owed LazyAdam::Take(const int64_t* rows, int64_t n, int64_t until, int64_t mark) {
  Owed o;
  o.update.assign(static_cast<size_t>(n), 0.0f);
  o.m_decay.assign(static_cast<size_t>(n), 1.0f);
  o.v_decay.assign(static_cast<size_t>(n), 1.0f);
  std::map<int64_t, std::array<float, 3>> by_last;  // most rows share a last step
  for (int64_t i = 0; i < n; ++i) {
    int64_t& last = last_[static_cast<size_t>(rows[i])];
    const int64_t from = last;
    last = mark;
    if (from >= until || from == 0) continue;  // up to date, or never moved (m = v = 0)
    auto it = by_last.find(from);
    if (it == by_last.end()) {
      const double gap = static_cast<double>(until - from);
      it = by_last
               .emplace(from, std::array<float, 3>{static_cast<float>(UpdateFactor(from, until)),
                                                   static_cast<float>(std::pow(beta1_, gap)),
                                                   static_cast<float>(std::pow(beta2_, gap))})
               .first;
    }
    o.update[static_cast<size_t>(i)] = it->second[0];
    o.m_decay[static_cast<size_t>(i)] = it->second[1];
    o.v_decay[static_cast<size_t>(i)] = it->second[2];
    o.any = true;
  }
  return o;
}

void LazyAdam::Pay(const torch::Tensor& rows, const Owed& owed) {
  if (!owed.any) return;
  auto column = [&](const std::vector<float>& x) {
    return torch::tensor(x, torch::TensorOptions().dtype(torch::kFloat)).to(weight_.device()).unsqueeze(1);
  };
  const torch::Tensor m = m_.index_select(0, rows), v = v_.index_select(0, rows);
  weight_.index_add_(0, rows, -(column(owed.update) * m / (v.sqrt() + epsilon_)));
  m_.index_copy_(0, rows, m * column(owed.m_decay));
  v_.index_copy_(0, rows, v * column(owed.v_decay));
}

void LazyAdam::Flush() {
  torch::NoGradGuard no_grad;
  // In blocks of rows: paying the whole table at once made several table-sized
  // temporaries (a vocabulary of 65k n-grams x 512 is 134 MB each), which set
  // the training's peak memory.
  constexpr int64_t kBlock = 4096;
  const int64_t n = weight_.size(0);
  for (int64_t begin = 0; begin < n; begin += kBlock) {
    const torch::Tensor rows =
        torch::arange(begin, std::min(n, begin + kBlock), torch::TensorOptions().dtype(torch::kLong));
    Pay(rows.to(weight_.device()), Take(rows.data_ptr<int64_t>(), rows.size(0), step_, step_));
  }
}

namespace {

// One row's Adam step after its owed moves (LazyAdam::Step's fused pass).
struct AdamRowStep {
  float b1, b2, l2, step_size, inv_c2, eps, debt, m_keep, v_keep;
};

// (The owed move is taken for every row, 0 where none is owed, which leaves
// the weight as it is: a test of `debt` in the loop, read through a reference
// the stores might alias, kept GCC from vectorizing it.)
TRAINYARD_VECTOR_CLONES void AdamRow(const AdamRowStep& s, const float* g, float* w, float* m, float* v,
                                     int64_t width) {
  for (int64_t j = 0; j < width; ++j) {
    const float wj = w[j] - s.debt * m[j] / (std::sqrt(v[j]) + s.eps);
    const float grad_j = g[j] + s.l2 * wj;
    const float mj = m[j] = s.m_keep * m[j] + (1 - s.b1) * grad_j;
    const float vj = v[j] = s.v_keep * v[j] + (1 - s.b2) * grad_j * grad_j;
    w[j] = wj - s.step_size * mj / (std::sqrt(vj * s.inv_c2) + s.eps);
  }
}

}  // namespace

void LazyAdam::Step() {
  torch::NoGradGuard no_grad;
  torch::Tensor grad = weight_.grad();
  if (!grad.defined()) return;
  ++step_;
  torch::Tensor rows, values;
  if (grad.is_sparse()) {
    if (!grad.is_coalesced() && !RowsStrictlyIncrease(grad)) grad = grad.coalesce();
    rows = grad._indices().select(0, 0).contiguous();
    values = grad._values().contiguous();
  } else {
    rows = torch::arange(weight_.size(0), torch::TensorOptions().dtype(torch::kLong).device(weight_.device()));
    values = grad.contiguous();
  }
  // The steps these rows missed are paid first, then this one.
  const torch::Tensor cpu_rows = rows.to(torch::kCPU).contiguous();
  const Owed owed = Take(cpu_rows.data_ptr<int64_t>(), cpu_rows.size(0), step_ - 1, step_);
  const double c1 = 1 - std::pow(beta1_, static_cast<double>(step_));
  const double c2 = 1 - std::pow(beta2_, static_cast<double>(step_));
  if (weight_.is_cpu() && weight_.is_contiguous() && values.scalar_type() == torch::kFloat) {
    // One fused pass over the touched rows (the tensor version below makes
    // about twenty passes, which dominated DIET's step time).
    const int64_t n = rows.size(0), width = weight_.size(1);
    const int64_t* row = rows.data_ptr<int64_t>();
    const float* g = values.data_ptr<float>();
    float* w = weight_.data_ptr<float>();
    float* m = m_.data_ptr<float>();
    float* v = v_.data_ptr<float>();
    const float b1 = static_cast<float>(beta1_), b2 = static_cast<float>(beta2_), l2 = static_cast<float>(2 * l2_);
    const float step_size = static_cast<float>(lr_ / c1), inv_c2 = static_cast<float>(1 / c2),
                eps = static_cast<float>(epsilon_);
    at::parallel_for(0, n, 64, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const int64_t r = row[i] * width;
        // The missed steps' move and decay first (debt 0: none missed).
        const float debt = owed.update[static_cast<size_t>(i)];
        const float m_keep = b1 * owed.m_decay[static_cast<size_t>(i)], v_keep = b2 * owed.v_decay[static_cast<size_t>(i)];
        const AdamRowStep step{b1, b2, l2, step_size, inv_c2, eps, debt, m_keep, v_keep};
        AdamRow(step, g + i * width, w + r, m + r, v + r, width);
      }
    });
  } else {
    Pay(rows, owed);
    torch::Tensor w = weight_.index_select(0, rows);
    if (l2_ > 0) values = values + 2.0 * l2_ * w;
    torch::Tensor m = m_.index_select(0, rows) * beta1_ + values * (1 - beta1_);
    torch::Tensor v = v_.index_select(0, rows) * beta2_ + values * values * (1 - beta2_);
    m_.index_copy_(0, rows, m);
    v_.index_copy_(0, rows, v);
    weight_.index_add_(0, rows, -((m / c1) / ((v / c2).sqrt() + epsilon_) * lr_));
  }
  weight_.mutable_grad() = torch::Tensor();
}

}  // namespace trainyard::ml
