// The runner and GraphTrainer on toy components: what runs, what is cached,
// what is restored (SPEC §10 scenarios 25–31, 48).

#include "core/graph/trainer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "core/util/errors.h"
#include "tests/support/test_helpers.h"

namespace fs = std::filesystem;

namespace trainyard::graph {
namespace {

using Json = nlohmann::ordered_json;

// Counts how often each toy component really ran.
struct Calls {
  std::mutex mutex;
  std::map<std::string, int> count;
  void Add(const std::string& node) {
    std::lock_guard<std::mutex> lock(mutex);
    ++count[node];
  }
  int Of(const std::string& node) {
    std::lock_guard<std::mutex> lock(mutex);
    return count[node];
  }
};
Calls& TheCalls() {
  static Calls calls;
  return calls;
}

// "toy.Input": an input node reading a number from a placeholder, with a content fingerprint.
// "toy.Add": adds config["x"] to its "value" input (not cacheable: content output).
// "toy.Train": writes value into a resource (cacheable), output = Resource.
// "toy.Use": reads the resource of its "resource" input, adds its "value" input.
class Toy : public Component {
 public:
  Toy(std::string kind, Json config, std::optional<std::string> resource)
      : kind_(std::move(kind)), config_(std::move(config)), resource_(std::move(resource)) {}

