// TEDPolicy (Rasa 3.x's Transformer Embedding Dialogue policy): each dialogue
// state (intent, entities, previous action, slots, active loop) becomes a
// sparse feature row; a unidirectional transformer reads the last
// max_history states; the last turn's embedding is compared with every
// action's embedding by the dot-product similarity loss of core/ml, and
// prediction is the softmax (or linear_norm) over those similarities.
//
// UnexpecTEDIntentPolicy is the same model with the next user intent as label
// (see the class comment below).
//
// End-to-end stories: a user text (or bot text) in a state is featurized by
// the project's NLU featurizers (the end_to_end_features_provider node), each
// featurizer's sentence features normalized to unit length. When the last
// user turn has both text and intent, the prediction is made both ways and
// the one based on text is taken when it is more similar to its action than
// the intent-based one is, and at least e2e_confidence_threshold confident.
//
// Entity recognition (entity_recognition, end-to-end stories whose user texts
// annotate entities): each token's NLU features, embedded, next to the
// dialogue transformer's output at that user turn, scored per BILOU tag and
// decoded by a CRF. The tokens go through a one-layer transformer of their
// own first, as in Rasa's TED. Entities are predicted for the last user text
// when the prediction right after it went by the text, as Rasa's TED does;
// roles and groups are not tagged (Rasa's TED tags entity types only).
//
// At prediction the dialogue states are the story policies' (StoryPolicyStates):
// turns of rules no story has are hidden, rule-only slots and loops removed.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>

#include "core/graph/component.h"
#include "core/ml/batching.h"
#include "core/ml/device.h"
#include "core/ml/diet.h"
#include "core/ml/layers.h"
#include "core/ml/options.h"
#include "core/ml/tagging.h"
#include "core/nlu/features.h"
#include "core/nlu/whitespace_tokenizer.h"
#include "core/policy/policies.h"
#include "core/policy/trackers.h"
#include "core/util/errors.h"
#include "core/util/strings.h"

namespace trainyard::ml {
namespace {

using Json = nlohmann::ordered_json;
using policy::State;

constexpr const char* kMetaFile = "ted.json";
constexpr const char* kWeightsFile = "ted.pt";

struct TedOptions {
  int max_history = -1;  // all states
  int transformer_size = 128, layers = 1, heads = 4, max_relative_position = 5;
  bool unidirectional = true, key_relative = false, value_relative = false;
  int batch_first = 64, batch_last = 256;
  std::string batch_strategy = "balanced";
  int epochs = 1;
  uint64_t seed = 0;
  double learning_rate = 0.001, regularization = 0.001, density = 0.2;
  double drop_rate_dialogue = 0.1, drop_rate_label = 0.0, drop_rate_attention = 0.0;
  int embedding_dimension = 20, dense_dimension = 20;
  int priority = 1;
  double e2e_confidence_threshold = 0.5;
  bool entity_recognition = true, bilou = true;
  int evaluate_every = 20, evaluate_examples = 0;
  bool checkpoint = false;
  int ranking_length = 0;  // TED: 0 (all actions keep their confidence)
  bool renormalize = false;
  CommaSplitting comma_splitting;  // split_entities_by_comma
  SimilarityOptions similarity;
  std::vector<std::string> featurizers;  // whose features end-to-end texts get (empty: all)

