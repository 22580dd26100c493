// DIETClassifier: sparse features -> (feed-forward) -> transformer; the
// sentence position feeds a dot-product similarity loss against the intent
// labels, the token positions a CRF over BILOU entity tags (Rasa 3.x's DIET).

#include "core/ml/diet.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>

#include "core/ml/batching.h"
#include "core/ml/device.h"
#include "core/ml/layers.h"
#include "core/ml/options.h"
#include "core/ml/tagging.h"
#include "core/nlu/nlu_component.h"
#include "core/nlu/whitespace_tokenizer.h"
#include "core/util/errors.h"
#include "core/util/strings.h"

namespace trainyard::ml {
namespace {

using Json = nlohmann::ordered_json;
using nlu::NluMessage;

constexpr const char* kMetaFile = "diet.json";
constexpr const char* kWeightsFile = "diet.pt";
constexpr const char* kStatsFile = "training.json";
// Places per attention chunk (sequences packed side by side; see Packing; a
// longer sequence gets a chunk of its length). Attention costs chunk² per
// chunk whatever the sequences' lengths: NLU-Benchmark's 3 epochs took 56 s
// with 256 places, 41 s with 64, 43 s with 96, 44 s with 48, 47 s with 32.
constexpr int64_t kChunk = 64;

util::InvalidConfigError ConfigError(const std::string& name, const std::string& what) {
  return util::InvalidConfigError(name + ": " + what);
}

// ---------------------------------------------------------------- options

std::vector<int> IntList(const Json& v, const std::string& name, const std::string& key) {
  std::vector<int> out;
  if (v.is_null()) return out;
  if (!v.is_array()) throw ConfigError(name, "'" + key + "' must be a list of integers.");
  for (const Json& x : v) {
    if (!x.is_number_integer() || x.get<int>() <= 0)
      throw ConfigError(name, "'" + key + "' must be a list of positive integers.");
    out.push_back(x.get<int>());
  }
  return out;
}

struct DietOptions {
  std::vector<int> text_hidden, label_hidden;
  int transformer_size = 256, layers = 2, heads = 4, max_relative_position = 5;
  bool key_relative = false, value_relative = false, unidirectional = false;
  int batch_first = 64, batch_last = 256;
  std::string batch_strategy = "balanced";
  int epochs = 300;
  uint64_t seed = 0;
  double learning_rate = 0.001;
  // dense_label is read and checked as Rasa's option is, and sizes nothing
  // (DietInertOptions says why).
  int embedding_dimension = 20, dense_text = 128, dense_label = 20;
  SimilarityOptions similarity;
  int ranking_length = 10;
  double regularization = 0.002, density = 0.2, drop_rate = 0.2, drop_rate_attention = 0.0;
  bool sparse_input_dropout = true;
  int evaluate_every = 20, evaluate_examples = 0;
  int weight_averaging_epochs = 0;  // trainyard's own: 0 keeps the last epoch's weights, as Rasa
  std::vector<std::string>
      featurizers;                 // the featurizers whose features are used (names); empty: all
  CommaSplitting comma_splitting;  // split_entities_by_comma
  bool intent_classification = true, entity_recognition = true, bilou = true, checkpoint = false,
       renormalize = false, masked_lm = false;

  static DietOptions FromJson(const Json& c, const std::string& name) {
    DietOptions o;
    const OptionReader r(c, name);
    auto flag = [&](const char* key, bool fallback) { return r.Flag(key, fallback); };
    auto text = [&](const char* key, const std::string& fallback, std::set<std::string> allowed) {
      return r.Choice(key, fallback, allowed);
    };
    // An option given once for both, or per attribute ({text: .., label: ..}); positive.
    auto per_attribute = [&](const char* key, int& text_value, int& label_value) {
      const Json& v = r.Get(key);
      if (v.is_number()) text_value = label_value = r.IntValue(v, key, text_value, 1);
      else if (v.is_object()) {
        text_value = r.IntValue(OptionReader::Member(v, "text"), std::string(key) + ".text", text_value, 1);
        label_value = r.IntValue(OptionReader::Member(v, "label"), std::string(key) + ".label", label_value, 1);
      } else if (!v.is_null()) {
        throw r.Error(std::string("'") + key + "' must be a whole number or a mapping of 'text' and 'label' to one.");
      }
    };
    const Json& hidden = c.contains("hidden_layers_sizes") ? c.at("hidden_layers_sizes") : Json(nullptr);
    if (hidden.is_object()) {
      o.text_hidden = IntList(hidden.value("text", Json::array()), name, "hidden_layers_sizes.text");
      o.label_hidden = IntList(hidden.value("label", Json::array()), name, "hidden_layers_sizes.label");
    } else if (!hidden.is_null()) {
      throw r.Error("'hidden_layers_sizes' must be a mapping of 'text' and 'label' to lists of layer sizes.");
    }
    o.layers = r.Int("number_of_transformer_layers", 2, 0);
    o.transformer_size = r.Int("transformer_size", 256, 1);
    o.heads = r.Int("number_of_attention_heads", 4, 1);
    o.key_relative = flag("use_key_relative_attention", false);
    o.value_relative = flag("use_value_relative_attention", false);
    o.max_relative_position = r.Int("max_relative_position", 5, 1);
    o.unidirectional = flag("unidirectional_encoder", false);
    r.BatchSize(o.batch_first, o.batch_last);
    o.batch_strategy = text("batch_strategy", "balanced", {"balanced", "sequence"});
    o.epochs = r.Int("epochs", 300, 0);
    if (!r.Seed("random_seed", o.seed)) o.seed = std::random_device{}();
    o.learning_rate = r.Positive("learning_rate", 0.001);
    o.embedding_dimension = r.Int("embedding_dimension", 20, 1);
    per_attribute("dense_dimension", o.dense_text, o.dense_label);
    o.similarity = ReadSimilarity(r, -0.4, false);
    o.ranking_length = r.Int("ranking_length", 10, 0);
    o.regularization = r.Real("regularization_constant", 0.002, 0, OptionReader::kNoLimit);
    o.density = r.Positive("connection_density", 0.2);
    if (o.density > 1) throw ConfigError(name, "'connection_density' must be in (0, 1].");
    o.drop_rate = r.Real("drop_rate", 0.2, 0, 1, /*below_max=*/true);
    o.drop_rate_attention = r.Real("drop_rate_attention", 0.0, 0, 1, /*below_max=*/true);
    o.sparse_input_dropout = flag("use_sparse_input_dropout", true);
    o.evaluate_every = ReadEvaluateEvery(r, 20, o.epochs);
    o.evaluate_examples = r.Int("evaluate_on_number_of_examples", 0, 0);
    o.intent_classification = flag("intent_classification", true);
    o.entity_recognition = flag("entity_recognition", true);
    o.bilou = flag("BILOU_flag", true);
    o.checkpoint = flag("checkpoint_model", false);
    o.weight_averaging_epochs = r.Int("weight_averaging_epochs", 0, std::numeric_limits<int>::min());
    if (o.weight_averaging_epochs < 0 || o.weight_averaging_epochs > std::max(o.epochs, 1))
      throw ConfigError(name, "'weight_averaging_epochs' (" + std::to_string(o.weight_averaging_epochs) +
                                  ") must be between 0 and 'epochs' (" + std::to_string(o.epochs) + ").");
    if (o.weight_averaging_epochs > 0 && o.checkpoint)
      throw ConfigError(name, "'weight_averaging_epochs' and 'checkpoint_model: true' both choose the weights "
                              "to keep: use one of them.");
    o.renormalize = flag("renormalize_confidences", false);
    // Rasa shares the text's layers with the labels only where both are featurized alike (a
    // ResponseSelector's responses with a shared vocabulary); trainyard's labels are one-hot
    // vectors or bags of response words, so there is nothing to share. Refused, not ignored.
    if (flag("share_hidden_layers", false))
      throw ConfigError(
          name,
          "'share_hidden_layers: true' is not supported: labels are embedded from their own "
          "one-hot (or response word) vectors, which share no layer with the text; set it to "
          "false.");
    o.featurizers = ReadFeaturizerNames(r);
    try {
      o.comma_splitting = CommaSplitting::FromJson(r.Get("split_entities_by_comma"));
    } catch (const std::invalid_argument& e) {
      throw r.Error(e.what());
    }
    o.masked_lm = flag("use_masked_language_model", false);
    if (o.masked_lm && o.layers == 0)
      throw ConfigError(name, "'use_masked_language_model: true' needs a transformer: set "
                              "'number_of_transformer_layers' above 0 or turn the masked language model off.");
    if (o.layers > 0 && (o.transformer_size <= 0 || o.heads <= 0 || o.transformer_size % o.heads != 0))
      throw ConfigError(name, "'transformer_size' (" + std::to_string(o.transformer_size) +
                                  ") must be a positive multiple of 'number_of_attention_heads' (" +
                                  std::to_string(o.heads) + ").");
    if (!o.intent_classification && !o.entity_recognition)
      throw ConfigError(name, "'intent_classification' and 'entity_recognition' are both false: nothing to train.");
    return o;
  }
};

// ---------------------------------------------------------------- features

// Which featurizers' columns make up the model's input, in order.
struct Layout {
  nlu::FeatureLayout sequence, sentence;  // (origin, columns)