  Output Run(const std::string&, const Inputs& in, const ExecutionContext& c) override {
    TheCalls().Add(c.node_name);
    if (config_.value("fail", false)) throw std::runtime_error("boom");
    if (config_.value("sleep_ms", 0) > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(config_.value("sleep_ms", 0)));
    if (c.cancel) c.cancel->ThrowIfCancelled();
    if (config_.contains("barrier")) {
      // Waits until `barrier` nodes are inside at once (or 10 s pass):
      // reachable only when they run in parallel.
      static std::atomic<int> inside{0};
      const int want = config_["barrier"].get<int>();
      ++inside;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (inside.load() < want && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      const int reached = inside.load() >= want ? 1 : 0;
      return {reached, FingerprintJson(reached), std::nullopt};
    }
    if (kind_ == "input") {
      const int v = std::any_cast<int>(in.at("seed").value);
      return {v, FingerprintJson(v), std::nullopt};
    }
    const int value = in.count("value") ? std::any_cast<int>(in.at("value").value) : 0;
    if (kind_ == "add") {
      const int v = value + config_.value("x", 0);
      return {v, FingerprintJson(v), std::nullopt};
    }
    if (kind_ == "train") {
      std::ofstream(c.storage->WriteTo(c.node_name) / "v") << value + config_.value("x", 0);
      return {Resource{c.node_name}, RandomFingerprint(), c.node_name};
    }
    int stored = 0;
    std::ifstream(c.storage->ReadFrom(*resource_) / "v") >> stored;
    return {stored + value, FingerprintJson(stored + value), std::nullopt};
  }

 private:
  std::string kind_;
  Json config_;
  std::optional<std::string> resource_;
};

void RegisterToys() {
  for (const char* kind : {"input", "add", "train", "use"}) {
    ComponentImplementation impl;
    impl.make = [kind](const Json& config, const std::optional<std::string>& resource, const ExecutionContext&) {
      return std::make_unique<Toy>(kind, config, resource);
    };
    RegisterImplementation(std::string("toy.") + kind, impl);
  }
}

SchemaNode Node(const char* kind, std::vector<std::pair<std::string, std::string>> needs, Json config = Json::object(),
                bool target = false, bool input = false) {
  SchemaNode n;
  n.uses = std::string("toy.") + kind;
  n.needs = std::move(needs);
  n.config = std::move(config);
  n.fn = "run";
  n.is_target = target;
  n.is_input = input;
  return n;
}

// input → add → train(target) ; use(target) needs train's resource + add's value.
GraphSchema ToySchema(int add_x = 1, int train_x = 10) {
  GraphSchema s;
  s.Set("input", Node("input", {{"seed", kImporterPlaceholder}}, Json::object(), false, true));
  s.Set("add", Node("add", {{"value", "input"}}, {{"x", add_x}}));
  s.Set("train", Node("train", {{"value", "add"}}, {{"x", train_x}}, true));
  SchemaNode use = Node("use", {{"resource", "train"}, {"value", "add"}}, Json::object(), true);
  s.Set("use", use);
  return s;
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterToys();
    TheCalls().count.clear();
    CacheOptions o;
    o.directory = dir_.path() / "cache";
    o.version = "0.1.0";
    cache_ = TrainingCache::Open(o);
  }
  TrainingRun Train(const GraphSchema& schema, int seed = 5, bool force = false,
                    std::vector<TrainingEvent>* events = nullptr) {
    storage::ModelStorage storage(dir_.path() / ("storage" + std::to_string(run_++)));
    GraphTrainer trainer(storage, *cache_);
    TrainerOptions options;
    options.force = force;
    std::mutex m;
    if (events) options.on_event = [&](const TrainingEvent& e) { std::lock_guard<std::mutex> l(m); events->push_back(e); };
    TrainingRun run = trainer.Train(schema, {{kImporterPlaceholder, Output{seed, RandomFingerprint(), {}}}}, options);
    last_use_ = std::any_cast<int>(run.outputs.at("use").value);
    return run;
  }
  testing::TempDir dir_;
  std::unique_ptr<TrainingCache> cache_;
  int run_ = 0;
  int last_use_ = 0;
};

TEST_F(TrainerTest, FirstRunExecutesEveryNodeOnce) {
  Train(ToySchema());
  EXPECT_EQ(last_use_, (5 + 1 + 10) + (5 + 1));
  for (const char* n : {"input", "add", "train", "use"}) EXPECT_EQ(TheCalls().Of(n), 1) << n;
}

TEST_F(TrainerTest, UnchangedRetrainRestoresFromTheCache) {
  Train(ToySchema());
  TheCalls().count.clear();
  std::vector<TrainingEvent> events;
  const TrainingRun run = Train(ToySchema(), 5, false, &events);
  EXPECT_EQ(last_use_, 22);
  EXPECT_EQ(TheCalls().Of("train"), 0);
  EXPECT_EQ(run.restored, (std::vector<std::string>{"train"}));
  bool restored_message = false;
  for (const auto& e : events) restored_message |= e.message == "Restored component 'toy.train' from cache.";
  EXPECT_TRUE(restored_message);
  // `use` is a content node (not cacheable) and needed: it runs again; input ran in the fingerprint pass.
  EXPECT_EQ(TheCalls().Of("use"), 1);
  EXPECT_EQ(TheCalls().Of("input"), 1);
}

TEST_F(TrainerTest, ConfigChangeRetrainsTheNodeAndItsDescendantsOnly) {
  Train(ToySchema());
  TheCalls().count.clear();
  Train(ToySchema(1, 20));  // only train's config changed
  EXPECT_EQ(TheCalls().Of("train"), 1);
  EXPECT_EQ(last_use_, (5 + 1 + 20) + 6);
}

TEST_F(TrainerTest, InputChangeRetrainsEverythingDownstream) {
  Train(ToySchema());
  TheCalls().count.clear();
  Train(ToySchema(), 7);
  EXPECT_EQ(TheCalls().Of("train"), 1);
  EXPECT_EQ(TheCalls().Of("add"), 1);
  EXPECT_EQ(last_use_, (7 + 1 + 10) + 8);
}

TEST_F(TrainerTest, ForceRunsEverything) {
  Train(ToySchema());
  TheCalls().count.clear();
  const TrainingRun run = Train(ToySchema(), 5, true);
  EXPECT_TRUE(run.restored.empty());
  EXPECT_EQ(TheCalls().Of("train"), 1);
  EXPECT_EQ(TheCalls().Of("input"), 1);  // no fingerprint pass
}

TEST_F(TrainerTest, FingerprintPassReportsHitsAndMisses) {
  storage::ModelStorage storage(dir_.path() / "s");
  GraphTrainer trainer(storage, *cache_);
  const std::map<std::string, Output> in = {{kImporterPlaceholder, Output{5, RandomFingerprint(), {}}}};
  auto statuses = trainer.FingerprintPass(ToySchema(), in, {});
  EXPECT_FALSE(statuses.at("train").is_hit);
  EXPECT_FALSE(statuses.count("input"));  // input nodes have no status
  Train(ToySchema());
  statuses = trainer.FingerprintPass(ToySchema(), in, {});
  EXPECT_TRUE(statuses.at("add").is_hit);
  EXPECT_TRUE(statuses.at("train").is_hit);
  EXPECT_TRUE(statuses.at("use").is_hit);
  statuses = trainer.FingerprintPass(ToySchema(2), in, {});
  EXPECT_FALSE(statuses.at("add").is_hit);
  EXPECT_FALSE(statuses.at("use").is_hit);  // a miss poisons descendants
}

TEST_F(TrainerTest, RestoredResourceKeepsItsFingerprintSoChildrenKeepTheirKeys) {
  Train(ToySchema());
  storage::ModelStorage storage(dir_.path() / "s");
  GraphTrainer trainer(storage, *cache_);
  const std::map<std::string, Output> in = {{kImporterPlaceholder, Output{5, RandomFingerprint(), {}}}};
  const auto first = trainer.FingerprintPass(ToySchema(), in, {});
  Train(ToySchema());
  const auto second = trainer.FingerprintPass(ToySchema(), in, {});
  EXPECT_EQ(first.at("train").output_fingerprint, second.at("train").output_fingerprint);
  EXPECT_EQ(first.at("use").output_fingerprint, second.at("use").output_fingerprint);
}

TEST_F(TrainerTest, FailingNodeStopsTheRunWithItsName) {
  GraphSchema s = ToySchema();
  s.at("train").config["fail"] = true;
  try {
    Train(s);
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Error running graph component for node 'train'"), std::string::npos) << e.what();
  }
  EXPECT_EQ(TheCalls().Of("use"), 0);
}

TEST(Runner, IndependentNodesRunInParallel) {
  RegisterToys();
  testing::TempDir dir;
  GraphSchema s;
  s.Set("input", Node("input", {{"seed", kImporterPlaceholder}}, Json::object(), false, true));
  for (int i = 0; i < 4; ++i)
    s.Set("node" + std::to_string(i), Node("add", {{"value", "input"}}, {{"barrier", 4}}, true));
  storage::ModelStorage storage(dir.path());
  RunnerOptions options;
  options.threads = 4;
  const auto out = RunGraph(s, storage, {{kImporterPlaceholder, Output{1, "x", {}}}}, options, {});
  ASSERT_EQ(out.size(), 5u);
  // Each node waits for all four to be running at once.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(std::any_cast<int>(out.at("node" + std::to_string(i)).value), 1) << i;
}

TEST(Runner, CancellationStopsBeforeTheNextNode) {
  RegisterToys();
  testing::TempDir dir;
  GraphSchema s;
  s.Set("input", Node("input", {{"seed", kImporterPlaceholder}}, Json::object(), false, true));
  s.Set("a", Node("add", {{"value", "input"}}, {{"sleep_ms", 200}}));
  s.Set("b", Node("add", {{"value", "a"}}, Json::object(), true));
  storage::ModelStorage storage(dir.path());
  CancellationToken token;
  RunnerOptions options;
  options.cancel = &token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    token.Cancel();
  });
  EXPECT_THROW(RunGraph(s, storage, {{kImporterPlaceholder, Output{1, "x", {}}}}, options, {}), util::CancelledError);
  canceller.join();
}