  static TedOptions FromJson(const Json& c, const std::string& name) {
    const OptionReader r(c, name);
    TedOptions o;
    o.max_history = r.Int("max_history", -1, 1);  // null: all states
    // An option given once, or per attribute ({text: .., dialogue: .., ...}): TED reads the dialogue's.
    auto dialogue = [&](const char* key, int fallback, int min) {
      const Json& v = r.Get(key);
      if (v.is_object())
        return r.IntValue(OptionReader::Member(v, "dialogue"), std::string(key) + ".dialogue", fallback, min);
      return r.Int(key, fallback, min);
    };
    o.transformer_size = dialogue("transformer_size", 128, 1);
    o.layers = dialogue("number_of_transformer_layers", 1, 0);
    o.heads = r.Int("number_of_attention_heads", 4, 1);
    o.unidirectional = r.Flag("unidirectional_encoder", true);
    o.key_relative = r.Flag("use_key_relative_attention", false);
    o.value_relative = r.Flag("use_value_relative_attention", false);
    o.max_relative_position = r.Int("max_relative_position", 5, 1);
    r.BatchSize(o.batch_first, o.batch_last);
    o.batch_strategy = r.Choice("batch_strategy", "balanced", {"balanced", "sequence"});
    o.epochs = r.Int("epochs", 1, 0);
    if (!r.Seed("random_seed", o.seed)) o.seed = std::random_device{}();
    o.learning_rate = r.Positive("learning_rate", 0.001);
    o.regularization = r.Real("regularization_constant", 0.001, 0, OptionReader::kNoLimit);
    o.density = r.Positive("connection_density", 0.2);
    if (o.density > 1) throw r.Error("'connection_density' must be in (0, 1].");
    o.drop_rate_dialogue = r.Real("drop_rate_dialogue", 0.1, 0, 1, /*below_max=*/true);
    o.drop_rate_label = r.Real("drop_rate_label", 0.0, 0, 1, /*below_max=*/true);
    o.drop_rate_attention = r.Real("drop_rate_attention", 0.0, 0, 1, /*below_max=*/true);
    o.embedding_dimension = r.Int("embedding_dimension", 20, 1);
    const Json& dense = r.Get("dense_dimension");
    if (dense.is_object())
      o.dense_dimension = r.IntValue(OptionReader::Member(dense, "intent"), "dense_dimension.intent", 20, 1);
    else
      o.dense_dimension = r.Int("dense_dimension", 20, 1);
    o.priority = r.Int("priority", 1, std::numeric_limits<int>::min());
    o.e2e_confidence_threshold = r.Real("e2e_confidence_threshold", 0.5, 0, 1);
    o.evaluate_every = ReadEvaluateEvery(r, 20, o.epochs);
    o.evaluate_examples = r.Int("evaluate_on_number_of_examples", 0, 0);
    o.checkpoint = r.Flag("checkpoint_model", false);
    o.ranking_length = r.Int("ranking_length", 0, 0);
    o.renormalize = r.Flag("renormalize_confidences", false);
    o.featurizers = ReadFeaturizerNames(r);
    try {
      o.comma_splitting = CommaSplitting::FromJson(r.Get("split_entities_by_comma"));
    } catch (const std::invalid_argument& e) {
      throw r.Error(e.what());
    }
    o.entity_recognition = r.Flag("entity_recognition", true);
    o.bilou = r.Flag("BILOU_flag", true);
    o.similarity = ReadSimilarity(r, -0.2, true);
    if (o.layers > 0 && (o.transformer_size <= 0 || o.heads <= 0 || o.transformer_size % o.heads != 0))
      throw r.Error("'transformer_size' (" + std::to_string(o.transformer_size) +
                    ") must be a positive multiple of 'number_of_attention_heads' (" + std::to_string(o.heads) + ").");
    return o;
  }
};

// UnexpecTEDIntentPolicy's `tolerance` (0 to 1): which quantile of an intent's
// training similarities becomes its threshold.
double ReadTolerance(const OptionReader& r) { return r.Real("tolerance", 0.0, 0, 1); }

using Features = std::vector<std::pair<std::string, float>>;

// The NLU features of a user text or bot text (`attribute`), as
// "<attribute>|<featurizer>#<column>": each featurizer's sentence features
// (or its token features summed when it has no sentence features), scaled to
// unit length so that a long text weighs as much as a short one. Without
// precomputed features the whole text is one symbol, "<attribute>=<text>".
void AddTextFeatures(const std::string& attribute, const std::string& text, const nlu::Precomputations* pre,
                     Features& out) {
  const auto it = pre ? pre->find(attribute + ":" + text) : nlu::Precomputations::const_iterator();
  if (!pre || it == pre->end()) {
    out.emplace_back(attribute + "=" + text, 1.0f);
    return;
  }
  std::map<std::string, const nlu::Features*> sentence, sequence;
  for (const nlu::Features& f : it->second) {
    if (f.attribute != attribute) continue;
    (f.type == nlu::FeatureType::kSentence ? sentence : sequence)[f.origin] = &f;
  }
  for (const auto& [origin, f] : sequence) sentence.emplace(origin, f);  // only where no sentence features
  for (const auto& [origin, f] : sentence) {
    const nlu::SparseMatrix row = f->matrix.rows == 1 ? f->matrix : f->matrix.SumRows();
    double norm = 0;
    for (float v : row.values) norm += static_cast<double>(v) * v;
    if (norm <= 0) continue;
    const float scale = static_cast<float>(1.0 / std::sqrt(norm));
    for (size_t k = 0; k < row.values.size(); ++k)
      out.emplace_back(attribute + "|" + origin + "#" + std::to_string(row.indices[k]), row.values[k] * scale);
  }
}

// The features of one dialogue state: "intent=greet", "entity=city",
// "action_name=utter_greet", user and bot texts (AddTextFeatures),
// "slot=city#0" (with the slot's feature value), "active_loop=form".
Features StateFeatures(const State& s, const nlu::Precomputations* pre) {
  Features out;
  if (s.contains("user")) {
    const Json& u = s["user"];
    if (u.contains("intent")) out.emplace_back("intent=" + u["intent"].get<std::string>(), 1.0f);
    if (u.contains("text")) AddTextFeatures("text", u["text"].get<std::string>(), pre, out);
    if (u.contains("entities"))
      for (const Json& e : u["entities"]) out.emplace_back("entity=" + e.get<std::string>(), 1.0f);
  }
  if (s.contains("prev_action")) {
    const Json& a = s["prev_action"];
    if (a.contains("action_name")) out.emplace_back("action_name=" + a["action_name"].get<std::string>(), 1.0f);
    if (a.contains("action_text")) AddTextFeatures("action_text", a["action_text"].get<std::string>(), pre, out);
  }
  if (s.contains("slots"))
    for (const auto& [name, f] : s["slots"].items()) {
      if (!f.is_array()) continue;
      for (size_t i = 0; i < f.size(); ++i)
        if (f[i].get<double>() != 0) out.emplace_back("slot=" + name + "#" + std::to_string(i), f[i].get<float>());
    }
  if (s.contains("active_loop")) {
    const std::string loop = s["active_loop"].value("name", "");
    if (!loop.empty() && loop != policy::kShouldNotBeSet) out.emplace_back("active_loop=" + loop, 1.0f);
  }
  return out;
}

// The last `max_history` states (all when max_history <= 0).
std::vector<State> LastStates(std::vector<State> states, int max_history) {
  if (max_history > 0 && states.size() > static_cast<size_t>(max_history))
    states.erase(states.begin(), states.end() - max_history);
  return states;
}

// One dialogue's states as sparse rows (features outside the vocabulary left out).
struct EncodedStates {
  std::vector<int64_t> offsets, indices;  // offsets: where each state's features start
  std::vector<float> weights;
};

EncodedStates EncodeStates(const std::vector<State>& states, const std::map<std::string, int>& vocabulary,
                           const nlu::Precomputations* pre) {
  EncodedStates e;
  for (const State& state : states) {
    e.offsets.push_back(static_cast<int64_t>(e.indices.size()));
    for (const auto& [feature, value] : StateFeatures(state, pre)) {
      auto it = vocabulary.find(feature);
      if (it == vocabulary.end()) continue;
      e.indices.push_back(it->second);
      e.weights.push_back(value);
    }
  }
  return e;
}

// The rows of `dialogues`, back to back; `lengths` gets each dialogue's length.
SparseRows RowsOf(const std::vector<const EncodedStates*>& dialogues, std::vector<int64_t>& lengths,
                  const torch::Device& device) {
  std::vector<int64_t> indices, offsets;
  std::vector<float> weights;
  for (const EncodedStates* e : dialogues) {
    lengths.push_back(static_cast<int64_t>(e->offsets.size()));
    const int64_t base = static_cast<int64_t>(indices.size());
    for (int64_t off : e->offsets) offsets.push_back(base + off);
    indices.insert(indices.end(), e->indices.begin(), e->indices.end());
    weights.insert(weights.end(), e->weights.begin(), e->weights.end());
  }
  SparseRows rows;
  rows.indices = indices.empty() ? torch::zeros({0}, torch::TensorOptions().dtype(torch::kLong))
                                 : torch::tensor(indices, torch::TensorOptions().dtype(torch::kLong));
  rows.offsets = torch::tensor(offsets, torch::TensorOptions().dtype(torch::kLong));
  rows.weights = weights.empty() ? torch::zeros({0}, torch::TensorOptions().dtype(torch::kFloat))
                                 : torch::tensor(weights, torch::TensorOptions().dtype(torch::kFloat));
  rows.To(device);
  return rows;
}

// The tokens of a user text (the WhitespaceTokenizer's) with each token's NLU
// features ("<featurizer>#<column>"); nullopt when the text has no token
// features or they do not line up with the tokens.
struct TokenFeatures {
  std::vector<nlu::Token> tokens;
  std::vector<Features> features;  // per token
};

std::optional<TokenFeatures> TokenFeaturesOf(const std::string& text, const nlu::Precomputations* pre) {
  if (!pre) return std::nullopt;
  const auto it = pre->find("text:" + text);
  if (it == pre->end()) return std::nullopt;
  TokenFeatures out;
  out.tokens = nlu::WhitespaceTokenize(text);
  out.features.resize(out.tokens.size());
  bool any = false;
  for (const nlu::Features& f : it->second) {
    if (f.attribute != "text" || f.type != nlu::FeatureType::kSequence) continue;
    if (f.matrix.rows != static_cast<int>(out.tokens.size())) return std::nullopt;
    any = true;
    for (int row = 0; row < f.matrix.rows; ++row)
      for (int32_t k = f.matrix.indptr[row]; k < f.matrix.indptr[row + 1]; ++k)
        out.features[static_cast<size_t>(row)].emplace_back(f.origin + "#" + std::to_string(f.matrix.indices[k]),
                                                            f.matrix.values[k]);
  }
  if (!any || out.tokens.empty()) return std::nullopt;
  return out;
}

// The end-to-end features the graph passes in, if any; with `featurizers`
// (TED's option), only the features of the featurizers of those names.
nlu::PrecomputationsPtr PrecomputationsOf(const graph::Inputs& in,
                                          const std::vector<std::string>& featurizers) {
  const auto it = in.find("precomputations");
  if (it == in.end() || !it->second.value.has_value()) return nullptr;
  nlu::PrecomputationsPtr all = std::any_cast<nlu::PrecomputationsPtr>(it->second.value);
  if (!all || featurizers.empty()) return all;
  auto kept = std::make_shared<nlu::Precomputations>();
  for (const auto& [key, features] : *all) {
    std::vector<nlu::Features>& out = (*kept)[key];
    for (const nlu::Features& f : features)
      if (f.UsedBy(featurizers)) out.push_back(f);
  }
  return kept;
}

// `events` with the last user turn told by its text alone (its intent
// dropped), when it has both; nullopt otherwise.
std::optional<std::vector<data::StoryEvent>> WithLastUserText(std::vector<data::StoryEvent> events) {
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if (it->type != data::EventType::kUser) continue;
    if (it->text.empty() || it->name.empty()) return std::nullopt;
    it->name.clear();
    return events;
  }
  return std::nullopt;
}

// Finetuning: `old` with the features of `fresh` it lacks appended, so that
// known features keep their rows.
std::map<std::string, int> Appended(std::map<std::string, int> old, const std::map<std::string, int>& fresh) {
  for (const auto& [feature, ignored] : fresh) old.emplace(feature, static_cast<int>(old.size()));
  return old;
}

// The vocabulary of every feature in `sequences`, sorted.
std::map<std::string, int> Vocabulary(const std::vector<const std::vector<State>*>& sequences,
                                      const nlu::Precomputations* pre) {
  std::set<std::string> features;
  for (const auto* states : sequences)
    for (const State& s : *states)
      for (const auto& [f, v] : StateFeatures(s, pre)) features.insert(f);
  std::map<std::string, int> out;
  for (const std::string& f : features) out[f] = static_cast<int>(out.size());
  return out;
}

// Entity recognition's dimensions: no head when `tags` < 2 (only "O").
struct EntityHeadSize {
  int64_t token_vocabulary = 0, tags = 0;
};
constexpr int64_t kTokenUnits = 64;

class TedModelImpl : public torch::nn::Module {
 public:
  TedModelImpl(const TedOptions& o, int64_t vocabulary, int64_t actions, const Rng& rng,
               const EntityHeadSize& entity = {}) {
    const int64_t concat = 5 * o.dense_dimension;
    input = register_module("input", SparseDense(vocabulary, concat, rng));
    const int64_t dialogue_units = o.layers > 0 ? o.transformer_size : concat;
    if (o.layers > 0) encoder = register_module(
        "encoder", TransformerEncoder(concat, TransformerOptionsOf(o, o.drop_rate_dialogue), rng));
    dialogue_embed = register_module("dialogue_embed", Dense(dialogue_units, o.embedding_dimension, 1.0, true, rng));
    label_input = register_module("label_input", Dense(actions, o.dense_dimension, 1.0, true, rng));
    label_embed = register_module("label_embed", Dense(o.dense_dimension, o.embedding_dimension, 1.0, true, rng));
    actions_ = actions;
    if (entity.tags > 1) {
      token_input = register_module("token_input", SparseDense(std::max<int64_t>(1, entity.token_vocabulary),
                                                              kTokenUnits, rng));
      // The user text's own transformer (Rasa's TED: one layer for TEXT, not
      // unidirectional: that is the dialogue's).
      TransformerOptions text = TransformerOptionsOf(o, o.drop_rate_dialogue);
      text.layers = 1;
      text.unidirectional = false;
      token_encoder = register_module("token_encoder", TransformerEncoder(kTokenUnits, text, rng));
      tag_logits = register_module("tag_logits", Dense(text.units + dialogue_units, entity.tags, 1.0, true, rng));
      crf = register_module("crf", Crf(entity.tags, rng));
    }
  }