  static int64_t Width(const nlu::FeatureLayout& parts) {
    int64_t w = 0;
    for (const auto& p : parts) w += p.second;
    return w;
  }
  static Layout From(const std::vector<const NluMessage*>& messages,
                     const std::vector<std::string>& featurizers) {
    return {nlu::TextFeatureLayout(messages, nlu::FeatureType::kSequence, featurizers),
            nlu::TextFeatureLayout(messages, nlu::FeatureType::kSentence, featurizers)};
  }
  Json ToJson() const {
    auto part = [](const nlu::FeatureLayout& v) {
      Json a = Json::array();
      for (const auto& [origin, cols] : v) a.push_back({{"origin", origin}, {"columns", cols}});
      return a;
    };
    return {{"sequence", part(sequence)}, {"sentence", part(sentence)}};
  }
  static Layout FromJson(const Json& j) {
    Layout l;
    for (const Json& p : j.at("sequence")) l.sequence.emplace_back(p.at("origin"), p.at("columns").get<int>());
    for (const Json& p : j.at("sentence")) l.sentence.emplace_back(p.at("origin"), p.at("columns").get<int>());
    return l;
  }
};

// Rows of sparse features, CSR, for the whole data set.
struct Csr {
  std::vector<int64_t> indices;
  std::vector<float> values;
  std::vector<int64_t> starts{0};
  size_t rows() const { return starts.size() - 1; }
};

struct Example {
  int tokens = 0;
  size_t first_token_row = 0;  // in the sequence CSR
  size_t sentence_row = 0;     // in the sentence CSR
  int label = -1;
  std::vector<int> tags;  // one per token, when entities are learned
  std::vector<int> roles, groups;  // the same for entity roles and groups, when present
};

// Appends the message's feature rows (tokens; sentence) to the CSRs.
void EncodeFeatures(const NluMessage& m, const Layout& layout, Csr& seq, Csr& sent, Example& ex) {
  ex.tokens = static_cast<int>(m.tokens.size());
  ex.first_token_row = seq.rows();
  ex.sentence_row = sent.rows();
  std::vector<std::pair<int64_t, float>> row;
  auto append = [&row](Csr& csr) {
    for (const auto& [column, value] : row) {
      csr.indices.push_back(column);
      csr.values.push_back(value);
    }
    csr.starts.push_back(static_cast<int64_t>(csr.indices.size()));
    row.clear();
  };
  for (int t = 0; t < ex.tokens; ++t) {
    nlu::AppendTextFeatureRow(m, layout.sequence, nlu::FeatureType::kSequence, t, row);
    append(seq);
  }
  nlu::AppendTextFeatureRow(m, layout.sentence, nlu::FeatureType::kSentence, 0, row);
  append(sent);
}

// ---------------------------------------------------------------- batches

struct Batch {
  SparseRows sequence, sentence;
  torch::Tensor token_rows, sentence_rows;  // positions in the packed sequence
  Packing packing;                          // tokens + the sentence position, per example
  Packing token_packing;                    // tokens only
  std::vector<int64_t> token_lengths;
  torch::Tensor labels;                     // [B]
  torch::Tensor tags, tag_mask;             // [B, Ltok]
  torch::Tensor roles, groups;              // [B, Ltok], when learned
};

Batch MakeBatch(const std::vector<Example>& examples, const std::vector<size_t>& pick, const Csr& seq,
                const Csr& sent, const torch::Device& device, bool with_tags) {
  Batch b;
  std::vector<int64_t> seq_idx, seq_off, sent_idx, sent_off, token_rows, sentence_rows, lengths, labels;
  std::vector<float> seq_w, sent_w;
  int64_t packed = 0, max_tokens = 0;
  for (size_t i : pick) {
    const Example& ex = examples[i];
    for (int t = 0; t < ex.tokens; ++t) {
      const size_t r = ex.first_token_row + static_cast<size_t>(t);
      seq_off.push_back(static_cast<int64_t>(seq_idx.size()));
      seq_idx.insert(seq_idx.end(), seq.indices.begin() + seq.starts[r], seq.indices.begin() + seq.starts[r + 1]);
      seq_w.insert(seq_w.end(), seq.values.begin() + seq.starts[r], seq.values.begin() + seq.starts[r + 1]);
      token_rows.push_back(packed++);
    }
    const size_t r = ex.sentence_row;
    sent_off.push_back(static_cast<int64_t>(sent_idx.size()));
    sent_idx.insert(sent_idx.end(), sent.indices.begin() + sent.starts[r], sent.indices.begin() + sent.starts[r + 1]);
    sent_w.insert(sent_w.end(), sent.values.begin() + sent.starts[r], sent.values.begin() + sent.starts[r + 1]);
    sentence_rows.push_back(packed++);
    lengths.push_back(ex.tokens + 1);
    b.token_lengths.push_back(ex.tokens);
    labels.push_back(std::max(0, ex.label));
    max_tokens = std::max<int64_t>(max_tokens, ex.tokens);
  }
  auto longs = torch::TensorOptions().dtype(torch::kLong);
  auto rows = [&](std::vector<int64_t>& idx, std::vector<int64_t>& off, std::vector<float>& w) {
    SparseRows s{torch::tensor(idx, longs), torch::tensor(off, longs), torch::tensor(w, torch::kFloat)};
    s.To(device);
    return s;
  };
  b.sequence = rows(seq_idx, seq_off, seq_w);
  b.sentence = rows(sent_idx, sent_off, sent_w);
  b.token_rows = torch::tensor(token_rows, longs).to(device);
  b.sentence_rows = torch::tensor(sentence_rows, longs).to(device);
  b.packing = Packing::Chunked(lengths, kChunk, device);
  b.token_packing = Packing::FromLengths(b.token_lengths, device);
  b.labels = torch::tensor(labels, longs).to(device);
  if (with_tags) {
    std::vector<int64_t> tags(pick.size() * static_cast<size_t>(max_tokens), 0);
    for (size_t k = 0; k < pick.size(); ++k) {
      const Example& ex = examples[pick[k]];
      for (size_t t = 0; t < ex.tags.size(); ++t) tags[k * max_tokens + t] = ex.tags[t];
    }
    b.tags = torch::tensor(tags, longs).view({static_cast<int64_t>(pick.size()), max_tokens}).to(device);
    b.tag_mask = b.token_packing.padding.logical_not();
    auto padded = [&](std::vector<int> Example::*field) {
      std::vector<int64_t> v(pick.size() * static_cast<size_t>(max_tokens), 0);
      for (size_t k = 0; k < pick.size(); ++k) {
        const std::vector<int>& x = examples[pick[k]].*field;
        for (size_t t = 0; t < x.size(); ++t) v[k * max_tokens + t] = x[t];
      }
      return torch::tensor(v, longs).view({static_cast<int64_t>(pick.size()), max_tokens}).to(device);
    };
    if (!examples[pick[0]].roles.empty()) b.roles = padded(&Example::roles);
    if (!examples[pick[0]].groups.empty()) b.groups = padded(&Example::groups);
  }
  return b;
}

// ---------------------------------------------------------------- model

struct Dims {
  int64_t sequence_vocabulary = 0, sentence_vocabulary = 0, labels = 0, tags = 0, roles = 0, groups = 0;
  // The words describing the labels (0: one-hot labels): the responses' texts'
  // (use_text_as_label) or the intents' parts (intent_tokenization_flag).
  int64_t label_words = 0;
  Json ToJson() const {
    return {{"sequence_vocabulary", sequence_vocabulary},
            {"sentence_vocabulary", sentence_vocabulary},
            {"labels", labels},
            {"tags", tags},
            {"roles", roles},
            {"groups", groups},
            {"label_words", label_words}};
  }
  static Dims FromJson(const Json& j) {
    return {j.at("sequence_vocabulary").get<int64_t>(),
            j.at("sentence_vocabulary").get<int64_t>(),
            j.at("labels").get<int64_t>(),
            j.at("tags").get<int64_t>(),
            j.value("roles", int64_t{0}),
            j.value("groups", int64_t{0}),
            j.value("label_words", int64_t{0})};
  }
};

// use_text_as_label: each label described by the words of its responses'
// texts (lower-cased tokens, counts scaled to unit length), [labels, words].
torch::Tensor LabelWords(const std::vector<std::string>& labels, const Json& responses) {
  std::vector<std::map<std::string, float>> counts(labels.size());
  std::map<std::string, int64_t> words;
  for (size_t k = 0; k < labels.size(); ++k)
    for (const Json& variation : responses.value(labels[k], Json::array()))
      if (variation.is_object() && variation.value("text", Json()).is_string())
        for (const nlu::Token& t : nlu::WhitespaceTokenize(variation["text"].get<std::string>())) {
          const std::string w = util::LowerUtf8(t.text);
          counts[k][w] += 1.0f;
          words.emplace(w, 0);
        }
  int64_t next = 0;
  for (auto& [w, index] : words) index = next++;
  torch::Tensor out = torch::zeros({static_cast<int64_t>(labels.size()), std::max<int64_t>(1, next)});
  for (size_t k = 0; k < labels.size(); ++k) {
    double norm = 0;
    for (const auto& [w, n] : counts[k]) norm += static_cast<double>(n) * n;
    for (const auto& [w, n] : counts[k])
      out[static_cast<int64_t>(k)][words[w]] = static_cast<float>(n / std::sqrt(norm));
  }
  return out;
}

// intent_tokenization_flag: each intent described by its parts' counts
// (lower-cased, as CountVectorsFeaturizer counts an intent's tokens), [labels,
// parts]; undefined when the tokenizer did not split the intents.
torch::Tensor IntentParts(const std::vector<std::string>& labels,
                          const std::vector<const NluMessage*>& messages) {
  std::map<std::string, const std::vector<std::string>*> parts_of;
  for (const NluMessage* m : messages)
    if (!m->intent_tokens.empty()) parts_of.emplace(m->data.intent, &m->intent_tokens);
  if (parts_of.empty()) return {};
  std::map<std::string, int64_t> words;
  for (const auto& [intent, parts] : parts_of)
    for (const std::string& part : *parts) words.emplace(util::LowerUtf8(part), 0);
  int64_t next = 0;
  for (auto& [w, index] : words) index = next++;
  torch::Tensor out = torch::zeros({static_cast<int64_t>(labels.size()), next});
  for (size_t k = 0; k < labels.size(); ++k) {
    const auto found = parts_of.find(labels[k]);
    if (found == parts_of.end()) continue;
    for (const std::string& part : *found->second)
      out[static_cast<int64_t>(k)][words.at(util::LowerUtf8(part))] += 1.0f;
  }
  return out;
}

class DietModelImpl : public torch::nn::Module {
 public:
  DietModelImpl(const DietOptions& o, const Dims& d, const Rng& rng) : o_(o), dims_(d) {
    if (d.sequence_vocabulary > 0)
      sequence_input = register_module("sequence_input", SparseDense(d.sequence_vocabulary, o.dense_text, rng));
    if (d.sentence_vocabulary > 0)
      sentence_input = register_module("sentence_input", SparseDense(d.sentence_vocabulary, o.dense_text, rng));
    int64_t width = o.dense_text;
    for (size_t i = 0; i < o.text_hidden.size(); ++i) {
      text_ffnn.push_back(register_module("text_ffnn" + std::to_string(i),
                                          Dense(width, o.text_hidden[i], o.density, true, rng)));
      width = o.text_hidden[i];
    }
    if (o.layers > 0) {
      if (o.masked_lm) {
        // The masked language model: a learned mask token, and embeddings of
        // the transformer's output and of the token it should recover.
        mask_vector = register_parameter("mask_vector", rng.Uniform({1, width}).sub(0.5).mul(0.2));
        lm_text_embed = register_module("lm_text_embed", Dense(o.transformer_size, o.embedding_dimension, 1.0, true, rng));
        lm_label_embed = register_module("lm_label_embed", Dense(width, o.embedding_dimension, 1.0, true, rng));
      }
      transformer = register_module("transformer", TransformerEncoder(width, TransformerOptionsOf(o, o.drop_rate), rng));
      width = o.transformer_size;
    }
    units_ = width;
    if (o.intent_classification && d.labels > 0) {
      text_embed = register_module("text_embed", Dense(width, o.embedding_dimension, 1.0, true, rng));
      int64_t label_width = d.labels;
      if (d.label_words > 0) {
        label_words = register_buffer("label_words", torch::zeros({d.labels, d.label_words}));
        label_width = d.label_words;
      }
      for (size_t i = 0; i < o.label_hidden.size(); ++i) {
        label_ffnn.push_back(register_module("label_ffnn" + std::to_string(i),
                                             Dense(label_width, o.label_hidden[i], o.density, true, rng)));
        label_width = o.label_hidden[i];
      }
      label_embed =
          register_module("label_embed", Dense(label_width, o.embedding_dimension, 1.0, true, rng));
    }
    if (o.entity_recognition && d.tags > 1) {
      tag_logits = register_module("tag_logits", Dense(width, d.tags, 1.0, true, rng));
      crf = register_module("crf", Crf(d.tags, rng));
      // Roles and groups: their own CRFs, fed the tokens and their entity tags.
      if (d.roles > 1) {
        role_logits = register_module("role_logits", Dense(width + d.tags, d.roles, 1.0, true, rng));
        role_crf = register_module("role_crf", Crf(d.roles, rng));
      }
      if (d.groups > 1) {
        group_logits = register_module("group_logits", Dense(width + d.tags, d.groups, 1.0, true, rng));
        group_crf = register_module("group_crf", Crf(d.groups, rng));
      }
    }
  }

