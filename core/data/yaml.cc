#include "core/data/yaml.h"

#include <yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "core/util/errors.h"
#include "core/util/strings.h"

namespace trainyard::data::yaml {
namespace {

using util::StartsWith;

bool AllOf(std::string_view s, size_t from, const char* set) {
  if (from >= s.size()) return false;
  return s.find_first_not_of(set, from) == std::string_view::npos;
}

bool IsCoreInt(std::string_view s) {
  if (StartsWith(s, "0o")) return AllOf(s, 2, "01234567");
  if (StartsWith(s, "0x")) return AllOf(s, 2, "0123456789abcdefABCDEF");
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  return AllOf(s, i, "0123456789");
}

bool IsCoreFloat(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  const std::string_view rest = s.substr(i);
  if (rest == ".inf" || rest == ".Inf" || rest == ".INF") return true;
  if (i == 0 && (rest == ".nan" || rest == ".NaN" || rest == ".NAN")) return true;
  size_t digits = 0;
  bool dot = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    dot = true;
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  bool exponent = false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (!AllOf(s, i, "0123456789")) return false;
    exponent = true;
    i = s.size();
  }
  return i == s.size() && (dot || exponent);
}

ScalarType ResolvePlain(std::string_view v) {
  if (v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL") return ScalarType::kNull;
  if (v == "true" || v == "True" || v == "TRUE" || v == "false" || v == "False" || v == "FALSE")
    return ScalarType::kBool;
  if (IsCoreInt(v)) return ScalarType::kInt;
  if (IsCoreFloat(v)) return ScalarType::kFloat;
  return ScalarType::kString;
}

ScalarType ResolveTagged(const std::string& tag, std::string_view v, bool plain) {
  if (tag == "tag:yaml.org,2002:str" || tag == "!") return ScalarType::kString;
  if (tag == "tag:yaml.org,2002:null") return ScalarType::kNull;
  if (tag == "tag:yaml.org,2002:bool") return ScalarType::kBool;
  if (tag == "tag:yaml.org,2002:int") return ScalarType::kInt;
  if (tag == "tag:yaml.org,2002:float") return ScalarType::kFloat;
  return plain ? ResolvePlain(v) : ScalarType::kString;
}

// Owns a libyaml parser for the duration of one Parse call.
class Parser {
 public:
  Parser(std::string_view text, const std::string& file, const ParseOptions& options)
      : file_(file), options_(options) {
    yaml_parser_initialize(&parser_);
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
  }
  ~Parser() { yaml_parser_delete(&parser_); }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  NodePtr Run();

 private:
  struct Frame {
    std::shared_ptr<Node> node;
    std::string anchor;
    std::set<std::string> keys;   // scalar keys seen so far (mappings)
    NodePtr pending_key;          // a key waiting for its value (mappings)
  };

  [[noreturn]] void Fail(int line, int column, const std::string& message) const {
    throw util::InvalidDataError({file_, line, column}, "Failed to read '" + file_ + "'. " + message);
  }
  [[noreturn]] void FailParser() const;
  void Next(yaml_event_t* event);
  void Attach(const NodePtr& node, const std::string& anchor, int line, int column);
  std::shared_ptr<Node> StartNode(NodeKind kind, const yaml_mark_t& mark, const yaml_char_t* tag);
  void MergeKeys(Node& mapping);

  yaml_parser_t parser_;
  std::string file_;
  ParseOptions options_;
  std::vector<Frame> stack_;
  std::map<std::string, NodePtr> anchors_;
  NodePtr root_;
  size_t total_nodes_ = 0;
};

void Parser::FailParser() const {
  const char* problem = parser_.problem ? parser_.problem : "unknown YAML error";
  std::string message = problem;
  if (parser_.context) message = std::string(parser_.context) + ": " + message;
  const yaml_mark_t& mark = parser_.problem_mark;
  int line = static_cast<int>(mark.line) + 1;
  int column = static_cast<int>(mark.column) + 1;
  if (parser_.error == YAML_READER_ERROR) {
    // Reader errors carry a byte offset only; the line is unknown to libyaml.
    message += " (at byte " + std::to_string(parser_.problem_offset) + ")";
    line = 0;
    column = 0;
    if (std::string(problem).find("UTF-8") != std::string::npos ||
        std::string(problem).find("control characters") != std::string::npos)
      message = "The file is not valid UTF-8 text: " + message;
  }
  Fail(line, column, message + ".");
}

void Parser::Next(yaml_event_t* event) {
  if (!yaml_parser_parse(&parser_, event)) FailParser();
}

std::shared_ptr<Node> Parser::StartNode(NodeKind kind, const yaml_mark_t& mark,
                                        const yaml_char_t* tag) {
  auto node = std::make_shared<Node>();
  node->kind = kind;
  node->line = static_cast<int>(mark.line) + 1;
  node->column = static_cast<int>(mark.column) + 1;
  if (tag) node->tag = reinterpret_cast<const char*>(tag);
  if (++total_nodes_ > options_.max_nodes)
    Fail(node->line, node->column,
         "The document has more than " + std::to_string(options_.max_nodes) + " nodes.");
  return node;
}

void Parser::MergeKeys(Node& mapping) {
  std::vector<std::pair<NodePtr, NodePtr>> kept;
  std::vector<NodePtr> sources;
  for (auto& entry : mapping.entries) {
    if (entry.first->IsScalar() && entry.first->style == ScalarStyle::kPlain &&
        entry.first->value == "<<") {
      if (entry.second->IsMap()) sources.push_back(entry.second);
      else if (entry.second->IsSeq())
        for (const NodePtr& item : entry.second->items) sources.push_back(item);
    } else {
      kept.push_back(entry);
    }
  }
  if (sources.empty()) return;
  for (const NodePtr& source : sources) {
    if (!source->IsMap())
      Fail(source->line, source->column, "A merge key '<<' must refer to a mapping.");
    for (const auto& entry : source->entries) {
      bool present = false;
      for (const auto& k : kept)
        if (k.first->IsScalar() && k.first->value == entry.first->value) present = true;
      if (!present) kept.push_back(entry);
    }
  }
  mapping.entries = std::move(kept);
}

void Parser::Attach(const NodePtr& node, const std::string& anchor, int line, int column) {
  if (!anchor.empty()) anchors_[anchor] = node;
  if (stack_.empty()) {
    root_ = node;
    return;
  }
  Frame& parent = stack_.back();
  auto* p = const_cast<Node*>(parent.node.get());
  p->weight += node->weight;
  p->depth = std::max(p->depth, node->depth + 1);
  if (p->kind == NodeKind::kSequence) {
    p->items.push_back(node);
    return;
  }
  if (!parent.pending_key) {
    if (node->IsScalar()) {
      if (!parent.keys.insert(node->value).second)
        Fail(line, column,
             "Found duplicate key '" + node->value + "' in a mapping: each key may appear once.");
    }
    parent.pending_key = node;
    return;
  }
  p->entries.emplace_back(parent.pending_key, node);
  parent.pending_key.reset();
}

NodePtr Parser::Run() {
  yaml_event_t event;
  int documents = 0;
  bool done = false;
  while (!done) {
    Next(&event);
    // Everything used from `event` is copied before it is deleted.
    const yaml_mark_t mark = event.start_mark;
    const int line = static_cast<int>(mark.line) + 1;
    const int column = static_cast<int>(mark.column) + 1;
    switch (event.type) {
      case YAML_STREAM_END_EVENT:
        done = true;
        break;
      case YAML_DOCUMENT_START_EVENT:
        if (++documents > 1) {
          yaml_event_delete(&event);
          Fail(line, column, "Expected a single YAML document but found several ('---').");
        }
        break;
      case YAML_SCALAR_EVENT: {
        auto node = StartNode(NodeKind::kScalar, mark, event.data.scalar.tag);
        node->value.assign(reinterpret_cast<const char*>(event.data.scalar.value),
                           event.data.scalar.length);
        switch (event.data.scalar.style) {
          case YAML_SINGLE_QUOTED_SCALAR_STYLE: node->style = ScalarStyle::kSingleQuoted; break;
          case YAML_DOUBLE_QUOTED_SCALAR_STYLE: node->style = ScalarStyle::kDoubleQuoted; break;
          case YAML_LITERAL_SCALAR_STYLE: node->style = ScalarStyle::kLiteral; break;
          case YAML_FOLDED_SCALAR_STYLE: node->style = ScalarStyle::kFolded; break;
          default: node->style = ScalarStyle::kPlain; break;
        }
        const bool plain = node->style == ScalarStyle::kPlain;
        node->type = node->tag.empty() ? (plain ? ResolvePlain(node->value) : ScalarType::kString)
                                       : ResolveTagged(node->tag, node->value, plain);
        std::string anchor = event.data.scalar.anchor
                                 ? reinterpret_cast<const char*>(event.data.scalar.anchor)
                                 : "";
        yaml_event_delete(&event);
        Attach(node, anchor, line, column);
        continue;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        const bool seq = event.type == YAML_SEQUENCE_START_EVENT;
        auto node = StartNode(seq ? NodeKind::kSequence : NodeKind::kMapping, mark,
                              seq ? event.data.sequence_start.tag : event.data.mapping_start.tag);
        const yaml_char_t* a = seq ? event.data.sequence_start.anchor : event.data.mapping_start.anchor;
        Frame frame{node, a ? reinterpret_cast<const char*>(a) : "", {}, nullptr};
        yaml_event_delete(&event);
        if (static_cast<int>(stack_.size()) >= options_.max_depth)
          Fail(line, column, "The document nests deeper than " +
                                 std::to_string(options_.max_depth) + " levels.");
        stack_.push_back(std::move(frame));
        continue;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        Frame frame = std::move(stack_.back());
        stack_.pop_back();
        if (frame.node->kind == NodeKind::kMapping) MergeKeys(*frame.node);
        yaml_event_delete(&event);
        Attach(frame.node, frame.anchor, frame.node->line, frame.node->column);
        continue;
      }
      case YAML_ALIAS_EVENT: {
        const std::string name = reinterpret_cast<const char*>(event.data.alias.anchor);
        yaml_event_delete(&event);
        auto it = anchors_.find(name);
        if (it == anchors_.end())
          Fail(line, column, "Found undefined alias '*" + name + "'.");
        total_nodes_ += it->second->weight;
        if (total_nodes_ > options_.max_nodes)
          Fail(line, column, "Aliases expand the document beyond " +
                                 std::to_string(options_.max_nodes) +
                                 " nodes (an alias bomb?); refusing to expand it.");
        if (static_cast<int>(stack_.size()) + it->second->depth >= options_.max_depth)
          Fail(line, column, "The document nests deeper than " +
                                 std::to_string(options_.max_depth) + " levels.");
        Attach(it->second, "", line, column);
        continue;
      }
      default:
        break;
    }
    yaml_event_delete(&event);
  }
  if (!root_) {
    auto empty = std::make_shared<Node>();
    empty->line = 1;
    empty->column = 1;
    return empty;
  }
  return root_;
}

}  // namespace

double Node::AsDouble() const {
  if (value == ".inf" || value == "+.inf" || value == ".Inf" || value == ".INF") return HUGE_VAL;
  if (value == "-.inf" || value == "-.Inf" || value == "-.INF") return -HUGE_VAL;
  if (util::StartsWith(value, "0x")) return static_cast<double>(std::strtoll(value.c_str() + 2, nullptr, 16));
  if (util::StartsWith(value, "0o")) return static_cast<double>(std::strtoll(value.c_str() + 2, nullptr, 8));
  return std::strtod(value.c_str(), nullptr);
}

const Node* Node::Get(std::string_view key) const {
  if (kind != NodeKind::kMapping) return nullptr;
  for (const auto& [k, v] : entries)
    if (k->IsScalar() && k->value == key) return v.get();
  return nullptr;
}

const Node* Node::GetKey(std::string_view key) const {
  if (kind != NodeKind::kMapping) return nullptr;
  for (const auto& entry : entries)
    if (entry.first->IsScalar() && entry.first->value == key) return entry.first.get();
  return nullptr;
}

std::string Node::Describe() const {
  switch (kind) {
    case NodeKind::kSequence: return "a list";
    case NodeKind::kMapping: return "a mapping";
    case NodeKind::kScalar: break;
  }
  switch (type) {
    case ScalarType::kNull: return "null (empty)";
    case ScalarType::kBool: return "a boolean (" + value + ")";
    case ScalarType::kInt:
    case ScalarType::kFloat: return "a number (" + value + ")";
    case ScalarType::kString: return "a string";
  }
  return "a value";
}

nlohmann::ordered_json Node::ToJson() const {
  using json = nlohmann::ordered_json;
  switch (kind) {
    case NodeKind::kSequence: {
      json out = json::array();
      for (const NodePtr& item : items) out.push_back(item->ToJson());
      return out;
    }
    case NodeKind::kMapping: {
      json out = json::object();
      for (const auto& [k, v] : entries) out[k->IsScalar() ? k->value : k->ToJson().dump()] = v->ToJson();
      return out;
    }
    case NodeKind::kScalar: break;
  }
  switch (type) {
    case ScalarType::kNull: return nullptr;
    case ScalarType::kBool: return AsBool();
    case ScalarType::kInt: {
      if (value.find_first_of("ox") == std::string::npos) {
        errno = 0;
        const long long v = std::strtoll(value.c_str(), nullptr, 10);
        if (errno == 0) return v;
      }
      return AsDouble();
    }
    case ScalarType::kFloat: {
      const double d = AsDouble();
      if (std::isfinite(d)) return d;
      return value;  // JSON has no inf/nan
    }
    case ScalarType::kString: return value;
  }
  return value;
}

NodePtr Parse(std::string_view text, const std::string& file, const ParseOptions& options) {
  Parser parser(text, file, options);
  return parser.Run();
}

}  // namespace trainyard::data::yaml