  // Each token's tag scores, padded per text: [B, L, T]. `hidden` [B, H] is
  // the dialogue at each text's turn; `tokens` [N] the texts' tokens back to
  // back, `lengths` the number of tokens of each text.
  torch::Tensor Emissions(const SparseRows& tokens, const std::vector<int64_t>& lengths, const torch::Tensor& hidden,
                          bool training, const Rng& rng, double drop_rate) {
    const torch::Device device = hidden.device();
    torch::Tensor x = Dropout(torch::relu(token_input->forward(tokens, 0.0, training, rng)), drop_rate, training, rng);
    const Packing packing = Packing::FromLengths(lengths, device);
    x = token_encoder->forward(x, packing, training, rng);
    const torch::Tensor counts = torch::tensor(lengths, torch::TensorOptions().dtype(torch::kLong)).to(device);
    x = torch::cat({x, hidden.repeat_interleave(counts, 0)}, 1);
    return packing.Unpack(tag_logits->forward(x));
  }

  // The embedding of each sequence's last turn: [B, E].
  torch::Tensor Dialogue(const SparseRows& rows, const std::vector<int64_t>& lengths, bool training, const Rng& rng) {
    return dialogue_embed->forward(Hidden(rows, lengths, training, rng));
  }

  // The transformer's output at each sequence's last turn: [B, H].
  torch::Tensor Hidden(const SparseRows& rows, const std::vector<int64_t>& lengths, bool training, const Rng& rng) {
    const torch::Device device = input->weight.device();
    torch::Tensor x = input->forward(rows, 0.0, training, rng);
    if (encoder) {
      const Packing packing = Packing::FromLengths(lengths, device);
      x = encoder->forward(x, packing, training, rng);
    }
    std::vector<int64_t> last;
    int64_t offset = 0;
    for (int64_t n : lengths) {
      offset += n;
      last.push_back(offset - 1);
    }
    return x.index_select(0, torch::tensor(last, torch::TensorOptions().dtype(torch::kLong)).to(device));
  }

  torch::Tensor Labels(bool training, const Rng& rng, double drop_rate) {
    const torch::Device device = input->weight.device();
    torch::Tensor eye = torch::eye(actions_, torch::TensorOptions().device(device));
    torch::Tensor x = label_input->forward(eye);
    x = Dropout(x, drop_rate, training, rng);
    return label_embed->forward(x);
  }

  SparseDense input{nullptr}, token_input{nullptr};
  TransformerEncoder encoder{nullptr}, token_encoder{nullptr};
  Dense dialogue_embed{nullptr}, label_input{nullptr}, label_embed{nullptr}, tag_logits{nullptr};
  Crf crf{nullptr};