  // Tokens the masked language model hid from the transformer: their packed
  // positions and token indices in the batch, and their input before masking.
  struct Masked {
    torch::Tensor positions, tokens, targets;
  };

  // The encoder's output at every packed position [N, units]. With `masked`
  // (training with the masked language model), 15 % of the tokens are hidden
  // from the transformer as BERT does: 70 % of those become the mask token,
  // 10 % another token of the batch, the rest stay.
  torch::Tensor Encode(const Batch& b, bool training, const Rng& rng, Masked* masked = nullptr) {
    const double sparse_drop = training && o_.sparse_input_dropout ? o_.drop_rate : 0.0;
    const int64_t n = b.packing.rows();
    auto opts = torch::TensorOptions().device(b.token_rows.device());
    torch::Tensor tokens = sequence_input ? sequence_input->forward(b.sequence, sparse_drop, training, rng)
                                          : torch::zeros({b.token_rows.size(0), o_.dense_text}, opts);
    torch::Tensor sentences = sentence_input ? sentence_input->forward(b.sentence, sparse_drop, training, rng)
                                             : torch::zeros({b.sentence_rows.size(0), o_.dense_text}, opts);
    torch::Tensor x = torch::zeros({n, o_.dense_text}, opts)
                          .index_copy(0, b.token_rows, tokens)
                          .index_copy(0, b.sentence_rows, sentences);
    for (Dense& layer : text_ffnn) x = Dropout(torch::gelu(layer->forward(x)), o_.drop_rate, training, rng);
    const int64_t tokens_in_batch = b.token_rows.size(0);
    if (masked && mask_vector.defined() && tokens_in_batch > 0) {
      torch::Tensor chosen = rng.Uniform({tokens_in_batch}).lt(0.15).nonzero().flatten();
      if (chosen.numel() == 0) chosen = rng.RandInt(tokens_in_batch, {1});
      masked->tokens = chosen;
      masked->positions = b.token_rows.index_select(0, chosen);
      masked->targets = SelectRows(x, masked->positions);
      const torch::Tensor how = rng.Uniform({chosen.size(0)});
      const torch::Tensor to_mask = masked->positions.index({how.lt(0.7)});
      const torch::Tensor to_swap = masked->positions.index({how.ge(0.7).logical_and(how.lt(0.8))});
      const torch::Tensor before = x;
      if (to_mask.numel() > 0) x = x.index_copy(0, to_mask, mask_vector.expand({to_mask.size(0), x.size(1)}));
      if (to_swap.numel() > 0) {
        const torch::Tensor others = b.token_rows.index_select(0, rng.RandInt(tokens_in_batch, {to_swap.size(0)}));
        x = x.index_copy(0, to_swap, SelectRows(before, others));
      }
    }
    if (transformer) x = transformer->forward(x, b.packing, training, rng);
    return x;
  }

  // Every label embedded [K, E]: its features (one-hot, or the words
  // describing it) through the hidden layers and the embedding layer.
  torch::Tensor AllLabels(bool training, const Rng& rng) {
    torch::Tensor x =
        label_words.defined()
            ? label_words
            : torch::eye(dims_.labels, torch::TensorOptions().device(label_embed->weight.device()));
    for (Dense& layer : label_ffnn) x = Dropout(torch::gelu(layer->forward(x)), o_.drop_rate, training, rng);
    return label_embed->forward(x);
  }

  // Tag scores padded per example [B, Ltok, T].
  torch::Tensor Emissions(const torch::Tensor& encoded, const Batch& b) {
    return b.token_packing.Unpack(tag_logits->forward(SelectRows(encoded, b.token_rows)));
  }

  // Role or group scores [B, Ltok, R] given the entity tags [B, Ltok].
  torch::Tensor AttributeEmissions(Dense& logits, const torch::Tensor& encoded, const Batch& b,
                                   const torch::Tensor& entity_tags) {
    torch::Tensor tokens = SelectRows(encoded, b.token_rows);
    torch::Tensor one_hot = b.token_packing.Pack(torch::one_hot(entity_tags, dims_.tags).to(tokens.scalar_type()));
    return b.token_packing.Unpack(logits->forward(torch::cat({tokens, one_hot}, 1)));
  }

  // Estimated forward FLOPs of a batch (matmuls and sparse products).
  double ForwardFlops(const Batch& b) const {
    const double n = static_cast<double>(b.packing.rows());
    double f = 2.0 * static_cast<double>(b.sequence.weights.numel() + b.sentence.weights.numel()) * o_.dense_text;
    double width = o_.dense_text;
    for (int h : o_.text_hidden) {
      f += 2 * n * width * h;
      width = h;
    }
    if (o_.layers > 0) {
      // Useful attention work only: each sequence attends to itself.
      const double u = o_.transformer_size;
      double squares = 0;
      for (int64_t t : b.token_lengths) squares += static_cast<double>((t + 1) * (t + 1));
      f += 2 * n * width * u;
      f += o_.layers * (2 * n * 4 * u * u + 2 * n * 2 * u * 4 * u + 2 * 2 * squares * u);
    }
    return f;
  }

  int64_t units() const { return units_; }

