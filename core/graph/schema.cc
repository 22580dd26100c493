#include "core/graph/schema.h"

#include <set>

#include "core/graph/registry.h"
#include "core/util/errors.h"

namespace trainyard::graph {

bool IsPlaceholder(const std::string& name) {
  return name == kImporterPlaceholder || name == kMessagePlaceholder || name == kTrackerPlaceholder;
}

const std::string* SchemaNode::Need(const std::string& param) const {
  for (const auto& [p, parent] : needs)
    if (p == param) return &parent;
  return nullptr;
}

void SchemaNode::SetNeed(const std::string& param, const std::string& parent) {
  for (auto& [p, existing] : needs) {
    if (p == param) {
      existing = parent;
      return;
    }
  }
  needs.emplace_back(param, parent);
}

bool SchemaNode::operator==(const SchemaNode& o) const {
  return needs == o.needs && uses == o.uses && constructor_name == o.constructor_name && fn == o.fn &&
         config == o.config && eager == o.eager && is_target == o.is_target && is_input == o.is_input &&
         resource == o.resource;
}

void GraphSchema::Set(const std::string& name, SchemaNode node) {
  auto it = index_.find(name);
  if (it != index_.end()) {
    nodes_[it->second].second = std::move(node);
    return;
  }
  index_[name] = nodes_.size();
  nodes_.emplace_back(name, std::move(node));
}

const SchemaNode& GraphSchema::at(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw util::NotFoundError("The graph has no node '" + name + "'.");
  return nodes_[it->second].second;
}

SchemaNode& GraphSchema::at(const std::string& name) {
  return const_cast<SchemaNode&>(static_cast<const GraphSchema&>(*this).at(name));
}

std::vector<std::string> GraphSchema::TargetNames() const {
  std::vector<std::string> out;
  for (const auto& [name, node] : nodes_)
    if (node.is_target) out.push_back(name);
  return out;
}

GraphSchema GraphSchema::Minimal(const std::vector<std::string>& targets) const {
  std::set<std::string> keep;
  std::vector<std::string> todo(targets.begin(), targets.end());
  while (!todo.empty()) {
    const std::string name = todo.back();
    todo.pop_back();
    if (!Has(name) || !keep.insert(name).second) continue;
    for (const auto& need : at(name).needs)
      if (!IsPlaceholder(need.second)) todo.push_back(need.second);
  }
  GraphSchema out;
  for (const auto& [name, node] : nodes_)
    if (keep.count(name)) out.Set(name, node);
  return out;
}

Json GraphSchema::ToJson() const {
  Json nodes = Json::object();
  for (const auto& [name, node] : nodes_) {
    Json needs = Json::object();
    for (const auto& [param, parent] : node.needs) needs[param] = parent;
    nodes[name] = {{"needs", needs},
                   {"uses", ClassPathOf(node.uses)},
                   {"constructor_name", node.constructor_name},
                   {"fn", node.fn},
                   {"config", node.config},
                   {"eager", node.eager},
                   {"is_target", node.is_target},
                   {"is_input", node.is_input},
                   {"resource", node.resource ? Json{{"name", *node.resource}} : Json()}};
  }
  return {{"nodes", nodes}};
}

GraphSchema GraphSchema::FromJson(const Json& json) {
  if (!json.is_object() || !json.contains("nodes") || !json["nodes"].is_object())
    throw util::InvalidConfigError("A graph schema must be a mapping with a 'nodes' mapping.");
  GraphSchema schema;
  for (const auto& item : json["nodes"].items()) {
    // Named references, not a structured binding: C++17 lets lambdas capture
    // only variables (clang refuses the bindings; the fuzz build uses clang).
    const std::string& name = item.key();
    const Json& j = item.value();
    auto field = [&](const char* key) -> const Json& {
      if (!j.is_object() || !j.contains(key))
        throw util::InvalidConfigError("Node '" + name + "' of the graph schema has no '" + key + "'.");
      return j[key];
    };
    auto text = [&](const char* key) {
      const Json& v = field(key);
      if (!v.is_string())
        throw util::InvalidConfigError("'" + std::string(key) + "' of node '" + name + "' must be a string.");
      return v.get<std::string>();
    };
    SchemaNode node;
    const Json& needs = field("needs");
    if (!needs.is_object())
      throw util::InvalidConfigError("'needs' of node '" + name + "' must be a mapping.");
    for (const auto& [param, parent] : needs.items()) {
      if (!parent.is_string())
        throw util::InvalidConfigError("Need '" + param + "' of node '" + name + "' must name a node.");
      node.needs.emplace_back(param, parent.get<std::string>());
    }
    const std::string uses = text("uses");
    const ComponentInfo* info = FindComponent(uses);
    node.uses = info ? info->name : uses;
    node.constructor_name = j.value("constructor_name", std::string("create"));
    node.fn = text("fn");
    node.config = j.contains("config") && j["config"].is_object() ? j["config"] : Json::object();
    node.eager = j.value("eager", false);
    node.is_target = j.value("is_target", false);
    node.is_input = j.value("is_input", false);
    if (j.contains("resource") && j["resource"].is_object() && j["resource"].contains("name"))
      node.resource = j["resource"]["name"].get<std::string>();
    schema.Set(name, std::move(node));
  }
  return schema;
}

}  // namespace trainyard::graph
