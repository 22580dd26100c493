#pragma once

// The components trainyard knows, keyed by the names Rasa users write in
// config.yml (and by Rasa's class paths, so graph.v1 configs and archives read
// the same). Static data; safe from any thread.

#include <string>
#include <string_view>
#include <vector>

namespace trainyard::graph {

// What a component does, as Rasa's default.v1 recipe classifies it.
enum ComponentType : unsigned {
  kTokenizer = 1u << 0,
  kFeaturizer = 1u << 1,
  kIntentClassifier = 1u << 2,
  kEntityExtractor = 1u << 3,
  kPolicyWithoutEndToEnd = 1u << 4,
  kPolicyWithEndToEnd = 1u << 5,
  kModelLoader = 1u << 6,
  kGraphInternal = 1u << 7,  // providers, validators, converters, ensemble
};

struct ComponentInfo {
  std::string name;        // "WhitespaceTokenizer"
  std::string class_path;  // "rasa.nlu.tokenizers.whitespace_tokenizer.WhitespaceTokenizer"
  unsigned types = 0;
  bool trainable = false;
  std::string model_from;  // model loader whose node must feed this one ("SpacyNLP")
  // Components that need pretrained models trainyard cannot download are
  // refused before training; `alternative` says what to use instead.
  bool needs_pretrained_model = false;
  std::string alternative;
  // Component types that must run before this one (e.g. kTokenizer).
  unsigned requires_before = 0;
  std::vector<std::string> supported_languages;      // empty = any
  std::vector<std::string> not_supported_languages;

  bool is(unsigned type) const { return (types & type) != 0; }
  bool is_policy() const { return is(kPolicyWithoutEndToEnd | kPolicyWithEndToEnd); }
};

// The component registered under `name_or_path` (a name like "TEDPolicy" or a
// Rasa class path), or nullptr.
const ComponentInfo* FindComponent(std::string_view name_or_path);

// Every registered component, in registration order.
const std::vector<ComponentInfo>& AllComponents();

// The class path for `name` when it is registered, else `name` unchanged.
std::string ClassPathOf(const std::string& name);

// "Tokenizer", "Featurizer", ... for messages.
std::string ComponentTypeName(unsigned type);

}  // namespace trainyard::graph