TEST(Runner, InputNamedLikeANodeIsRefused) {
  RegisterToys();
  testing::TempDir dir;
  GraphSchema s;
  s.Set("input", Node("input", {{"seed", kImporterPlaceholder}}, Json::object(), true, true));
  storage::ModelStorage storage(dir.path());
  EXPECT_THROW(RunGraph(s, storage, {{"input", Output{1, "x", {}}}, {kImporterPlaceholder, Output{1, "x", {}}}}, {}, {}),
               util::Error);
}

}  // namespace
}  // namespace trainyard::graph

namespace trainyard::graph {
namespace {

TEST(FingerprintKey, StableForSameInputsAndDifferentOtherwise) {
  RegisterToys();
  const SchemaNode node = Node("add", {{"value", "input"}}, {{"x", 1}});
  const Inputs in = {{"value", Output{1, "fp-a", {}}}};
  const std::string key = FingerprintKey(node, {{"x", 1}}, in);
  EXPECT_EQ(key, FingerprintKey(node, {{"x", 1}}, in));
  EXPECT_NE(key, FingerprintKey(node, {{"x", 2}}, in));                              // config
  EXPECT_NE(key, FingerprintKey(node, {{"x", 1}}, {{"value", Output{1, "fp-b", {}}}}));  // input
  SchemaNode other = node;
  other.uses = "toy.train";
  EXPECT_NE(key, FingerprintKey(other, {{"x", 1}}, in));  // component
  ComponentImplementation v2 = *FindImplementation("toy.add");
  v2.version = "2";
  RegisterImplementation("toy.add", v2);
  EXPECT_NE(key, FingerprintKey(node, {{"x", 1}}, in));  // implementation version
  v2.version = "1";
  RegisterImplementation("toy.add", v2);
}

}  // namespace
}  // namespace trainyard::graph
