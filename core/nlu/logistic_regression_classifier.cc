// LogisticRegressionClassifier: Rasa's multinomial logistic regression over
// the sentence-level sparse features (scikit-learn's LogisticRegression with
// lbfgs, L2 with C = 1, balanced class weights), fitted here with L-BFGS.

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <numeric>
#include <set>

#include "core/nlu/components.h"
#include "core/nlu/nlu_component.h"
#include "core/util/errors.h"
#include "core/util/option_reader.h"

namespace trainyard::nlu {
namespace {

using Json = nlohmann::ordered_json;
constexpr const char* kFile = "logistic_regression.json";

// One example's sentence features, concatenated over featurizers.
struct Row {
  std::vector<std::pair<int64_t, float>> entries;
};

using Layout = FeatureLayout;

Row SentenceRow(const NluMessage& m, const Layout& layout) {
  Row row;
  AppendTextFeatureRow(m, layout, FeatureType::kSentence, 0, row.entries);
  return row;
}

// The options scikit-learn's LogisticRegression takes (as Rasa passes them on).
void ReadOptions(const util::OptionReader& r, int& max_iter, double& tol, int& ranking_length) {
  max_iter = r.Int("max_iter", 100, 1);
  tol = r.Real("tol", 1e-4, 0, util::OptionReader::kNoLimit);
  ranking_length = r.Int("ranking_length", 10, 0);
  r.Choice("solver", "lbfgs", {"lbfgs"});  // the only one trainyard implements
  uint64_t seed = 0;  // the fit is deterministic: checked, not used
  r.Seed("random_state", seed);
}

class LogisticRegressionClassifier : public NluComponent {
 public:
  LogisticRegressionClassifier(const Json& config, const std::optional<std::string>& resource,
                               const graph::ExecutionContext& c)
      : NluComponent("LogisticRegressionClassifier") {
    const util::OptionReader r(config, "LogisticRegressionClassifier");
    ReadOptions(r, max_iter_, tol_, ranking_length_);
    const Json json = ReadJsonResource(c, resource, kFile);
    if (!json.is_object() || json.empty()) return;
    labels_ = json.at("labels").get<std::vector<std::string>>();
    for (const Json& p : json.at("layout")) layout_.emplace_back(p.at(0).get<std::string>(), p.at(1).get<int>());
    width_ = json.at("width").get<int>();
    weights_ = json.at("weights").get<std::vector<double>>();
    if (weights_.size() != labels_.size() * static_cast<size_t>(width_ + 1))
      throw util::InvalidDataError({}, "The model's resource '" + *resource + "/" + kFile + "' is corrupt.");
  }

 protected:
  void Train(const NluTrainingData& data, const graph::ExecutionContext& c) override {
    std::vector<const NluMessage*> messages;
    std::set<std::string> intents;
    for (const NluMessage& m : data.messages) {
      if (m.data.text.empty() || m.data.intent.empty() || m.data.origin != data::MessageOrigin::kNluFile) continue;
      messages.push_back(&m);
      intents.insert(m.data.intent);
    }
    if (intents.size() < 2) {
      if (c.warn) c.warn("LogisticRegressionClassifier: it needs at least two intents to train; it will predict none.");
      WriteJsonResource(c, kFile, Json::object());
      return;
    }
    layout_ = TextFeatureLayout(messages, FeatureType::kSentence);
    width_ = 0;
    for (const auto& w : layout_) width_ += w.second;
    labels_.assign(intents.begin(), intents.end());
    std::map<std::string, int> index;
    for (size_t i = 0; i < labels_.size(); ++i) index[labels_[i]] = static_cast<int>(i);
    std::vector<Row> rows;
    std::vector<int> y;
    std::vector<double> counts(labels_.size(), 0);
    for (const NluMessage* m : messages) {
      rows.push_back(SentenceRow(*m, layout_));
      y.push_back(index.at(m->data.intent));
      ++counts[y.back()];
    }
    // Balanced class weights: n / (classes * count).
    std::vector<double> sample_weight(rows.size());
    for (size_t i = 0; i < rows.size(); ++i)
      sample_weight[i] = static_cast<double>(rows.size()) / (labels_.size() * counts[y[i]]);
    Fit(rows, y, sample_weight, c);
    Json json = {{"labels", labels_}, {"width", width_}, {"weights", weights_}};
    json["layout"] = Json::array();
    for (const auto& [origin, cols] : layout_) json["layout"].push_back({origin, cols});
    WriteJsonResource(c, kFile, json);
  }

  void Process(NluMessage& m, bool training, const graph::ExecutionContext&) const override {
    if (training || labels_.empty()) return;
    const std::vector<double> p = Probabilities(SentenceRow(m, layout_));
    std::vector<size_t> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
    const size_t keep = ranking_length_ > 0 ? std::min(order.size(), static_cast<size_t>(ranking_length_)) : order.size();
    Json ranking = Json::array();
    for (size_t i = 0; i < keep; ++i) ranking.push_back({{"name", labels_[order[i]]}, {"confidence", p[order[i]]}});
    m.intent = ranking[0];
    m.intent_ranking = ranking;
  }

 private:
  // Class scores then softmax; weights_ is [K, width + 1] (bias last).
  std::vector<double> Probabilities(const Row& row, const std::vector<double>& w) const {
    const size_t K = labels_.size(), W = static_cast<size_t>(width_) + 1;
    std::vector<double> z(K);
    for (size_t k = 0; k < K; ++k) {
      double s = w[k * W + W - 1];
      for (const auto& [j, v] : row.entries) s += w[k * W + j] * v;
      z[k] = s;
    }
    const double top = *std::max_element(z.begin(), z.end());
    double sum = 0;
    for (double& v : z) sum += (v = std::exp(v - top));
    for (double& v : z) v /= sum;
    return z;
  }
  std::vector<double> Probabilities(const Row& row) const { return Probabilities(row, weights_); }