  // What Encode trains: the sparse input layers, the feed-forward layers, the
  // mask token and the transformer.
  std::vector<torch::Tensor> EncoderParameters() const {
    std::vector<torch::Tensor> out;
    auto add = [&out](const torch::nn::Module& m) {
      for (const torch::Tensor& p : m.parameters()) out.push_back(p);
    };
    if (sequence_input) add(*sequence_input);
    if (sentence_input) add(*sentence_input);
    for (const Dense& d : text_ffnn) add(*d);
    if (mask_vector.defined()) out.push_back(mask_vector);
    if (transformer) add(*transformer);
    return out;
  }

  SparseDense sequence_input{nullptr}, sentence_input{nullptr};
  std::vector<Dense> text_ffnn, label_ffnn;
  TransformerEncoder transformer{nullptr};
  Dense text_embed{nullptr}, label_embed{nullptr}, tag_logits{nullptr}, role_logits{nullptr},
      group_logits{nullptr};
  torch::Tensor mask_vector;
  Dense lm_text_embed{nullptr}, lm_label_embed{nullptr};
  // The labels' words: use_text_as_label's responses' or intent_tokenization_flag's parts.
  torch::Tensor label_words;
  Crf crf{nullptr}, role_crf{nullptr}, group_crf{nullptr};

 private:
  DietOptions o_;
  Dims dims_;
  int64_t units_ = 0;
};
TORCH_MODULE(DietModel);

// A training batch's encoder run on slices of the batch side by side, one
// thread each, forward and backward; the losses then see the whole batch.
// On 2 cores libtorch's and the BLAS's threads split each of a step's ~1700
// small operations between them, and the second core waited in about 40 % of
// a fast-config step's samples; a slice per thread runs its operations
// whole, on its own core. The losses (sampled negatives, the CRF) are the
// whole batch's as before; what changes is that each slice's dropout and
// masking draw from a generator of their own.
class SlicedEncoding {
 public:
  // The slices of `pick` (contiguous, `parts` of them) encoded side by side
  // in training mode; returns the encoder output as Encode(MakeBatch(pick))
  // lays it out, and gives `masked` (when set) the masked tokens in the
  // whole batch's numbering.
  torch::Tensor Encode(DietModelImpl& model, const std::vector<Example>& examples,
                       const std::vector<size_t>& pick, int parts, const Csr& seq, const Csr& sent,
                       const torch::Device& device, const std::vector<Rng>& rngs,
                       DietModelImpl::Masked* masked) {
    std::vector<Batch> batches;
    for (int k = 0; k < parts; ++k) {
      const size_t begin = pick.size() * k / parts, end = pick.size() * (k + 1) / parts;
      const std::vector<size_t> slice(pick.begin() + static_cast<std::ptrdiff_t>(begin),
                                      pick.begin() + static_cast<std::ptrdiff_t>(end));
      batches.push_back(MakeBatch(examples, slice, seq, sent, device, false));
    }
    outputs_.assign(static_cast<size_t>(parts), torch::Tensor());
    std::vector<DietModelImpl::Masked> slice_masked(static_cast<size_t>(parts));
    // Inside this parallel region libtorch's kernels and the BLAS stay on
    // the calling thread.
    at::parallel_for(0, parts, 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        const auto i = static_cast<size_t>(k);
        outputs_[i] = model.Encode(batches[i], true, rngs[i], masked ? &slice_masked[i] : nullptr);
      }
    });
    leaves_.clear();
    targets_.assign(static_cast<size_t>(parts), torch::Tensor());
    target_leaves_ = targets_;
    std::vector<torch::Tensor> positions, tokens, targets;
    int64_t rows = 0, token_count = 0;
    for (size_t i = 0; i < outputs_.size(); ++i) {
      leaves_.push_back(outputs_[i].detach().requires_grad_(true));
      const DietModelImpl::Masked& m = slice_masked[i];
      if (m.positions.defined()) {
        positions.push_back(m.positions + rows);
        tokens.push_back(m.tokens + token_count);
        targets_[i] = m.targets;
        target_leaves_[i] = m.targets.detach().requires_grad_(true);
        targets.push_back(target_leaves_[i]);
      }
      rows += batches[i].packing.rows();
      token_count += batches[i].token_rows.size(0);
    }
    if (masked && !positions.empty()) {
      masked->positions = torch::cat(positions);
      masked->tokens = torch::cat(tokens);
      masked->targets = torch::cat(targets);
    }
    return torch::cat(leaves_);
  }

  // Once the losses' backward has reached the slices' outputs: each slice's
  // backward on its own thread, and the encoder's gradients summed over the
  // slices in slice order (so the same bits every run) into `params`' grads.
  void Backward(const std::vector<torch::Tensor>& params) {
    const size_t parts = outputs_.size();
    std::vector<std::vector<torch::Tensor>> grads(parts);
    at::parallel_for(0, static_cast<int64_t>(parts), 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        const auto i = static_cast<size_t>(k);
        std::vector<torch::Tensor> outputs{outputs_[i]}, given{leaves_[i].grad()};
        if (!given[0].defined()) given[0] = torch::zeros_like(outputs_[i]);
        if (targets_[i].defined() && target_leaves_[i].grad().defined()) {
          outputs.push_back(targets_[i]);
          given.push_back(target_leaves_[i].grad());
        }
        grads[i] = torch::autograd::grad(outputs, params, given, /*retain_graph=*/false,
                                         /*create_graph=*/false,
                                         /*allow_unused=*/true);
      }
    });
    torch::NoGradGuard no_grad;
    for (size_t p = 0; p < params.size(); ++p) {
      std::vector<torch::Tensor> per_slice;
      for (size_t i = 0; i < parts; ++i) per_slice.push_back(grads[i][p]);
      const torch::Tensor sum = SumGradients(per_slice);
      if (!sum.defined()) continue;
      torch::Tensor& grad = params[p].mutable_grad();
      if (!grad.defined())
        grad = sum;
      else if (grad.is_sparse() || sum.is_sparse())
        grad = SumGradients({grad, sum});
      else
        grad.add_(sum);
    }
    outputs_.clear();
    leaves_.clear();
    targets_.clear();
    target_leaves_.clear();
  }

 private:
  // Per slice: the encoder's output and its detached copy; the masked
  // tokens' inputs and theirs.
  std::vector<torch::Tensor> outputs_, leaves_;
  std::vector<torch::Tensor> targets_, target_leaves_;
};

// Training examples per slice at least (SlicedEncoding).
constexpr size_t kMinSliceExamples = 8;

// Runs `first` and `second` at the same time, one intra-op thread each (inside,
// libtorch's kernels and the BLAS stay on their thread); with one thread, one
// after the other.
template <typename First, typename Second>
void SideBySide(First first, Second second) {
  at::parallel_for(0, 2, 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) k == 0 ? first() : second();
  });
}

// ---------------------------------------------------------------- component

// DIETClassifier; with `response_selector`, Rasa's ResponseSelector: the same
// model over retrieval intents' response keys ("faq/ask_name"), no entities,
// and Rasa's response_selector output.
// ResponseSelector's own options: the retrieval intent it learns ("" for
// all) and whether labels are the responses' texts.
void ReadSelectorOptions(const Json& config, std::string& retrieval_intent, bool& text_as_label) {
  const OptionReader r(config, "ResponseSelector");
  retrieval_intent = r.Text("retrieval_intent", "a retrieval intent's name or null").value_or("");
  text_as_label = r.Flag("use_text_as_label", false);
}

class DietClassifier : public nlu::NluComponent {
 public:
  DietClassifier(const Json& config, const std::optional<std::string>& resource, const graph::ExecutionContext& c,
                 bool response_selector = false)
      : NluComponent(response_selector ? "ResponseSelector" : "DIETClassifier"),
        selector_(response_selector),
        config_(config),
        options_(DietOptions::FromJson(config, name())),
        requested_epochs_(options_.epochs) {
    if (selector_) {
      options_.entity_recognition = false;
      options_.intent_classification = true;
      ReadSelectorOptions(config, retrieval_intent_, text_as_label_);
    }
    const Json meta = nlu::ReadJsonResource(c, resource, kMetaFile);
    if (meta.is_null() || meta.empty()) return;
    try {
      responses_ = meta.value("responses", Json::object());
      all_retrieval_intents_ = meta.value("all_retrieval_intents", Json::array());
      layout_ = Layout::FromJson(meta.at("layout"));
      dims_ = Dims::FromJson(meta.at("dims"));
      labels_ = meta.at("labels").get<std::vector<std::string>>();
      tags_ = TagSet::ForEntities({}, meta.at("bilou").get<bool>());
      for (const Json& t : meta.at("tags")) tags_.Add(t.get<std::string>());
      roles_ = TagSet::ForEntities({}, tags_.bilou);
      groups_ = TagSet::ForEntities({}, tags_.bilou);
      for (const Json& t : meta.value("roles", Json::array())) roles_.Add(t.get<std::string>());
      for (const Json& t : meta.value("groups", Json::array())) groups_.Add(t.get<std::string>());
      options_ = DietOptions::FromJson(meta.at("config"), name());
      if (selector_) options_.entity_recognition = false;
      Rng rng(0, torch::kCPU);
      model_ = DietModel(options_, dims_, rng);
      torch::serialize::InputArchive archive;
      archive.load_from((c.storage->ReadFrom(*resource) / kWeightsFile).string(), torch::Device(torch::kCPU));
      model_->load(archive);
      model_->eval();
    } catch (const util::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw util::InvalidDataError({}, "The model's resource '" + *resource + "' (" + name() + ") is corrupt: " +
                                           e.what());
    }
  }