 private:
  int64_t actions_ = 0;
};
TORCH_MODULE(TedModel);

// Finetuning: the old model's weights into `model`; sparse input tables may
// have grown (new features append rows), anything else must be unchanged.
void WarmStart(TedModel& model, TedModel& old, const std::string& name) {
  torch::NoGradGuard no_grad;
  CopyConnectionMasks(*model, *old);
  auto old_params = old->named_parameters(true);
  for (auto& p : model->named_parameters(true)) {
    const torch::Tensor* from = old_params.find(p.key());
    const bool grows = from && (p.key() == "input.weight" || p.key() == "token_input.weight") &&
                       p.value().dim() == 2 && p.value().size(0) >= from->size(0) &&
                       p.value().size(1) == from->size(1);
    if (from && p.value().sizes() == from->sizes()) p.value().copy_(*from);
    else if (grows) p.value().narrow(0, 0, from->size(0)).copy_(*from);
    else
      throw util::InvalidConfigError("Cannot finetune " + name + ": the model's shape changed ('" + p.key() +
                                     "'). Train a new model instead.");
  }
}

// TEDPolicy, and in intent mode UnexpecTEDIntentPolicy: the same model with
// the next user intent as label (several intents can follow one history),
// trained with a sigmoid loss per intent; each intent gets a threshold, the
// lowest similarity its training histories reach (at `tolerance`, that
// quantile), and a user turn whose intent stays below its threshold makes the
// policy predict action_unlikely_intent.
class TEDPolicy : public graph::Component {
 public:
  TEDPolicy(const Json& config, const std::optional<std::string>& resource, const graph::ExecutionContext& c,
            bool intents)
      : name_(intents ? "UnexpecTEDIntentPolicy" : "TEDPolicy"),
        intents_(intents),
        config_(config),
        options_(TedOptions::FromJson(config, name_)),
        requested_epochs_(options_.epochs) {
    ReadIntentOptions(config);
    if (!resource || !c.storage || !c.storage->Has(*resource)) return;
    const auto dir = c.storage->ReadFrom(*resource);
    if (!std::filesystem::exists(dir / kMetaFile)) return;
    try {
      std::ifstream in(dir / kMetaFile);
      const Json meta = Json::parse(in);
      options_ = TedOptions::FromJson(meta.at("config"), name_);
      ReadIntentOptions(meta.at("config"));
      labels_ = meta.at("labels").get<std::vector<std::string>>();
      thresholds_ = meta.value("thresholds", std::vector<double>{});
      int index = 0;
      for (const Json& f : meta.at("vocabulary")) vocabulary_[f.get<std::string>()] = index++;
      NoteTextFeatures();
      tags_ = TagSet::ForEntities({}, options_.bilou);
      for (const Json& t : meta.value("tags", Json::array())) tags_.Add(t.get<std::string>());
      index = 0;
      for (const Json& f : meta.value("token_vocabulary", Json::array())) token_vocabulary_[f.get<std::string>()] = index++;
      Rng rng(0, torch::kCPU);
      model_ = TedModel(options_, std::max<int64_t>(1, static_cast<int64_t>(vocabulary_.size())),
                        static_cast<int64_t>(labels_.size()), rng, EntityHead());
      torch::serialize::InputArchive archive;
      archive.load_from((dir / kWeightsFile).string(), torch::Device(torch::kCPU));
      model_->load(archive);
      model_->eval();
    } catch (const std::exception& e) {
      throw util::InvalidDataError({}, "The model's resource '" + *resource + "' (" + name_ + ") is corrupt: " +
                                           e.what());
    }
  }

  graph::Output Run(const std::string& fn, const graph::Inputs& in, const graph::ExecutionContext& c) override {
    if (fn == "predict_action_probabilities") return Predict(in);
    if (fn != "train") throw util::InvalidConfigError(name_ + " has no method '" + fn + "'.");
    Train(*std::any_cast<policy::TrackersPtr>(in.at("training_trackers").value),
          *std::any_cast<std::shared_ptr<const Json>>(in.at("domain").value),
          PrecomputationsOf(in, options_.featurizers).get(), c);
    return {graph::Resource{c.node_name}, graph::RandomFingerprint(), c.node_name};
  }

 private:
  struct Example {
    std::vector<State> states;
    std::vector<int> labels;  // TED: one action; intent mode: every intent seen after these states
  };

  // A user text of the stories with its gold entity tags (entity recognition).
  struct TaggedText {
    EncodedStates tokens;  // one row per token
    std::vector<int> tags;
  };

  EntityHeadSize EntityHead() const {
    return {static_cast<int64_t>(token_vocabulary_.size()), static_cast<int64_t>(tags_.names.size())};
  }

  // The user text right after which the action of `states` is taken, if any.
  static const std::string* UserTextJustSaid(const std::vector<State>& states) {
    if (states.empty()) return nullptr;
    const State& last = states.back();
    if (!last.contains("user") || !last["user"].contains("text")) return nullptr;
    if (last.contains("prev_action") && last["prev_action"].value("action_name", "") != policy::kActionListen)
      return nullptr;
    return last["user"]["text"].get_ptr<const std::string*>();
  }

  // A text's token features as sparse rows of the token vocabulary.
  EncodedStates EncodeTokens(const TokenFeatures& t) const {
    EncodedStates e;
    for (const Features& token : t.features) {
      e.offsets.push_back(static_cast<int64_t>(e.indices.size()));
      for (const auto& [feature, value] : token) {
        auto it = token_vocabulary_.find(feature);
        if (it == token_vocabulary_.end()) continue;
        e.indices.push_back(it->second);
        e.weights.push_back(value);
      }
    }
    return e;
  }

  // Entity recognition's training data: the tag set and token vocabulary of
  // the stories' annotated user texts, and each example's tagged text (empty
  // tags where the example's action does not follow a user text).
  std::vector<TaggedText> TaggedTexts(const std::vector<policy::TrainingTracker>& trackers,
                                      const std::vector<Example>& examples, const nlu::Precomputations* pre,
                                      bool finetuning) {
    const TagSet old_tags = tags_;
    const std::map<std::string, int> old_tokens = token_vocabulary_;
    tags_ = TagSet::ForEntities({}, options_.bilou);
    token_vocabulary_.clear();
    std::vector<TaggedText> out(examples.size());
    if (intents_ || !options_.entity_recognition || !pre) return out;
    std::map<std::string, std::vector<data::EntityAnnotation>> annotated;  // first annotation of each text wins
    std::set<std::string> entities;
    for (const policy::TrainingTracker& t : trackers)
      for (const data::StoryEvent& e : t.events)
        if (e.type == data::EventType::kUser && !e.text.empty()) {
          annotated.emplace(e.text, e.entities);
          for (const data::EntityAnnotation& a : e.entities)
            if (a.end > a.start) entities.insert(a.entity);
        }
    if (entities.empty()) return out;
    tags_ = TagSet::ForEntities(entities, options_.bilou);
    std::map<std::string, std::optional<TokenFeatures>> features;
    for (const auto& [text, ignored] : annotated) features.emplace(text, TokenFeaturesOf(text, pre));
    std::set<std::string> vocabulary;
    for (const auto& [text, f] : features)
      if (f)
        for (const Features& token : f->features)
          for (const auto& [name, value] : token) vocabulary.insert(name);
    for (const std::string& name : vocabulary) token_vocabulary_[name] = static_cast<int>(token_vocabulary_.size());
    if (finetuning) {
      if (old_tags.names != tags_.names)
        throw util::InvalidConfigError("Cannot finetune " + name_ + ": the entities of the stories' texts changed. "
                                       "Train a new model instead.");
      token_vocabulary_ = Appended(old_tokens, token_vocabulary_);
    }
    for (size_t i = 0; i < examples.size(); ++i) {
      const std::string* text = UserTextJustSaid(examples[i].states);
      if (!text || !annotated.count(*text) || !features[*text]) continue;
      nlu::NluMessage m;
      m.data.text = *text;
      m.data.entities = annotated[*text];
      m.tokens = features[*text]->tokens;
      out[i] = {EncodeTokens(*features[*text]), tags_.Tags(m)};
    }
    return out;
  }

  // The entities TED finds in the user's last text, given the dialogue at that turn.
  std::vector<data::EntityAnnotation> Entities(const std::string& text, const torch::Tensor& hidden,
                                               const nlu::Precomputations* pre) const {
    std::vector<data::EntityAnnotation> out;
    const std::optional<TokenFeatures> f = model_->crf ? TokenFeaturesOf(text, pre) : std::nullopt;
    if (!f) return out;
    Rng rng(0, torch::kCPU);
    std::vector<int64_t> lengths;
    const EncodedStates tokens = EncodeTokens(*f);
    const SparseRows rows = RowsOf({&tokens}, lengths, torch::kCPU);
    std::vector<std::vector<float>> confidences;
    const auto paths = model_->crf->Decode(model_->Emissions(rows, lengths, hidden, false, rng, 0.0), lengths,
                                           &confidences);
    std::vector<std::string> names;
    for (int t : paths[0]) names.push_back(tags_.names.at(static_cast<size_t>(t)));
    const std::u32string chars = util::DecodeUtf8(text);
    const TokenGaps gaps{f->tokens, chars, options_.comma_splitting};
    for (const Span& span : TagsToSpans(names, confidences[0], tags_.bilou, &gaps)) {
      data::EntityAnnotation e;
      e.entity = span.entity;
      e.start = f->tokens[static_cast<size_t>(span.first)].start;
      e.end = f->tokens[static_cast<size_t>(span.last)].end;
      e.value = util::EncodeUtf8(std::u32string_view(chars).substr(static_cast<size_t>(e.start),
                                                                    static_cast<size_t>(e.end - e.start)));
      out.push_back(std::move(e));
    }
    return out;
  }

