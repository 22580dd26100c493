#pragma once

// Reading a component's config with Rasa's option names: each value may be
// null (the default applies) or must have the right type; a wrong value is
// refused with the component's name and the key.

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "core/util/errors.h"

namespace trainyard::ml {

// The similarity loss's options (DIET and TED; see DotProductLoss).
struct SimilarityOptions {
  int negatives = 20;
  std::string loss_type = "cross_entropy";  // or "margin"
  std::string similarity_type = "inner";    // or "cosine"
  double maximum_positive_similarity = 0.8;
  double maximum_negative_similarity = -0.4;
  bool use_maximum_negative_similarity = true;
  double negative_margin_scale = 0.8;
  bool scale_loss = false;
  bool constrain_similarities = false;
  std::string model_confidence = "softmax";  // or "linear_norm"
};

class OptionReader {
 public:
  using Json = nlohmann::ordered_json;
  OptionReader(const Json& config, std::string component) : c_(config), name_(std::move(component)) {}

  util::InvalidConfigError Error(const std::string& what) const { return util::InvalidConfigError(name_ + ": " + what); }

  template <typename T>
  T Num(const char* key, T fallback) const {
    const Json& v = Get(key);
    if (v.is_null()) return fallback;
    if (!v.is_number()) throw Error(std::string("'") + key + "' must be a number.");
    return v.get<T>();
  }
  bool Flag(const char* key, bool fallback) const {
    const Json& v = Get(key);
    if (v.is_null()) return fallback;
    if (!v.is_boolean()) throw Error(std::string("'") + key + "' must be true or false.");
    return v.get<bool>();
  }
  std::string Choice(const char* key, const std::string& fallback, const std::set<std::string>& allowed) const {
    const Json& v = Get(key);
    if (v.is_null()) return fallback;
    if (!v.is_string() || !allowed.count(v.get<std::string>())) {
      std::string list;
      for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw Error(std::string("'") + key + "' must be one of: " + list + ".");
    }
    return v.get<std::string>();
  }
  // `batch_size`: an integer, or [first, last] growing over the epochs.
  void BatchSize(int& first, int& last) const {
    const Json& bs = Get("batch_size");
    if (bs.is_number_integer()) first = last = bs.get<int>();
    else if (bs.is_array() && bs.size() == 2 && bs[0].is_number_integer() && bs[1].is_number_integer()) {
      first = bs[0].get<int>();
      last = bs[1].get<int>();
    } else if (!bs.is_null()) {
      throw Error("'batch_size' must be an integer or a list of two integers.");
    }
    if (first <= 0 || last <= 0) throw Error("'batch_size' must be positive.");
  }

  // The similarity loss's options; the defaults that differ between models are arguments.
  SimilarityOptions Similarity(double maximum_negative_similarity, bool scale_loss) const {
    SimilarityOptions s;
    s.negatives = Num("number_of_negative_examples", 20);
    s.loss_type = Choice("loss_type", "cross_entropy", {"cross_entropy", "margin"});
    const std::string similarity = Choice("similarity_type", "auto", {"auto", "inner", "cosine"});
    s.similarity_type = similarity != "auto" ? similarity : s.loss_type == "margin" ? "cosine" : "inner";
    s.maximum_positive_similarity = Num("maximum_positive_similarity", 0.8);
    s.maximum_negative_similarity = Num("maximum_negative_similarity", maximum_negative_similarity);
    s.use_maximum_negative_similarity = Flag("use_maximum_negative_similarity", true);
    s.negative_margin_scale = Num("negative_margin_scale", 0.8);
    s.scale_loss = Flag("scale_loss", scale_loss);
    s.constrain_similarities = Flag("constrain_similarities", false);
    s.model_confidence = Choice("model_confidence", "softmax", {"softmax", "linear_norm"});
    return s;
  }

  const Json& Get(const char* key) const {
    static const Json null;
    return c_.contains(key) ? c_.at(key) : null;
  }

 private:
  const Json& c_;
  std::string name_;
};

}  // namespace trainyard::ml