 protected:
  void Train(const nlu::NluTrainingData& data, const graph::ExecutionContext& c) override;
  void Process(NluMessage& m, bool training, const graph::ExecutionContext& c) const override;

 private:
  void Predict(NluMessage& m) const;
  // The label an example trains: its intent, or its response key.
  const std::string& Label(const NluMessage& m) const {
    return selector_ ? m.data.intent_response_key : m.data.intent;
  }

  bool selector_ = false;
  std::string retrieval_intent_;
  Json responses_ = Json::object();             // response key -> response variations
  Json all_retrieval_intents_ = Json::array();
  Json config_;
  DietOptions options_;
  Layout layout_;
  Dims dims_;
  std::vector<std::string> labels_;
  TagSet tags_, roles_, groups_;
  mutable DietModel model_{nullptr};
  int requested_epochs_ = 0;  // this training's epochs (finetuning keeps the rest of the old options)
  bool text_as_label_ = false;  // ResponseSelector's use_text_as_label
};

// Finetuning: `layout` widened to the old layout's columns where the old were
// wider; the featurizers only add columns, so both list the same featurizers.
nlu::FeatureLayout Widened(nlu::FeatureLayout layout, const nlu::FeatureLayout& old, const std::string& name) {
  if (layout.size() != old.size())
    throw util::InvalidConfigError("Cannot finetune " + name + ": its featurizers differ from the finetuned model's.");
  for (size_t i = 0; i < layout.size(); ++i) {
    if (layout[i].first != old[i].first)
      throw util::InvalidConfigError("Cannot finetune " + name + ": its featurizers differ from the finetuned model's.");
    layout[i].second = std::max(layout[i].second, old[i].second);
  }
  return layout;
}

// Finetuning: the old model's weights into `model`. Sparse input kernels may
// have grown (featurizers learned new words): each featurizer's old rows go
// to its place in the new layout, new rows keep their fresh initialization.
void WarmStart(DietModel& model, DietModel& old, const Layout& layout, const Layout& old_layout,
               const std::string& name) {
  torch::NoGradGuard no_grad;
  CopyConnectionMasks(*model, *old);
  auto old_params = old->named_parameters(true);
  for (auto& p : model->named_parameters(true)) {
    const torch::Tensor* from = old_params.find(p.key());
    if (!from) continue;
    const bool sparse_input = p.key() == "sequence_input.weight" || p.key() == "sentence_input.weight";
    if (p.value().sizes() == from->sizes()) {
      p.value().copy_(*from);
      continue;
    }
    if (!sparse_input)
      throw util::InvalidConfigError("Cannot finetune " + name + ": the model's shape changed ('" + p.key() +
                                     "'). Train a new model instead.");
    const auto& now = p.key() == "sequence_input.weight" ? layout.sequence : layout.sentence;
    const auto& before = p.key() == "sequence_input.weight" ? old_layout.sequence : old_layout.sentence;
    int64_t at = 0, was = 0;
    for (size_t i = 0; i < now.size(); ++i) {
      p.value().narrow(0, at, before[i].second).copy_(from->narrow(0, was, before[i].second));
      at += now[i].second;
      was += before[i].second;
    }
  }
}

namespace {

// training.json's statistics, with the operator calls per step and the
// seconds by phase when they were counted (TRAINYARD_COUNT_OPS).
Json OpStats(Json stats, const std::map<std::string, int64_t>& phase_ops,
             const std::map<std::string, double>& phase_seconds, int64_t steps) {
  if (phase_ops.empty() || steps == 0) return stats;
  Json per_step = Json::object(), seconds = Json::object();
  int64_t total = 0;
  for (const auto& [name, count] : phase_ops) {
    per_step[name] = static_cast<double>(count) / static_cast<double>(steps);
    total += count;
  }
  per_step["total"] = static_cast<double>(total) / static_cast<double>(steps);
  stats["ops_per_step"] = per_step;
  for (const auto& [name, s] : phase_seconds) seconds[name] = s;
  stats["phase_seconds"] = seconds;
  return stats;
}

}  // namespace

// The masked language model's label ids of tokens `chosen` of a batch: tokens
// with the same sequence features share an id, so that a token is never its
// own negative.
torch::Tensor TokenIds(const Batch& b, const torch::Tensor& chosen) {
  const torch::Tensor indices = b.sequence.indices.to(torch::kCPU), offsets = b.sequence.offsets.to(torch::kCPU);
  const torch::Tensor picked = chosen.to(torch::kCPU).contiguous();
  const int64_t* idx = indices.data_ptr<int64_t>();
  const int64_t* off = offsets.data_ptr<int64_t>();
  const int64_t* pick = picked.data_ptr<int64_t>();
  const int64_t rows = offsets.size(0), nnz = indices.size(0);
  std::map<std::vector<int64_t>, int64_t> ids;
  std::vector<int64_t> out;
  for (int64_t k = 0; k < picked.size(0); ++k) {
    const int64_t t = pick[k];
    const std::vector<int64_t> features(idx + off[t], idx + (t + 1 < rows ? off[t + 1] : nnz));
    out.push_back(ids.emplace(features, static_cast<int64_t>(ids.size())).first->second);
  }
  return torch::tensor(out, torch::TensorOptions().dtype(torch::kLong)).to(chosen.device());
}

// Whether the parameter named `n` (DietModel's names) carries L2 in Rasa's
// DIET: dense kernels and CRF transitions, except inside the transformer's
// layers and the layer norms.
bool IsRegularized(const std::string& n) {
  if (util::EndsWith(n, "transitions")) return true;
  if (!util::EndsWith(n, "weight") || n.find("norm") != std::string::npos) return false;
  return !util::StartsWith(n, "transformer.layer");
}

struct EvalResult {
  double intent_accuracy = 0, entity_f1 = 0;
};