  void ReadIntentOptions(const Json& config) {
    if (!intents_) return;
    const OptionReader r(config, name_);
    tolerance_ = ReadTolerance(r);
    ignored_.clear();
    const Json& ignore = r.Get("ignore_intents_list");
    if (ignore.is_array())
      for (const Json& i : ignore)
        if (i.is_string()) ignored_.insert(i.get<std::string>());
  }

  std::vector<State> Window(std::vector<State> states) const { return LastStates(std::move(states), options_.max_history); }

  // Whether the model learned from user texts (end-to-end stories).
  void NoteTextFeatures() {
    user_text_ = std::any_of(vocabulary_.begin(), vocabulary_.end(),
                             [](const auto& f) { return f.first.rfind("text", 0) == 0; });
  }

  // TED: the states before each action of every story. Intent mode: the
  // states before each user turn (up to the bot's decision to listen),
  // grouped by history.
  std::vector<Example> Examples(const std::vector<policy::TrainingTracker>& trackers, const Json& domain,
                                const graph::ExecutionContext& c) const {
    std::map<std::string, int> index;
    for (size_t i = 0; i < labels_.size(); ++i) index[labels_[i]] = static_cast<int>(i);
    std::vector<Example> out;
    std::map<std::string, size_t> seen;  // history (+ action for TED) -> example
    for (const policy::TrainingTracker& t : trackers) {
      if (t.is_rule) continue;
      if (c.cancel) c.cancel->ThrowIfCancelled();
      if (!intents_) {
        for (auto& [states, action] : policy::ActionExamples(t, domain)) {
          auto it = index.find(action);
          if (it == index.end()) continue;
          std::vector<State> window = Window(std::move(states));
          if (seen.emplace(Json(window).dump() + "\n" + action, out.size()).second)
            out.push_back({std::move(window), {it->second}});
        }
        continue;
      }
      policy::DialogueTracker tracker(domain);
      for (const data::StoryEvent& e : policy::ExplicitEvents(t.events, true)) {
        if (e.type == data::EventType::kUser && index.count(e.name)) {
          std::vector<State> states = tracker.PastStates();
          states.pop_back();  // the current state still shows the previous user turn
          std::vector<State> window = Window(std::move(states));
          auto [it, inserted] = seen.emplace(Json(window).dump(), out.size());
          if (inserted) out.push_back({std::move(window), {}});
          auto& labels = out[it->second].labels;
          if (std::find(labels.begin(), labels.end(), index[e.name]) == labels.end()) labels.push_back(index[e.name]);
        }
        tracker.Apply(e);
      }
    }
    return out;
  }

