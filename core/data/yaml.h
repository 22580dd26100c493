#pragma once

// A small YAML document model with source positions, built on libyaml's event
// parser. It exists because the importer needs what general YAML libraries do
// not give together: line and column for every node, duplicate-key errors,
// YAML 1.2 scalar resolution (as Rasa's ruamel reader uses: `yes` is a string,
// `3.1` a float), and hard limits so hostile input (alias bombs, deep nesting,
// invalid UTF-8) ends in an error instead of a crash or a hang.
//
// Only core/data's readers include this header.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/util/diagnostics.h"

namespace trainyard::data::yaml {

enum class NodeKind { kScalar, kSequence, kMapping };
enum class ScalarStyle { kPlain, kSingleQuoted, kDoubleQuoted, kLiteral, kFolded };
// The type a scalar resolves to under the YAML 1.2 core schema.
enum class ScalarType { kNull, kBool, kInt, kFloat, kString };

class Node;
using NodePtr = std::shared_ptr<const Node>;

// An immutable node. Aliases share the anchored node, so a document is a DAG;
// `weight` (nodes in the subtree, aliases expanded) is bounded at parse time,
// which bounds any full traversal.
class Node {
 public:
  NodeKind kind = NodeKind::kScalar;
  int line = 0;    // 1-based line of the node's first character
  int column = 0;  // 1-based column
  std::string tag;

  // Scalars.
  std::string value;
  ScalarStyle style = ScalarStyle::kPlain;
  ScalarType type = ScalarType::kNull;

  std::vector<NodePtr> items;                          // sequences
  std::vector<std::pair<NodePtr, NodePtr>> entries;  // mappings, in file order

  size_t weight = 1;
  int depth = 0;  // nesting depth of the deepest descendant below this node

  bool IsNull() const { return kind == NodeKind::kScalar && type == ScalarType::kNull; }
  bool IsScalar() const { return kind == NodeKind::kScalar; }
  bool IsString() const { return kind == NodeKind::kScalar && type == ScalarType::kString; }
  bool IsBool() const { return kind == NodeKind::kScalar && type == ScalarType::kBool; }
  bool IsNumber() const {
    return kind == NodeKind::kScalar && (type == ScalarType::kInt || type == ScalarType::kFloat);
  }
  bool IsMap() const { return kind == NodeKind::kMapping; }
  bool IsSeq() const { return kind == NodeKind::kSequence; }
  bool AsBool() const { return value == "true" || value == "True" || value == "TRUE"; }
  double AsDouble() const;

  // The value of `key` in a mapping, or nullptr (also for non-mappings).
  const Node* Get(std::string_view key) const;
  // Position of `key` itself in a mapping (for "unknown key" messages).
  const Node* GetKey(std::string_view key) const;

  // "a string", "a number", "a list", "a mapping", "null", ...
  std::string Describe() const;
  // Converts to JSON, keeping key order and scalar types.
  nlohmann::ordered_json ToJson() const;
};

struct ParseOptions {
  // Deepest nesting of collections accepted.
  int max_depth = 128;
  // Largest number of nodes a document may expand to, aliases counted each
  // time they are used.
  size_t max_nodes = 4'000'000;
};

// Parses exactly one YAML document from `text` (a file's content; `file` is
// used in messages). Returns a null scalar for an empty document. Throws
// util::InvalidDataError naming file, line and column for syntax errors,
// invalid UTF-8, duplicate mapping keys, undefined aliases, more than one
// document, and documents beyond `options`.
NodePtr Parse(std::string_view text, const std::string& file,
              const ParseOptions& options = {});

// The location of `node` in `file`.
inline util::SourceLocation Where(const std::string& file, const Node& node) {
  return {file, node.line, node.column};
}

}  // namespace trainyard::data::yaml