void DietClassifier::Train(const nlu::NluTrainingData& data, const graph::ExecutionContext& c) {
  const auto started = std::chrono::steady_clock::now();
  SetComputeThreads(c.compute_threads);
  bool fell_back = false;
  const std::string device_name = ResolveDevice(c.device, &fell_back);
  if (fell_back && c.warn) c.warn("DIETClassifier: device '" + c.device + "' is not available; training on the CPU.");
  const torch::Device device(device_name);

  // The examples: messages with text (and an intent when classifying).
  std::vector<const NluMessage*> messages;
  std::set<std::string> intents, entities, roles, groups;
  std::set<std::string> retrieval_intents;
  std::vector<const NluMessage*> annotated;  // NLU examples with entities, tokens or not
  for (const NluMessage& m : data.messages) {
    if (!m.data.text.empty() && !m.data.entities.empty() &&
        m.data.origin == data::MessageOrigin::kNluFile)
      annotated.push_back(&m);
    if (m.data.text.empty() || m.tokens.empty() || m.data.origin != data::MessageOrigin::kNluFile) continue;
    if (!m.data.intent_response_key.empty()) retrieval_intents.insert(m.data.intent);
    if (selector_ && !retrieval_intent_.empty() && m.data.intent != retrieval_intent_) continue;
    if (options_.intent_classification && Label(m).empty()) continue;
    messages.push_back(&m);
    if (!Label(m).empty()) intents.insert(Label(m));
    if (!selector_)
      for (const data::EntityAnnotation& e : m.data.entities) {
        entities.insert(e.entity);
        if (!e.role.empty()) roles.insert(e.role);
        if (!e.group.empty()) groups.insert(e.group);
      }
  }
  all_retrieval_intents_ = Json(retrieval_intents);
  if (selector_)
    for (const std::string& key : intents) {
      auto it = data.data.responses.find("utter_" + key);
      responses_[key] = it == data.data.responses.end() ? Json::array() : Json(it->second.variations);
    }
  if (messages.empty()) {
    if (c.warn) c.warn(name() + ": no training examples; the model will predict nothing.");
    nlu::WriteJsonResource(c, kMetaFile, Json::object());
    return;
  }
  // Finetuning goes on from the old model: its options (but this training's
  // epochs), labels and tags; every label must be an old one.
  DietModel old_model = c.is_finetuning ? model_ : DietModel(nullptr);
  const Layout old_layout = layout_;
  DietOptions o = options_;
  if (old_model) {
    o.epochs = requested_epochs_;
    for (const std::string& label : intents)
      if (std::find(labels_.begin(), labels_.end(), label) == labels_.end())
        throw util::InvalidConfigError("Cannot finetune " + name() + ": the label '" + label +
                                       "' is new. Train a new model to learn new labels.");
  } else {
    if (entities.empty()) o.entity_recognition = false;
    if (intents.empty()) o.intent_classification = false;
  }
  if (!o.intent_classification && !o.entity_recognition) {
    nlu::WriteJsonResource(c, kMetaFile, Json::object());
    return;
  }
  if (o.entity_recognition && c.warn)
    for (const std::string& warning : nlu::MisalignedEntityWarnings(annotated)) c.warn(warning);
  if (o.intent_classification && intents.size() == 1 && c.warn)
    c.warn(name() + ": the training data has one " + (selector_ ? "response key" : "intent") +
           ", '" + *intents.begin() + "', so every text gets it with confidence 1. (Rasa skips " +
           name() + "'s training with fewer than two and predicts nothing.)");
  layout_ = Layout::From(messages, o.featurizers);
  if (!o.featurizers.empty() &&
      Layout::Width(layout_.sequence) + Layout::Width(layout_.sentence) == 0) {
    std::set<std::string> names;
    for (const NluMessage* m : messages)
      for (const nlu::Features& f : m->features) names.insert("'" + f.Name() + "'");
    throw ConfigError(name(),
                      "'featurizers' names none of the featurizers whose features reached it (" +
                          util::Join(std::vector<std::string>(names.begin(), names.end()), ", ") +
                          "): it would have nothing to learn from.");
  }
  if (old_model) {
    layout_.sequence = Widened(layout_.sequence, old_layout.sequence, name());
    layout_.sentence = Widened(layout_.sentence, old_layout.sentence, name());
  } else {
    labels_.assign(intents.begin(), intents.end());
    tags_ = TagSet::ForEntities(o.entity_recognition ? entities : std::set<std::string>{}, o.bilou);
    roles_ = TagSet::ForEntities(o.entity_recognition ? roles : std::set<std::string>{}, o.bilou);
    groups_ = TagSet::ForEntities(o.entity_recognition ? groups : std::set<std::string>{}, o.bilou);
  }
  std::map<std::string, int> label_index;
  for (size_t i = 0; i < labels_.size(); ++i) label_index[labels_[i]] = static_cast<int>(i);
  torch::Tensor label_words;
  if (o.intent_classification)
    label_words = text_as_label_ ? LabelWords(labels_, responses_)
                  : selector_    ? torch::Tensor()
                                 : IntentParts(labels_, messages);
  dims_ = {Layout::Width(layout_.sequence),
           Layout::Width(layout_.sentence),
           o.intent_classification ? static_cast<int64_t>(labels_.size()) : 0,
           static_cast<int64_t>(tags_.names.size()),
           static_cast<int64_t>(roles_.names.size()),
           static_cast<int64_t>(groups_.names.size()),
           label_words.defined() ? label_words.size(1) : 0};

  Csr seq, sent;
  std::vector<Example> examples(messages.size());
  std::vector<int> example_labels(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    EncodeFeatures(*messages[i], layout_, seq, sent, examples[i]);
    examples[i].label = o.intent_classification ? label_index.at(Label(*messages[i])) : 0;
    if (o.entity_recognition) {
      examples[i].tags = tags_.Tags(*messages[i]);
      if (dims_.roles > 1) examples[i].roles = roles_.Tags(*messages[i], "role");
      if (dims_.groups > 1) examples[i].groups = groups_.Tags(*messages[i], "group");
    }
    example_labels[i] = examples[i].label;
  }

  // Held-out examples for evaluation during training, split as Rasa splits them.
  std::mt19937_64 shuffle_rng(o.seed);
  std::vector<size_t> train_ids(examples.size()), eval_ids;
  for (size_t i = 0; i < examples.size(); ++i) train_ids[i] = i;
  if (o.evaluate_examples > 0 && o.evaluate_every > 0) {
    try {
      HeldOutSplit split = HoldOut(example_labels, o.evaluate_examples, shuffle_rng);
      train_ids = std::move(split.train);
      eval_ids = std::move(split.held_out);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(name(), e.what());
    }
  }
  if (o.checkpoint && eval_ids.empty() && c.warn) c.warn(CheckpointWithoutEvaluation(name()));
  std::vector<int> train_labels;
  for (size_t i : train_ids) train_labels.push_back(example_labels[i]);

  Rng rng(o.seed, device);
  model_ = DietModel(o, dims_, rng);
  if (label_words.defined()) model_->label_words.copy_(label_words);
  if (old_model) WarmStart(model_, old_model, layout_, old_layout, name());
  model_->to(device);

  // Optimisers: LazyAdam for the sparse input tables (moving them as Adam
  // does; flushed before the weights are read), Adam for the rest.
  // L2 (Keras' regularizer λ·Σw²: weight decay 2·λ) where Rasa's DIET has
  // it: the kernels of the input, feed-forward, embedding and tag layers, the
  // transformer's input projection and the CRFs' transitions; the
  // transformer's attention and feed-forward kernels, biases and layer norms
  // are not regularized.
  std::vector<LazyAdam> lazy;
  for (SparseDense* s : {&model_->sequence_input, &model_->sentence_input})
    if (*s) lazy.emplace_back((*s)->weight, o.learning_rate, o.regularization);
  std::vector<torch::Tensor> decayed, plain;
  for (const auto& p : model_->named_parameters(true)) {
    const std::string& n = p.key();
    if (n == "sequence_input.weight" || n == "sentence_input.weight") continue;
    (IsRegularized(n) ? decayed : plain).push_back(p.value());
  }
  GroupAdam adam({{decayed, 2 * o.regularization}, {plain, 0.0}}, o.learning_rate);

  auto evaluate = [&](const std::vector<size_t>& ids) {
    torch::NoGradGuard no_grad;
    model_->eval();
    EvalResult r;
    double correct = 0, tp = 0, fp = 0, fn = 0;
    for (size_t start = 0; start < ids.size(); start += 256) {
      std::vector<size_t> pick(ids.begin() + start, ids.begin() + std::min(ids.size(), start + 256));
      Batch b = MakeBatch(examples, pick, seq, sent, device, o.entity_recognition);
      torch::Tensor x = model_->Encode(b, false, rng);
      if (o.intent_classification) {
        torch::Tensor sims = Similarities(model_->text_embed->forward(x.index_select(0, b.sentence_rows)),
                                          model_->AllLabels(false, rng), o.similarity.similarity_type);
        correct += sims.argmax(1).eq(b.labels).sum().item<double>();
      }
      if (o.entity_recognition) {
        const auto paths = model_->crf->Decode(model_->Emissions(x, b), b.token_lengths, nullptr);
        for (size_t k = 0; k < pick.size(); ++k)
          for (size_t t = 0; t < paths[k].size(); ++t) {
            const int gold = examples[pick[k]].tags[t], pred = paths[k][t];
            if (pred != 0 && pred == gold) ++tp;
            if (pred != 0 && pred != gold) ++fp;
            if (gold != 0 && pred != gold) ++fn;
          }
      }
    }
    r.intent_accuracy = ids.empty() ? 0 : correct / static_cast<double>(ids.size());
    r.entity_f1 = tp == 0 ? 0 : 2 * tp / (2 * tp + fp + fn);
    model_->train();
    return r;
  };

  double flops = 0;
  BestEvaluation best;  // checkpoint_model
  std::vector<torch::Tensor> best_state;
  // weight_averaging_epochs: the running mean of the weights at the ends of
  // the last epochs; the model keeps it (evaluated as the last epoch's).
  const int averaged_epochs = std::min(o.weight_averaging_epochs, o.epochs);
  std::vector<torch::Tensor> average;
  int averaged = 0;
  // TRAINYARD_COUNT_OPS=1: libtorch operator calls per training step, by
  // phase, into training.json (the host cost of a step on a GPU; see OpCounter),
  // and the seconds each phase took over the training.
  std::optional<OpCounter> counter;
  if (const char* v = std::getenv("TRAINYARD_COUNT_OPS"); v && *v && std::string(v) != "0") counter.emplace();
  std::map<std::string, int64_t> phase_ops;
  std::map<std::string, double> phase_seconds;
  int64_t steps = 0, mark = 0;
  auto mark_time = std::chrono::steady_clock::now();
  auto phase = [&](const char* name) {
    if (!counter) return;
    const int64_t now = counter->Count();
    phase_ops[name] += now - mark;
    mark = now;
    const auto time = std::chrono::steady_clock::now();
    phase_seconds[name] += std::chrono::duration<double>(time - mark_time).count();
    mark_time = time;
  };
  // On the CPU with several threads, batches of at least two slices of
  // kMinSliceExamples are encoded a slice per thread (SlicedEncoding), each
  // slice drawing from its own generator.
  const int threads = device.is_cpu() ? at::get_num_threads() : 1;
  std::vector<Rng> slice_rngs;
  for (int k = 0; k < threads && threads > 1; ++k)
    slice_rngs.emplace_back(o.seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(k + 1), device);
  const std::vector<torch::Tensor> encoder_params = model_->EncoderParameters();
  SlicedEncoding sliced;
  model_->train();
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    const int batch_size = BatchSizeForEpoch(o.batch_first, o.batch_last, epoch, o.epochs);
    const auto batches = MakeBatches(train_labels, batch_size, o.batch_strategy, shuffle_rng);
    double loss_sum = 0, acc_sum = 0, entity_sum = 0, mask_acc_sum = 0, mask_loss_sum = 0;
    for (const auto& local : batches) {
      if (c.cancel) c.cancel->ThrowIfCancelled();
      std::vector<size_t> pick;
      for (size_t i : local) pick.push_back(train_ids[i]);
      phase("other");
      Batch b = MakeBatch(examples, pick, seq, sent, device, o.entity_recognition);
      phase("batch");
      DietModelImpl::Masked masked;
      const int slices =
          static_cast<int>(std::min<size_t>(threads, pick.size() / kMinSliceExamples));
      torch::Tensor x = slices > 1
                            ? sliced.Encode(*model_, examples, pick, slices, seq, sent, device,
                                            slice_rngs, o.masked_lm ? &masked : nullptr)
                            : model_->Encode(b, true, rng, o.masked_lm ? &masked : nullptr);
      phase("encode");
      // The losses over the encoder's output `xs`: the masked tokens' and the
      // intent's (drawing from `rng`), and the entity CRFs' (drawing nothing).
      auto sentence_losses = [&](const torch::Tensor& xs) {
        torch::Tensor loss = torch::zeros({}, torch::TensorOptions().device(device));
        if (masked.positions.defined()) {
          // The hidden tokens are recovered from the transformer's output.
          const torch::Tensor ids = TokenIds(b, masked.tokens);
          const torch::Tensor inputs =
              model_->lm_text_embed->forward(SelectRows(xs, masked.positions));
          const torch::Tensor labels = model_->lm_label_embed->forward(masked.targets);
          const SimilarityLossResult r =
              DotProductLoss(o.similarity, inputs, labels, ids, labels, ids, rng);
          loss = loss + r.loss;
          mask_loss_sum += r.loss.item<double>();
          mask_acc_sum += r.accuracy.item<double>();
        }
        if (o.intent_classification) {
          torch::Tensor text = model_->text_embed->forward(SelectRows(xs, b.sentence_rows));
          torch::Tensor all = model_->AllLabels(true, rng);
          torch::Tensor ids = torch::arange(
              dims_.labels, torch::TensorOptions().dtype(torch::kLong).device(device));
          SimilarityLossResult r = DotProductLoss(o.similarity, text, SelectRows(all, b.labels),
                                                  b.labels, all, ids, rng);
          loss = loss + r.loss;
          acc_sum += r.accuracy.item<double>();
        }
        return loss;
      };
      auto entity_loss = [&](const torch::Tensor& xs) {
        torch::Tensor nll =
            model_->crf->NegativeLogLikelihood(model_->Emissions(xs, b), b.tags, b.tag_mask);
        // Roles and groups learn from the gold entity tags (predicted ones at inference).
        if (model_->role_crf)
          nll = nll + model_->role_crf->NegativeLogLikelihood(
                          model_->AttributeEmissions(model_->role_logits, xs, b, b.tags), b.roles,
                          b.tag_mask);
        if (model_->group_crf)
          nll = nll + model_->group_crf->NegativeLogLikelihood(
                          model_->AttributeEmissions(model_->group_logits, xs, b, b.tags), b.groups,
                          b.tag_mask);
        entity_sum += nll.item<double>();
        return nll;
      };
      adam.ZeroGrad();
      for (SparseDense* s : {&model_->sequence_input, &model_->sentence_input})
        if (*s) (*s)->weight.mutable_grad() = torch::Tensor();
      torch::Tensor loss;
      if (slices > 1 && o.entity_recognition) {
        // Sliced on the CPU: the two kinds of losses, forward and backward,
        // run side by side on their own thread, each from its own detached
        // copy of the encoder's output (the heads' parameters are disjoint,
        // and only the first draws random numbers, in the order above). The
        // copies' gradients are added in that order and carried back to the
        // slices.
        const std::array<torch::Tensor, 2> leaf{x.detach().requires_grad_(true),
                                                x.detach().requires_grad_(true)};
        std::array<torch::Tensor, 2> part;
        auto run = [&](size_t i) {
          part[i] = i == 0 ? sentence_losses(leaf[i]) : entity_loss(leaf[i]);
          if (part[i].requires_grad()) part[i].backward();
        };
        SideBySide([&] { run(0); }, [&] { run(1); });
        const torch::Tensor grad = SumGradients({leaf[0].grad(), leaf[1].grad()});
        if (grad.defined()) x.backward(grad);
        loss = part[0].detach() + part[1].detach();
        phase("heads");
      } else {
        loss = sentence_losses(x);
        phase("intent_loss");
        if (o.entity_recognition) loss = loss + entity_loss(x);
        phase("entity_loss");
        loss.backward();
      }
      if (slices > 1) sliced.Backward(encoder_params);
      phase("backward");
      // The dense parameters' step and the sparse tables' touch different
      // tensors: on the CPU with several threads they run side by side, one
      // thread each (the dense one is ~10 small operations per parameter set).
      auto sparse_steps = [&] {
        for (LazyAdam& l : lazy) l.Step();
      };
      if (threads > 1 && !lazy.empty()) {
        SideBySide([&] { adam.Step(); }, sparse_steps);
      } else {
        adam.Step();
        sparse_steps();
      }
      phase("optimizer");
      ++steps;
      loss_sum += loss.item<double>();
      flops += 3 * model_->ForwardFlops(b);
    }
    const double n = std::max<size_t>(1, batches.size());
    Json metrics = {{"t_loss", loss_sum / n}};
    if (o.intent_classification) metrics["i_acc"] = acc_sum / n;
    if (o.entity_recognition) metrics["e_loss"] = entity_sum / n;
    if (o.masked_lm) {
      metrics["m_loss"] = mask_loss_sum / n;
      metrics["m_acc"] = mask_acc_sum / n;
    }
    const bool last = epoch + 1 == o.epochs;
    const bool evaluating = !eval_ids.empty() && ((epoch + 1) % o.evaluate_every == 0 || last);
    const bool averaging = averaged_epochs > 1 && epoch >= o.epochs - averaged_epochs;
    if (evaluating || last || averaging)
      for (LazyAdam& l : lazy) l.Flush();
    if (averaging) {
      torch::NoGradGuard no_grad;
      const std::vector<torch::Tensor> params = model_->parameters();
      if (average.empty())
        for (const torch::Tensor& p : params) average.push_back(p.detach().clone());
      else
        for (size_t i = 0; i < params.size(); ++i)
          average[i].add_(params[i].detach() - average[i], 1.0 / static_cast<double>(averaged + 1));
      ++averaged;
      if (last)
        for (size_t i = 0; i < params.size(); ++i) params[i].copy_(average[i]);
    }
    if (evaluating) {
      const EvalResult r = evaluate(eval_ids);
      std::map<std::string, double> held_out;
      if (o.intent_classification) held_out["val_i_acc"] = r.intent_accuracy;
      if (o.entity_recognition) held_out["val_e_f1"] = r.entity_f1;
      for (const auto& [metric, value] : held_out) metrics[metric] = value;
      if (o.checkpoint && best.Improves(held_out)) {
        best_state.clear();
        for (const auto& p : model_->parameters()) best_state.push_back(p.detach().clone());
      }
    }
    if (c.progress) c.progress(graph::Progress{epoch + 1, o.epochs, metrics});
  }
  if (o.checkpoint && !best_state.empty()) {
    torch::NoGradGuard no_grad;
    auto params = model_->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_state[i]);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  model_->to(torch::kCPU);
  model_->eval();
  torch::serialize::OutputArchive archive;
  model_->save(archive);
  archive.save_to((c.storage->WriteTo(c.node_name) / kWeightsFile).string());
  Json config = config_;
  config["random_seed"] = o.seed;
  config["entity_recognition"] = o.entity_recognition;
  config["intent_classification"] = o.intent_classification;
  auto names = [](const TagSet& t) {
    Json a = Json::array();
    for (size_t i = 1; i < t.names.size(); ++i) a.push_back(t.names[i]);
    return a;
  };
  const Json tags = names(tags_);
  nlu::WriteJsonResource(c, kMetaFile,
                         {{"config", config}, {"layout", layout_.ToJson()}, {"dims", dims_.ToJson()},
                          {"labels", labels_}, {"tags", tags}, {"roles", names(roles_)},
                          {"groups", names(groups_)}, {"bilou", o.bilou},
                          {"responses", responses_}, {"all_retrieval_intents", all_retrieval_intents_}});
  nlu::WriteJsonResource(c, kStatsFile,
                         OpStats({{"examples", train_ids.size()},
                                  {"epochs", o.epochs},
                                  {"seconds", seconds},
                                  {"flops", flops},
                                  {"device", device_name},
                                  {"threads", torch::get_num_threads()}},
                                 phase_ops, phase_seconds, steps));
  options_ = o;
}