  // scikit-learn's objective: sum_i w_i * CE_i + ||W||^2 / 2 (C = 1, bias free).
  double Objective(const std::vector<Row>& rows, const std::vector<int>& y, const std::vector<double>& sw,
                   const std::vector<double>& w, std::vector<double>& grad) const {
    const size_t K = labels_.size(), W = static_cast<size_t>(width_) + 1;
    grad.assign(w.size(), 0.0);
    double loss = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const std::vector<double> p = Probabilities(rows[i], w);
      loss -= sw[i] * std::log(std::max(p[y[i]], 1e-300));
      for (size_t k = 0; k < K; ++k) {
        const double d = sw[i] * (p[k] - (static_cast<int>(k) == y[i] ? 1.0 : 0.0));
        grad[k * W + W - 1] += d;
        for (const auto& [j, v] : rows[i].entries) grad[k * W + j] += d * v;
      }
    }
    for (size_t k = 0; k < K; ++k)
      for (size_t j = 0; j + 1 < W; ++j) {
        loss += 0.5 * w[k * W + j] * w[k * W + j];
        grad[k * W + j] += w[k * W + j];
      }
    return loss;
  }

  // L-BFGS (memory 10) with a backtracking Armijo line search.
  void Fit(const std::vector<Row>& rows, const std::vector<int>& y, const std::vector<double>& sw,
           const graph::ExecutionContext& c) {
    const size_t n = labels_.size() * (static_cast<size_t>(width_) + 1);
    std::vector<double> w(n, 0.0), g, g_new, direction(n);
    double f = Objective(rows, y, sw, w, g);
    std::deque<std::vector<double>> s_hist, y_hist;
    std::deque<double> rho;
    auto dot = [](const std::vector<double>& a, const std::vector<double>& b) {
      return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
    };
    for (int it = 0; it < max_iter_; ++it) {
      if (c.cancel) c.cancel->ThrowIfCancelled();
      double gmax = 0;
      for (double v : g) gmax = std::max(gmax, std::abs(v));
      if (gmax <= tol_) break;
      std::vector<double> q = g;
      std::vector<double> alpha(s_hist.size());
      for (size_t k = s_hist.size(); k-- > 0;) {
        alpha[k] = rho[k] * dot(s_hist[k], q);
        for (size_t j = 0; j < n; ++j) q[j] -= alpha[k] * y_hist[k][j];
      }
      const double gamma = s_hist.empty() ? 1.0 / std::max(1.0, std::sqrt(dot(g, g)))
                                          : dot(s_hist.back(), y_hist.back()) / dot(y_hist.back(), y_hist.back());
      for (size_t j = 0; j < n; ++j) q[j] *= gamma;
      for (size_t k = 0; k < s_hist.size(); ++k) {
        const double beta = rho[k] * dot(y_hist[k], q);
        for (size_t j = 0; j < n; ++j) q[j] += s_hist[k][j] * (alpha[k] - beta);
      }
      for (size_t j = 0; j < n; ++j) direction[j] = -q[j];
      double slope = dot(g, direction);
      if (slope >= 0) {  // not a descent direction: restart from the gradient
        s_hist.clear(), y_hist.clear(), rho.clear();
        for (size_t j = 0; j < n; ++j) direction[j] = -g[j];
        slope = -dot(g, g);
      }
      double step = 1.0, f_new = f;
      std::vector<double> w_new(n);
      for (int tries = 0; tries < 30; ++tries, step *= 0.5) {
        for (size_t j = 0; j < n; ++j) w_new[j] = w[j] + step * direction[j];
        f_new = Objective(rows, y, sw, w_new, g_new);
        if (f_new <= f + 1e-4 * step * slope) break;
      }
      std::vector<double> s(n), yy(n);
      for (size_t j = 0; j < n; ++j) s[j] = w_new[j] - w[j], yy[j] = g_new[j] - g[j];
      const double sy = dot(s, yy);
      if (sy > 1e-10) {
        s_hist.push_back(std::move(s));
        y_hist.push_back(std::move(yy));
        rho.push_back(1.0 / sy);
        if (s_hist.size() > 10) s_hist.pop_front(), y_hist.pop_front(), rho.pop_front();
      }
      const bool converged = std::abs(f - f_new) <= tol_ * std::max({std::abs(f), std::abs(f_new), 1.0});
      w.swap(w_new);
      g.swap(g_new);
      f = f_new;
      if (c.progress) c.progress(graph::Progress{it + 1, max_iter_, {{"loss", f}}});
      if (converged) break;
    }
    weights_ = std::move(w);
  }

  int max_iter_ = 100;
  double tol_ = 1e-4;
  int ranking_length_ = 10;
  Layout layout_;
  int width_ = 0;
  std::vector<std::string> labels_;
  std::vector<double> weights_;
};

}  // namespace

void RegisterLogisticRegressionClassifier() {
  RegisterNluComponent<LogisticRegressionClassifier>(
      "LogisticRegressionClassifier",
      {{"max_iter", 100}, {"solver", "lbfgs"}, {"tol", 0.0001}, {"random_state", 42}, {"ranking_length", 10}}, "1",
      [](const Json& config) {
        int max_iter = 0, ranking_length = 0;
        double tol = 0;
        ReadOptions(util::OptionReader(config, "LogisticRegressionClassifier"), max_iter, tol, ranking_length);
      });
}

}  // namespace trainyard::nlu