  void Train(const std::vector<policy::TrainingTracker>& trackers, const Json& domain,
             const nlu::Precomputations* pre, const graph::ExecutionContext& c) {
    const auto started = std::chrono::steady_clock::now();
    SetComputeThreads(c.compute_threads);
    bool fell_back = false;
    const std::string device_name = ResolveDevice(c.device, &fell_back);
    if (fell_back && c.warn) c.warn(name_ + ": device '" + c.device + "' is not available; training on the CPU.");
    const torch::Device device(device_name);
    const TedOptions& o = options_;

    labels_.clear();
    if (intents_) {
      if (domain.contains("intents"))
        for (const Json& i : domain["intents"]) labels_.push_back(i.is_string() ? i.get<std::string>() : i.begin().key());
    } else {
      labels_ = policy::ActionNames(domain);
    }
    // Finetuning goes on from the old model: its options but this training's
    // epochs; features new to it are appended to its vocabularies.
    TedModel old_model = c.is_finetuning ? model_ : TedModel(nullptr);
    if (old_model) options_.epochs = requested_epochs_;
    const std::vector<Example> examples = Examples(trackers, domain, c);
    std::vector<const std::vector<State>*> all_states;
    for (const Example& e : examples) all_states.push_back(&e.states);
    vocabulary_ = old_model ? Appended(vocabulary_, Vocabulary(all_states, pre)) : Vocabulary(all_states, pre);
    NoteTextFeatures();
    const std::vector<TaggedText> tagged = TaggedTexts(trackers, examples, pre, static_cast<bool>(old_model));

    Rng rng(o.seed, device);
    std::mt19937_64 shuffle_rng(o.seed);
    model_ = TedModel(o, std::max<int64_t>(1, static_cast<int64_t>(vocabulary_.size())),
                      static_cast<int64_t>(labels_.size()), rng, EntityHead());
    if (old_model) WarmStart(model_, old_model, name_);
    model_->to(device);
    LazyAdam lazy(model_->input->weight, o.learning_rate, o.regularization);
    std::optional<LazyAdam> lazy_tokens;
    if (model_->token_input) lazy_tokens.emplace(model_->token_input->weight, o.learning_rate, o.regularization);
    std::vector<torch::Tensor> rest;
    for (const auto& p : model_->named_parameters(true))
      if (p.key() != "input.weight" && p.key() != "token_input.weight") rest.push_back(p.value());
    GroupAdam adam({{rest, 0.0}}, o.learning_rate);

    std::vector<int> first_labels;
    for (const Example& e : examples) first_labels.push_back(e.labels.front());
    const int64_t label_count = static_cast<int64_t>(labels_.size());
    const torch::Tensor all_ids = torch::arange(label_count, torch::TensorOptions().dtype(torch::kLong).device(device));
    // Multi-hot targets of examples `pick` (intent mode).
    auto targets = [&](const std::vector<size_t>& pick) {
      std::vector<float> t(pick.size() * static_cast<size_t>(label_count), 0.0f);
      for (size_t k = 0; k < pick.size(); ++k)
        for (int l : examples[pick[k]].labels) t[k * static_cast<size_t>(label_count) + static_cast<size_t>(l)] = 1.0f;
      return torch::tensor(t).view({static_cast<int64_t>(pick.size()), label_count}).to(device);
    };
    // Each example's states as sparse rows, encoded once (not per batch and epoch).
    std::vector<EncodedStates> encoded;
    for (const Example& e : examples) encoded.push_back(EncodeStates(e.states, vocabulary_, pre));
    auto hidden_of = [&](const std::vector<size_t>& pick, bool training) {
      std::vector<const EncodedStates*> dialogues;
      for (size_t i : pick) dialogues.push_back(&encoded[i]);
      std::vector<int64_t> lengths;
      const SparseRows rows = RowsOf(dialogues, lengths, device);
      return model_->Hidden(rows, lengths, training, rng);
    };
    auto dialogue_of = [&](const std::vector<size_t>& pick, bool training) {
      return model_->dialogue_embed->forward(hidden_of(pick, training));
    };
    // The tag scores of the tagged texts among `pick` (which of them: `texts`,
    // as indices into pick), whose dialogues are `hidden`.
    struct TextEmissions {
      std::vector<size_t> texts;
      std::vector<int64_t> lengths;
      torch::Tensor emissions;
    };
    auto text_emissions = [&](const std::vector<size_t>& pick, const torch::Tensor& hidden,
                              bool training) -> std::optional<TextEmissions> {
      TextEmissions out;
      std::vector<const EncodedStates*> texts;
      for (size_t k = 0; k < pick.size(); ++k)
        if (!tagged[pick[k]].tags.empty()) {
          out.texts.push_back(k);
          texts.push_back(&tagged[pick[k]].tokens);
        }
      if (texts.empty()) return std::nullopt;
      const SparseRows tokens = RowsOf(texts, out.lengths, device);
      const std::vector<int64_t> rows(out.texts.begin(), out.texts.end());
      const torch::Tensor at_turn = hidden.index_select(
          0, torch::tensor(rows, torch::TensorOptions().dtype(torch::kLong)).to(device));
      out.emissions = model_->Emissions(tokens, out.lengths, at_turn, training, rng,
                                        training ? o.drop_rate_dialogue : 0.0);
      return out;
    };
    // The CRF's loss on the tagged texts among `pick`, whose dialogues are `hidden`.
    auto entity_loss = [&](const std::vector<size_t>& pick,
                           const torch::Tensor& hidden) -> std::optional<torch::Tensor> {
      const std::optional<TextEmissions> e = text_emissions(pick, hidden, true);
      if (!e) return std::nullopt;
      const int64_t longest = *std::max_element(e->lengths.begin(), e->lengths.end());
      std::vector<int64_t> gold(e->texts.size() * static_cast<size_t>(longest), 0);
      for (size_t j = 0; j < e->texts.size(); ++j) {
        const std::vector<int>& t = tagged[pick[e->texts[j]]].tags;
        std::copy(t.begin(), t.end(), gold.begin() + static_cast<std::ptrdiff_t>(j * static_cast<size_t>(longest)));
      }
      const torch::Tensor gold_tags =
          torch::tensor(gold, torch::TensorOptions().dtype(torch::kLong))
              .view({static_cast<int64_t>(e->texts.size()), longest})
              .to(device);
      const torch::Tensor mask = Packing::FromLengths(e->lengths, device).padding.logical_not();
      return model_->crf->NegativeLogLikelihood(e->emissions, gold_tags, mask);
    };
    // evaluate_on_number_of_examples: examples held out from training, split
    // as Rasa splits them (by their first label), evaluated every
    // evaluate_every_number_of_epochs: the accuracy of the predicted action
    // (intent mode: of each label's yes or no, as in training) and, where
    // held-out texts are tagged, the entity tags' F1 (tokens outside entities
    // not counted). checkpoint_model keeps the best evaluation's weights.
    std::vector<size_t> train_ids(examples.size()), eval_ids;
    std::iota(train_ids.begin(), train_ids.end(), size_t{0});
    if (o.evaluate_examples > 0 && o.evaluate_every > 0 && !examples.empty()) {
      try {
        HeldOutSplit split = HoldOut(first_labels, o.evaluate_examples, shuffle_rng);
        train_ids = std::move(split.train);
        eval_ids = std::move(split.held_out);
      } catch (const std::invalid_argument& e) {
        throw util::InvalidConfigError(name_ + ": " + e.what());
      }
    }
    if (o.checkpoint && eval_ids.empty() && c.warn) c.warn(CheckpointWithoutEvaluation(name_));
    std::vector<int> train_labels;
    for (size_t i : train_ids) train_labels.push_back(first_labels[i]);
    const bool tagged_held_out =
        model_->crf && std::any_of(eval_ids.begin(), eval_ids.end(),
                                   [&](size_t i) { return !tagged[i].tags.empty(); });
    auto evaluate = [&]() {
      torch::NoGradGuard no_grad;
      model_->eval();
      double correct = 0, tp = 0, fp = 0, fn = 0;
      for (size_t start = 0; start < eval_ids.size(); start += 256) {
        const std::vector<size_t> pick(
            eval_ids.begin() + static_cast<std::ptrdiff_t>(start),
            eval_ids.begin() + static_cast<std::ptrdiff_t>(std::min(eval_ids.size(), start + 256)));
        const torch::Tensor hidden = hidden_of(pick, false);
        const torch::Tensor sims =
            Similarities(model_->dialogue_embed->forward(hidden), model_->Labels(false, rng, 0.0),
                         o.similarity.similarity_type);
        if (intents_) {
          correct +=
              sims.gt(0).eq(targets(pick).gt(0.5)).to(torch::kFloat).mean(1).sum().item<double>();
        } else {
          std::vector<int64_t> gold;
          for (size_t i : pick) gold.push_back(examples[i].labels.front());
          correct +=
              sims.argmax(1)
                  .eq(torch::tensor(gold, torch::TensorOptions().dtype(torch::kLong)).to(device))
                  .sum()
                  .item<double>();
        }
        if (!tagged_held_out) continue;
        const std::optional<TextEmissions> e = text_emissions(pick, hidden, false);
        if (!e) continue;
        const auto paths = model_->crf->Decode(e->emissions, e->lengths, nullptr);
        for (size_t j = 0; j < e->texts.size(); ++j) {
          const std::vector<int>& gold = tagged[pick[e->texts[j]]].tags;
          for (size_t t = 0; t < paths[j].size() && t < gold.size(); ++t) {
            const int predicted = paths[j][t];
            if (predicted != 0 && predicted == gold[t]) ++tp;
            if (predicted != 0 && predicted != gold[t]) ++fp;
            if (gold[t] != 0 && predicted != gold[t]) ++fn;
          }
        }
      }
      model_->train();
      std::map<std::string, double> metrics = {
          {"val_acc", correct / static_cast<double>(eval_ids.size())}};
      if (tagged_held_out) metrics["val_e_f1"] = tp == 0 ? 0.0 : 2 * tp / (2 * tp + fp + fn);
      return metrics;
    };
    BestEvaluation best;
    std::vector<torch::Tensor> best_state;
    model_->train();
    for (int epoch = 0; epoch < o.epochs && !examples.empty(); ++epoch) {
      const int batch_size = BatchSizeForEpoch(o.batch_first, o.batch_last, epoch, o.epochs);
      double loss_sum = 0, acc_sum = 0, e_loss_sum = 0;
      const auto batches = MakeBatches(train_labels, batch_size, o.batch_strategy, shuffle_rng);
      for (const auto& local : batches) {
        if (c.cancel) c.cancel->ThrowIfCancelled();
        std::vector<size_t> pick;
        for (size_t i : local) pick.push_back(train_ids[i]);
        const torch::Tensor hidden = hidden_of(pick, true);
        torch::Tensor dialogue = model_->dialogue_embed->forward(hidden);
        torch::Tensor all = model_->Labels(true, rng, o.drop_rate_label);
        torch::Tensor loss, accuracy;
        if (intents_) {
          torch::Tensor sims = Similarities(dialogue, all, o.similarity.similarity_type);
          torch::Tensor t = targets(pick);
          loss = torch::binary_cross_entropy_with_logits(sims, t);
          accuracy = sims.gt(0).eq(t.gt(0.5)).to(torch::kFloat).mean();
        } else {
          std::vector<int64_t> batch_labels;
          for (size_t i : pick) batch_labels.push_back(examples[i].labels.front());
          torch::Tensor ids = torch::tensor(batch_labels, torch::TensorOptions().dtype(torch::kLong)).to(device);
          SimilarityLossResult r =
              DotProductLoss(o.similarity, dialogue, all.index_select(0, ids), ids, all, all_ids, rng);
          loss = r.loss;
          accuracy = r.accuracy;
          if (model_->crf)
            if (const auto e_loss = entity_loss(pick, hidden)) {
              e_loss_sum += e_loss->item<double>();
              loss = loss + *e_loss;
            }
        }
        adam.ZeroGrad();
        model_->input->weight.mutable_grad() = torch::Tensor();
        if (model_->token_input) model_->token_input->weight.mutable_grad() = torch::Tensor();
        loss.backward();
        adam.Step();
        lazy.Step();
        if (lazy_tokens) lazy_tokens->Step();
        loss_sum += loss.item<double>();
        acc_sum += accuracy.item<double>();
      }
      const double n = std::max<size_t>(1, batches.size());
      Json metrics = {{"t_loss", loss_sum / n}, {"acc", acc_sum / n}};
      if (model_->crf) metrics["e_loss"] = e_loss_sum / n;
      if (!eval_ids.empty() && ((epoch + 1) % o.evaluate_every == 0 || epoch + 1 == o.epochs)) {
        lazy.Flush();
        if (lazy_tokens) lazy_tokens->Flush();
        const std::map<std::string, double> held_out = evaluate();
        for (const auto& [metric, value] : held_out) metrics[metric] = value;
        if (o.checkpoint && best.Improves(held_out)) {
          best_state.clear();
          for (const auto& p : model_->parameters()) best_state.push_back(p.detach().clone());
        }
      }
      if (c.progress) c.progress(graph::Progress{epoch + 1, o.epochs, metrics});
    }
    lazy.Flush();
    if (lazy_tokens) lazy_tokens->Flush();
    if (!best_state.empty()) {
      torch::NoGradGuard no_grad;
      const std::vector<torch::Tensor> params = model_->parameters();
      for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_state[i]);
    }
    model_->eval();
    thresholds_.clear();
    if (intents_) {
      // Each intent's threshold: the `tolerance` quantile of its training histories' similarities.
      torch::NoGradGuard no_grad;
      std::vector<std::vector<double>> positives(labels_.size());
      std::vector<size_t> all_ids_list(examples.size());
      std::iota(all_ids_list.begin(), all_ids_list.end(), 0);
      for (size_t start = 0; start < examples.size(); start += 256) {
        const std::vector<size_t> pick(all_ids_list.begin() + static_cast<std::ptrdiff_t>(start),
                                       all_ids_list.begin() + static_cast<std::ptrdiff_t>(std::min(examples.size(), start + 256)));
        torch::Tensor sims = Similarities(dialogue_of(pick, false), model_->Labels(false, rng, 0.0),
                                          o.similarity.similarity_type).to(torch::kCPU).contiguous();
        for (size_t k = 0; k < pick.size(); ++k)
          for (int l : examples[pick[k]].labels)
            positives[static_cast<size_t>(l)].push_back(sims[static_cast<int64_t>(k)][l].item<double>());
      }
      for (auto& p : positives) {
        if (p.empty()) {
          thresholds_.push_back(-1e9);  // never seen in the stories: never flagged
          continue;
        }
        std::sort(p.begin(), p.end());
        thresholds_.push_back(p[static_cast<size_t>(tolerance_ * static_cast<double>(p.size() - 1))]);
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    model_->to(torch::kCPU);
    const auto dir = c.storage->WriteTo(c.node_name);
    torch::serialize::OutputArchive archive;
    model_->save(archive);
    archive.save_to((dir / kWeightsFile).string());
    Json config = config_;
    config["random_seed"] = o.seed;
    std::vector<std::string> vocabulary(vocabulary_.size());
    for (const auto& [f, i] : vocabulary_) vocabulary[static_cast<size_t>(i)] = f;
    Json meta = {{"config", config}, {"labels", labels_}, {"vocabulary", vocabulary}};
    if (model_->crf) {
      std::vector<std::string> token_vocabulary(token_vocabulary_.size());
      for (const auto& [f, i] : token_vocabulary_) token_vocabulary[static_cast<size_t>(i)] = f;
      meta["tags"] = std::vector<std::string>(tags_.names.begin() + 1, tags_.names.end());
      meta["token_vocabulary"] = token_vocabulary;
    }
    if (intents_) meta["thresholds"] = thresholds_;
    std::ofstream(dir / kMetaFile) << meta.dump();
    std::ofstream(dir / "training.json") << Json{
        {"examples", train_ids.size()},
        {"epochs", o.epochs},
        {"seconds", seconds},
        {"device", device_name},
        {"threads", torch::get_num_threads()}}.dump();
  }

  // The similarities of the history `states` to every label ([L]), and the
  // dialogue at its last turn ([1, H]).
  struct Scored {
    torch::Tensor sims, hidden;
  };
  Scored Score(std::vector<State> states, const graph::Inputs& in) const {
    torch::NoGradGuard no_grad;
    Rng rng(0, torch::kCPU);
    std::vector<int64_t> lengths;
    const EncodedStates encoded =
        EncodeStates(states, vocabulary_, PrecomputationsOf(in, options_.featurizers).get());
    const SparseRows rows = RowsOf({&encoded}, lengths, torch::kCPU);
    const torch::Tensor hidden = model_->Hidden(rows, lengths, false, rng);
    const torch::Tensor dialogue = model_->dialogue_embed->forward(hidden);
    return {Similarities(dialogue, model_->Labels(false, rng, 0.0), options_.similarity.similarity_type).squeeze(0),
            hidden};
  }

  graph::Output Predict(const graph::Inputs& in) const {
    const Json& domain = *std::any_cast<std::shared_ptr<const Json>>(in.at("domain").value);
    const auto& events = *std::any_cast<policy::ConversationPtr>(in.at("tracker").value);
    const std::vector<std::string> actions = policy::ActionNames(domain);
    auto prediction = policy::EmptyPrediction(actions, name_, options_.priority);
    auto set = [&](const std::string& action, double p) { policy::SetProbability(*prediction, actions, action, p); };
    if (model_ && !labels_.empty() && intents_) {
      // Only right after a user turn with an intent it knows.
      const std::vector<data::StoryEvent> explicit_events = policy::ExplicitEvents(events, false);
      if (!explicit_events.empty() && explicit_events.back().type == data::EventType::kUser) {
        const std::string& intent = explicit_events.back().name;
        auto it = std::find(labels_.begin(), labels_.end(), intent);
        if (it != labels_.end() && !ignored_.count(intent)) {
          const size_t label = static_cast<size_t>(it - labels_.begin());
          std::vector<State> states = policy::StoryPolicyStates(events, domain, policy::RuleOnlyDataOf(in));
          states.pop_back();
          const torch::Tensor sims = Score(Window(std::move(states)), in).sims;
          if (label < thresholds_.size() && sims[static_cast<int64_t>(label)].item<double>() < thresholds_[label])
            set(policy::kActionUnlikelyIntent, 1.0);
        }
      }
    } else if (model_ && !labels_.empty()) {
      // End-to-end: when the last user turn has text and intent, the same
      // history with the text in place of the intent too; TED goes by the
      // text when that is more similar to its action and confident enough
      // (by the text alone when there is no intent), and then tags its entities.
      auto confidences = [&](const torch::Tensor& sims) {
        return Confidences(sims.unsqueeze(0), options_.similarity.model_confidence).squeeze(0).contiguous();
      };
      Scored chosen = Score(Window(policy::StoryPolicyStates(events, domain, policy::RuleOnlyDataOf(in))), in);
      torch::Tensor conf = confidences(chosen.sims);
      const auto last_user = std::find_if(events.rbegin(), events.rend(),
                                          [](const data::StoryEvent& e) { return e.type == data::EventType::kUser; });
      if (user_text_ && last_user != events.rend() && !last_user->text.empty()) {
        bool by_text = last_user->name.empty();
        if (!by_text) {
          const auto with_text = WithLastUserText(events);
          Scored text = Score(Window(policy::StoryPolicyStates(*with_text, domain, policy::RuleOnlyDataOf(in))), in);
          torch::Tensor text_conf = confidences(text.sims);
          by_text = text.sims.max().item<double>() > chosen.sims.max().item<double>() &&
                    text_conf.max().item<double>() >= options_.e2e_confidence_threshold;
          if (by_text) {
            chosen = std::move(text);
            conf = std::move(text_conf);
          }
        }
        prediction->is_end_to_end_prediction = by_text;
        if (by_text && last_user == events.rbegin() && model_->crf)  // right after the user's text
          prediction->entities = Entities(last_user->text, chosen.hidden,
                                          PrecomputationsOf(in, options_.featurizers).get());
      }
      // ranking_length: the other actions' confidences become 0 (Rasa's rank_and_mask).
      const Ranking ranked = RankAndMask(
          std::vector<float>(conf.data_ptr<float>(), conf.data_ptr<float>() + conf.numel()),
          options_.ranking_length, ShouldRenormalize(options_.renormalize, options_.similarity));
      for (size_t k = 0; k < ranked.labels.size(); ++k)
        set(labels_[ranked.labels[k]], ranked.confidences[k]);
    }
    return {policy::PolicyPredictionPtr(prediction), graph::RandomFingerprint(), std::nullopt};
  }

  std::string name_;
  bool intents_ = false;
  Json config_;
  TedOptions options_;
  double tolerance_ = 0.0;
  std::set<std::string> ignored_;
  std::vector<std::string> labels_;
  std::vector<double> thresholds_;
  std::map<std::string, int> vocabulary_;
  bool user_text_ = false;
  int requested_epochs_ = 0;  // this training's epochs (finetuning keeps the rest of the old options)
  TagSet tags_;                                  // entity recognition: "O" alone when off
  std::map<std::string, int> token_vocabulary_;  // entity recognition: token features
  mutable TedModel model_{nullptr};
};

}  // namespace

Json TedDefaults() {
  return {{"max_history", nullptr},
          {"hidden_layers_sizes", {{"text", Json::array()}, {"action_text", Json::array()},
                                   {"label_action_text", Json::array()}}},
          {"dense_dimension", {{"text", 128}, {"action_text", 128}, {"label_action_text", 128}, {"intent", 20},
                               {"action_name", 20}, {"label_action_name", 20}, {"entities", 20}, {"slots", 20},
                               {"active_loop", 20}}},
          {"concat_dimension", {{"text", 128}, {"action_text", 128}, {"label_action_text", 128}}},
          {"encoding_dimension", 50},
          {"transformer_size", {{"text", 128}, {"action_text", 128}, {"label_action_text", 128}, {"dialogue", 128}}},
          {"number_of_transformer_layers", {{"text", 1}, {"action_text", 1}, {"label_action_text", 1}, {"dialogue", 1}}},
          {"number_of_attention_heads", 4},
          {"use_key_relative_attention", false},
          {"use_value_relative_attention", false},
          {"max_relative_position", 5},
          {"unidirectional_encoder", true},
          {"batch_size", {64, 256}},
          {"batch_strategy", "balanced"},
          {"epochs", 1},
          {"random_seed", nullptr},
          {"learning_rate", 0.001},
          {"embedding_dimension", 20},
          {"number_of_negative_examples", 20},
          {"similarity_type", "auto"},
          {"loss_type", "cross_entropy"},
          {"ranking_length", 0},
          {"renormalize_confidences", false},
          {"maximum_positive_similarity", 0.8},
          {"maximum_negative_similarity", -0.2},
          {"use_maximum_negative_similarity", true},
          {"scale_loss", true},
          {"regularization_constant", 0.001},
          {"negative_margin_scale", 0.8},
          {"drop_rate_dialogue", 0.1},
          {"drop_rate_label", 0.0},
          {"drop_rate_attention", 0.0},
          {"connection_density", 0.2},
          {"use_sparse_input_dropout", true},
          {"use_dense_input_dropout", true},
          {"evaluate_every_number_of_epochs", 20},
          {"evaluate_on_number_of_examples", 0},
          {"tensorboard_log_directory", nullptr},
          {"tensorboard_log_level", "epoch"},
          {"checkpoint_model", false},
          {"e2e_confidence_threshold", 0.5},
          {"featurizers", Json::array()},
          {"entity_recognition", true},
          {"constrain_similarities", false},
          {"model_confidence", "softmax"},
          {"BILOU_flag", true},
          {"split_entities_by_comma", true},
          {"priority", 1}};
}

void RegisterTedPolicy() {
  for (const bool intents : {false, true}) {
    graph::ComponentImplementation impl;
    // 2: ted.json lists "labels"; 3: texts featurized by the NLU pipeline; 4: entities; 5: the
    // entity tokens' transformer; 6: Rasa's balanced batching; 7: a GELU on the transformers'
    // output, the sparse input tables move as under dense Adam; 8: negatives sampled without
    // replacement; 9: evaluate_on_number_of_examples held out, checkpoint_model; 10: featurizers;
    // 11: scale_loss and constrain_similarities as Rasa's loss computes them; 12: the margin
    // loss's other negatives by their most similar one.
    impl.version = "12";
    impl.defaults = TedDefaults();
    const std::string one_layer =
        "trainyard's TED embeds each dialogue state's features (intent, entities, slots, texts, "
        "...) together in "
        "one sparse layer of dense_dimension units, with no layers per attribute.";
    const std::string no_input_dropout =
        "trainyard's TED drops none of its input features; drop_rate_dialogue acts inside its "
        "transformer.";
    impl.inert = {{"hidden_layers_sizes", one_layer},
                  {"concat_dimension", one_layer},
                  {"encoding_dimension", one_layer},
                  {"use_sparse_input_dropout", no_input_dropout},
                  {"use_dense_input_dropout", no_input_dropout},
                  {"tensorboard_log_directory", kNoTensorBoard},
                  {"tensorboard_log_level", kNoTensorBoard}};
    if (intents) {
      // UnexpecTEDIntentPolicy's differences from TED's defaults.
      impl.defaults["priority"] = 2;
      impl.defaults["ignore_intents_list"] = Json::array();
      impl.defaults["tolerance"] = 0.0;
      impl.defaults["scale_loss"] = false;
      impl.defaults["number_of_negative_examples"] = 20;
      impl.defaults.erase("e2e_confidence_threshold");
      impl.defaults.erase("entity_recognition");
      impl.defaults.erase("BILOU_flag");
      impl.defaults.erase("split_entities_by_comma");
    }
    impl.make = [intents](const Json& config, const std::optional<std::string>& resource,
                          const graph::ExecutionContext& c) {
      return std::make_unique<TEDPolicy>(config, resource, c, intents);
    };
    impl.check = [intents](const Json& config) {
      const std::string name = intents ? "UnexpecTEDIntentPolicy" : "TEDPolicy";
      TedOptions::FromJson(config, name);
      if (intents) ReadTolerance(OptionReader(config, name));
    };
    graph::RegisterImplementation(intents ? "UnexpecTEDIntentPolicy" : "TEDPolicy", impl);
  }
}

}  // namespace trainyard::ml