void DietClassifier::Process(NluMessage& m, bool training, const graph::ExecutionContext&) const {
  if (training || !model_) return;
  Predict(m);
}

void DietClassifier::Predict(NluMessage& m) const {
  torch::NoGradGuard no_grad;
  const DietOptions& o = options_;
  if (m.tokens.empty()) {
    if (o.intent_classification && m.intent.is_null()) m.intent = {{"name", nullptr}, {"confidence", 0.0}};
    return;
  }
  Csr seq, sent;
  Example ex;
  EncodeFeatures(m, layout_, seq, sent, ex);
  const Batch b = MakeBatch({ex}, {0}, seq, sent, torch::kCPU, false);
  const Rng rng(0, torch::kCPU);
  torch::Tensor x = model_->Encode(b, false, rng);
  if (o.intent_classification && model_->text_embed) {
    torch::Tensor sims = Similarities(model_->text_embed->forward(x.index_select(0, b.sentence_rows)),
                                      model_->AllLabels(false, rng), o.similarity.similarity_type);
    torch::Tensor conf = Confidences(sims, o.similarity.model_confidence).squeeze(0).contiguous();
    const Ranking ranked = RankAndMask(
        std::vector<float>(conf.data_ptr<float>(), conf.data_ptr<float>() + conf.numel()),
        o.ranking_length, ShouldRenormalize(o.renormalize, o.similarity));
    const std::vector<size_t>& order = ranked.labels;
    const size_t keep = order.size();
    auto confidence = [&](size_t i) { return ranked.confidences[i]; };
    if (selector_) {
      Json ranking = Json::array();
      for (size_t i = 0; i < keep; ++i)
        ranking.push_back({{"confidence", confidence(i)}, {"intent_response_key", labels_[order[i]]}});
      Json response = Json::object();
      if (!ranking.empty()) {
        const std::string& key = labels_[order[0]];
        const Json variations = responses_.value(key, Json::array());
        response = {{"responses", variations},
                    {"response_templates", variations},
                    {"confidence", confidence(0)},
                    {"intent_response_key", key},
                    {"utter_action", "utter_" + key},
                    {"template_name", "utter_" + key}};
      }
      m.response_selector["all_retrieval_intents"] = all_retrieval_intents_;
      m.response_selector[retrieval_intent_.empty() ? "default" : retrieval_intent_] = {{"response", response},
                                                                                         {"ranking", ranking}};
      return;
    }
    Json ranking = Json::array();
    for (size_t i = 0; i < keep; ++i) ranking.push_back({{"name", labels_[order[i]]}, {"confidence", confidence(i)}});
    m.intent = ranking.empty() ? Json{{"name", nullptr}, {"confidence", 0.0}} : ranking[0];
    m.intent_ranking = ranking;
  }
  if (o.entity_recognition && model_->crf) {
    std::vector<std::vector<float>> confidences;
    const auto paths = model_->crf->Decode(model_->Emissions(x, b), b.token_lengths, &confidences);
    std::vector<std::string> names;
    for (int t : paths[0]) names.push_back(tags_.names.at(static_cast<size_t>(t)));
    // Roles / groups per token, decoded given the predicted entity tags.
    std::vector<int64_t> predicted(paths[0].begin(), paths[0].end());
    const torch::Tensor entity_tags = torch::tensor(predicted, torch::kLong).view({1, -1});
    auto attribute = [&](Dense& logits, Crf& crf, const TagSet& set) {
      std::vector<std::pair<std::string, float>> per_token(paths[0].size());
      if (!crf) return per_token;
      std::vector<std::vector<float>> conf;
      const auto p = crf->Decode(model_->AttributeEmissions(logits, x, b, entity_tags), b.token_lengths, &conf);
      for (size_t t = 0; t < p[0].size(); ++t) {
        std::string tag = set.names.at(static_cast<size_t>(p[0][t]));
        if (set.bilou && tag.size() > 2 && tag[1] == '-') tag = tag.substr(2);
        per_token[t] = {tag == "O" ? "" : tag, conf[0][t]};
      }
      return per_token;
    };
    const auto role = attribute(model_->role_logits, model_->role_crf, roles_);
    const auto group = attribute(model_->group_logits, model_->group_crf, groups_);
    const std::u32string text = util::DecodeUtf8(m.data.text);
    const TokenGaps gaps{m.tokens, text, o.comma_splitting};
    for (const Span& s : TagsToSpans(names, confidences[0], tags_.bilou, &gaps)) {
      const int start = m.tokens[s.first].start, end = m.tokens[s.last].end;
      Json entity = {{"entity", s.entity},
                     {"start", start},
                     {"end", end},
                     {"confidence_entity", s.confidence}};
      VoteAttribute(role, s.first, s.last, entity, "role", "confidence_role");
      VoteAttribute(group, s.first, s.last, entity, "group", "confidence_group");
      entity["value"] = util::EncodeUtf8(std::u32string_view(text).substr(start, end - start));
      entity["extractor"] = name();
      m.entities.push_back(std::move(entity));
    }
  }
}

