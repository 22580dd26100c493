#pragma once

// The graph model of a training or prediction run (SPEC §4.4): an ordered map
// from node name to node. A value type; copy freely, share read-only.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace trainyard::graph {

using Json = nlohmann::ordered_json;

// Inputs that come from outside the graph rather than from a node.
inline constexpr const char* kImporterPlaceholder = "__importer__";
inline constexpr const char* kMessagePlaceholder = "__message__";
inline constexpr const char* kTrackerPlaceholder = "__tracker__";
bool IsPlaceholder(const std::string& name);

struct SchemaNode {
  // Parameter name → parent node name (or placeholder), in declaration order.
  std::vector<std::pair<std::string, std::string>> needs;
  // The component: a registered name ("DIETClassifier") or, for unknown
  // components, the name as written.
  std::string uses;
  std::string constructor_name = "create";  // "create" (fresh) or "load" (from a resource)
  std::string fn;                           // "train", "process", "provide", ...
  Json config = Json::object();             // user config only; defaults merge at run time
  bool eager = false;
  bool is_target = false;
  bool is_input = false;
  std::optional<std::string> resource;  // resource name to load from

  // The parent feeding parameter `param`, or nullptr.
  const std::string* Need(const std::string& param) const;
  void SetNeed(const std::string& param, const std::string& parent);
  bool operator==(const SchemaNode& other) const;
};

class GraphSchema {
 public:
  // Adds or replaces `name`, keeping first-insertion order.
  void Set(const std::string& name, SchemaNode node);
  bool Has(const std::string& name) const { return index_.count(name) > 0; }
  const SchemaNode& at(const std::string& name) const;
  SchemaNode& at(const std::string& name);
  const std::vector<std::pair<std::string, SchemaNode>>& nodes() const { return nodes_; }
  size_t size() const { return nodes_.size(); }
  bool empty() const { return nodes_.empty(); }

  std::vector<std::string> TargetNames() const;
  // `targets` and all their transitive parents, in this schema's order.
  GraphSchema Minimal(const std::vector<std::string>& targets) const;

  // {"nodes": {name: {needs, uses, constructor_name, fn, config, eager,
  // is_target, is_input, resource}}} with `uses` as Rasa's class path, the
  // form stored in metadata.json.
  Json ToJson() const;
  // Reads that form (graph.v1 configs, metadata.json). Throws
  // util::InvalidConfigError naming the node and field on a malformed entry.
  static GraphSchema FromJson(const Json& json);

  bool operator==(const GraphSchema& other) const { return nodes_ == other.nodes_; }

 private:
  std::vector<std::pair<std::string, SchemaNode>> nodes_;
  std::map<std::string, size_t> index_;
};

}  // namespace trainyard::graph