class ResponseSelector : public DietClassifier {
 public:
  ResponseSelector(const Json& config, const std::optional<std::string>& resource, const graph::ExecutionContext& c)
      : DietClassifier(config, resource, c, true) {}
};

}  // namespace

Json DietDefaults() {
  return {{"hidden_layers_sizes", {{"text", Json::array()}, {"label", Json::array()}}},
          {"share_hidden_layers", false},
          {"transformer_size", 256},
          {"number_of_transformer_layers", 2},
          {"number_of_attention_heads", 4},
          {"use_key_relative_attention", false},
          {"use_value_relative_attention", false},
          {"max_relative_position", 5},
          {"unidirectional_encoder", false},
          {"batch_size", {64, 256}},
          {"batch_strategy", "balanced"},
          {"epochs", 300},
          {"random_seed", nullptr},
          {"learning_rate", 0.001},
          {"embedding_dimension", 20},
          {"dense_dimension", {{"text", 128}, {"label", 20}}},
          {"concat_dimension", {{"text", 128}, {"label", 20}}},
          {"number_of_negative_examples", 20},
          {"similarity_type", "auto"},
          {"loss_type", "cross_entropy"},
          {"ranking_length", 10},
          {"maximum_positive_similarity", 0.8},
          {"maximum_negative_similarity", -0.4},
          {"use_maximum_negative_similarity", true},
          {"scale_loss", false},
          {"regularization_constant", 0.002},
          {"negative_margin_scale", 0.8},
          {"connection_density", 0.2},
          {"drop_rate", 0.2},
          {"drop_rate_attention", 0.0},
          {"use_sparse_input_dropout", true},
          {"use_dense_input_dropout", true},
          {"evaluate_every_number_of_epochs", 20},
          {"evaluate_on_number_of_examples", 0},
          {"intent_classification", true},
          {"entity_recognition", true},
          {"use_masked_language_model", false},
          {"BILOU_flag", true},
          {"tensorboard_log_directory", nullptr},
          {"tensorboard_log_level", "epoch"},
          {"checkpoint_model", false},
          {"weight_averaging_epochs", 0},
          {"featurizers", Json::array()},
          {"split_entities_by_comma", true},
          {"constrain_similarities", false},
          {"model_confidence", "softmax"},
          {"renormalize_confidences", false},
          {"run_eagerly", false}};
}

// ResponseSelector's defaults: DIET's, with Rasa's differences.
Json ResponseSelectorDefaults() {
  Json d = DietDefaults();
  for (const char* key : {"intent_classification", "entity_recognition", "BILOU_flag", "split_entities_by_comma"})
    d.erase(key);
  d["hidden_layers_sizes"] = {{"text", {256, 128}}, {"label", {256, 128}}};
  d["transformer_size"] = nullptr;
  d["number_of_transformer_layers"] = 0;
  d["dense_dimension"] = {{"text", 512}, {"label", 512}};
  d["concat_dimension"] = {{"text", 512}, {"label", 512}};
  d["scale_loss"] = true;
  d["connection_density"] = 1.0;
  d["use_sparse_input_dropout"] = false;
  d["use_dense_input_dropout"] = false;
  d["retrieval_intent"] = nullptr;
  d["use_text_as_label"] = false;
  return d;
}

// 2: L2 only where Rasa's DIET has it (not the transformer's inner layers; the CRF transitions).
// 3: Rasa's balanced batching. 4: a GELU on the transformer's output; the sparse input tables move
// as under dense Adam. 5: negatives sampled without replacement, as Rasa samples them. 6: sparse
// input dropout keeps the surviving values unscaled, as Rasa's SparseDropout does. 7: the held-out
// examples split by label, and checkpoint_model's choice, as Rasa's; `featurizers` applied.
// 8: scale_loss and constrain_similarities computed as Rasa's loss computes them. 9: the margin
// loss's label-label, input-input and label-input negatives by their most similar one, as Rasa's.
// 10: a label layer of dense_dimension.label units (withdrawn in 11); intents split by the
// tokenizer (intent_tokenization_flag) are described by their parts.
constexpr const char* kDietVersion = "11";

// Rasa's options that DIET and ResponseSelector accept and that change nothing here.
std::map<std::string, std::string> DietInertOptions() {
  const std::string no_dense =
      "trainyard has no dense featurizers, so only sparse features reach the model.";
  return {
      {"concat_dimension", "it sizes the sparse and dense features' combination; " + no_dense},
      {"use_dense_input_dropout", "it drops dense features; " + no_dense},
      {"dense_dimension.label",
       "the labels' features (one-hot intents, their parts, or the responses' words) go straight "
       "to the label side's hidden and embedding layers, with no layer of that size before them "
       "(measured on a held-out part of NLU-Benchmark's train split, such a 20-unit layer lost "
       "1.75 points of intent accuracy); only dense_dimension.text sizes a layer."},
      {"tensorboard_log_directory", kNoTensorBoard},
      {"tensorboard_log_level", kNoTensorBoard},
      {"run_eagerly", "it is TensorFlow's; libtorch always runs eagerly."}};
}

void RegisterDietClassifier() {
  nlu::RegisterNluComponent<DietClassifier>(
      "DIETClassifier", DietDefaults(), kDietVersion,
      [](const Json& c) { DietOptions::FromJson(c, "DIETClassifier"); }, DietInertOptions());
}

void RegisterResponseSelector() {
  nlu::RegisterNluComponent<ResponseSelector>(
      "ResponseSelector", ResponseSelectorDefaults(), kDietVersion,
      [](const Json& c) {
        DietOptions::FromJson(c, "ResponseSelector");
        std::string retrieval_intent;
        bool text_as_label = false;
        ReadSelectorOptions(c, retrieval_intent, text_as_label);
      },
      DietInertOptions());
}

void RegisterMlComponents() {
  static std::once_flag once;
  std::call_once(once, [] {
    RegisterDietClassifier();
    RegisterResponseSelector();
    RegisterTedPolicy();
    RegisterCrfEntityExtractor();
  });
}

}  // namespace trainyard::ml
