#include "core/data/nlu_reader.h"

#include "core/data/entities_parser.h"
#include "core/data/yaml.h"
#include "core/data/yaml_schema.h"
#include "core/util/errors.h"
#include "core/util/fs.h"
#include "core/util/strings.h"

namespace trainyard::data {
namespace {

constexpr const char* kStripSymbols = "\n\r ";

// A line of an `examples:` block with where it stands in the file.
struct BlockLine {
  std::string text;
  util::SourceLocation location;
};

// Splits a block scalar into its lines. For literal blocks (`|`), whose
// content starts on the line after the indicator, each line's file line is
// exact; for other styles it is the scalar's first line plus the index.
std::vector<BlockLine> BlockLines(const yaml::Node& node, FileContext& c) {
  std::vector<BlockLine> out;
  const auto lines = util::SplitLines(node.value);
  const bool block = node.style == yaml::ScalarStyle::kLiteral;
  for (size_t i = 0; i < lines.size(); ++i)
    out.push_back({lines[i], c.At(node.line + static_cast<int>(i) + (block ? 1 : 0))});
  return out;
}

// Rasa's `_parse_multiline_example`: lines must start with '-'.
std::vector<BlockLine> MultilineExamples(const std::string& item, const yaml::Node& node,
                                         FileContext& c) {
  std::vector<BlockLine> out;
  for (BlockLine& line : BlockLines(node, c)) {
    if (!util::StartsWith(line.text, "-")) {
      c.diagnostics().Warn(line.location, "The item '" + item +
                                              "' contains an example that doesn't start with a '-' "
                                              "symbol: " + line.text +
                                              "\nThis training example will be skipped.");
      continue;
    }
    line.text = util::Strip(std::string_view(line.text).substr(1), kStripSymbols);
    out.push_back(std::move(line));
  }
  return out;
}

class NluParser {
 public:
  NluParser(FileContext& context, TrainingData& out, std::filesystem::path path)
      : c_(context), out_(out), path_(std::move(path)) {}

  void Items(const yaml::Node& nlu);
  void Responses(const yaml::Node& node);

 private:
  void Intent(const yaml::Node& item);
  void Named(const yaml::Node& item, const char* kind);
  void AddExample(const std::string& intent, const std::string& annotated, const Json& intent_meta,
                  const Json& example_meta, const util::SourceLocation& where);

  FileContext& c_;
  TrainingData& out_;
  std::filesystem::path path_;
};

void NluParser::Items(const yaml::Node& nlu) {
  if (nlu.IsNull()) return;
  if (!c_.ExpectSeq(nlu, "'nlu'")) return;
  for (const yaml::NodePtr& item : nlu.items) {
    if (!item->IsMap()) {
      c_.Warn(*item, "Unexpected block found: items under the 'nlu' key must be YAML dictionaries. "
                     "This block will be skipped.");
      continue;
    }
    if (item->GetKey("intent")) Intent(*item);
    else if (item->GetKey("synonym")) Named(*item, "synonym");
    else if (item->GetKey("regex")) Named(*item, "regex");
    else if (item->GetKey("lookup")) Named(*item, "lookup");
    else
      c_.Warn(*item, "Could not find supported key in the section. Supported keys are: 'intent', "
                     "'synonym', 'regex', 'lookup'. This section will be skipped.");
  }
}

void NluParser::AddExample(const std::string& intent, const std::string& annotated,
                           const Json& intent_meta, const Json& example_meta,
                           const util::SourceLocation& where) {
  ParsedExample parsed = ParseAnnotatedText(annotated, where, c_.diagnostics());
  if (util::Strip(parsed.plain_text).empty()) {
    c_.diagnostics().Warn(where, "Intent '" + intent + "' has an empty example. It will be skipped.");
    return;
  }
  Message m;
  m.text = parsed.plain_text;
  m.entities = std::move(parsed.entities);
  const size_t slash = intent.find('/');
  m.intent = slash == std::string::npos ? intent : intent.substr(0, slash);
  if (slash != std::string::npos) m.intent_response_key = intent;
  if (!intent_meta.is_null() || !example_meta.is_null()) {
    m.metadata = Json::object();
    if (!intent_meta.is_null()) m.metadata["intent"] = intent_meta;
    if (!example_meta.is_null()) m.metadata["example"] = example_meta;
  }
  m.location = where;
  // An entity whose value differs from its text records a synonym.
  for (const EntityAnnotation& e : m.entities) {
    const std::string text = [&] {
      // Offsets are code points; walk the UTF-8 text to cut the span.
      std::string out;
      int cp = 0;
      for (size_t i = 0; i < m.text.size(); ++i) {
        const unsigned char ch = static_cast<unsigned char>(m.text[i]);
        if ((ch & 0xC0) != 0x80) ++cp;
        if (cp > e.start && cp <= e.end) out += m.text[i];
      }
      return out;
    }();
    const std::string value = e.value.is_string() ? e.value.get<std::string>() : e.value.dump();
    if (!e.value.is_null() && text != value) AddSynonym(out_.synonyms, text, value, where, c_.diagnostics());
  }
  out_.examples.push_back(std::move(m));
}

void NluParser::Intent(const yaml::Node& item) {
  c_.CheckKeys(item, {"intent", "examples", "metadata"}, "an intent item");
  const yaml::Node* name = item.Get("intent");
  if (name->IsNull() || (name->IsString() && util::Strip(name->value).empty())) {
    c_.Warn(item, "The intent has an empty name. Intents should have a name defined under the "
                  "intent key. It will be skipped.");
    return;
  }
  if (!c_.ExpectName(*name, "The intent name")) return;
  const std::string intent = util::Strip(name->value);
  const Json intent_meta = item.Get("metadata") ? item.Get("metadata")->ToJson() : Json();
  const yaml::Node* examples = item.Get("examples");
  size_t before = out_.examples.size();
  if (!examples || examples->IsNull() || (examples->IsString() && examples->value.empty())) {
    // Rasa: an empty examples string yields no examples.
  } else if (examples->IsString()) {
    for (const BlockLine& line : MultilineExamples(intent, *examples, c_))
      AddExample(intent, line.text, intent_meta, Json(), line.location);
  } else if (examples->IsSeq()) {
    for (const yaml::NodePtr& ex : examples->items) {
      if (ex->IsNull()) continue;
      if (!c_.ExpectMap(*ex, "An example of intent '" + intent + "'")) continue;
      c_.CheckKeys(*ex, {"text", "metadata"}, "an example");
      const yaml::Node* text = ex->Get("text");
      if (!text || !c_.ExpectString(*text, "The 'text' of an example", true)) continue;
      const Json meta = ex->Get("metadata") ? ex->Get("metadata")->ToJson() : Json();
      AddExample(intent, util::Strip(text->value, kStripSymbols), intent_meta, meta, c_.At(*text));
    }
  } else {
    c_.Error(*examples, "The 'examples' of intent '" + intent +
                            "' must be a block of lines starting with '- ' (`examples: |`) or a list "
                            "of {text, metadata} but is " + examples->Describe() + ".");
    return;
  }
  if (out_.examples.size() == before)
    c_.Warn(item, "Issue found while processing '" + c_.file() + "': Intent '" + intent +
                      "' has no examples.");
}

void NluParser::Named(const yaml::Node& item, const char* kind) {
  c_.CheckKeys(item, {kind, "examples", "metadata"}, std::string("a ") + kind + " item");
  const yaml::Node* name = item.Get(kind);
  if (name->IsNull() || (name->IsScalar() && name->value.empty())) {
    c_.Warn(item, std::string("The ") + kind + " has an empty name. It will be skipped.");
    return;
  }
  if (!name->IsScalar()) {
    c_.Error(*name, std::string("The ") + kind + " name must be a string but is " + name->Describe() + ".");
    return;
  }
  const std::string n = name->value;
  const yaml::Node* examples = item.Get("examples");
  if (!examples || examples->IsNull() || (examples->IsString() && examples->value.empty())) {
    c_.Warn(item, std::string("'") + kind + ": " + n + "' doesn't have any examples. It will be skipped.");
    return;
  }
  if (!examples->IsString()) {
    c_.Warn(*examples, std::string("Unexpected block found in the ") + kind + " '" + n +
                           "': 'examples' must be a block of lines starting with '- '. This block will be skipped.");
    return;
  }
  std::vector<BlockLine> lines;
  const std::string single = util::Strip(examples->value);
  if (std::string(kind) == "lookup" && single.find('\n') == std::string::npos &&
      !util::StartsWith(single, "-") && util::EndsWith(single, ".txt")) {
    // A lookup table read from a text file, one element per line, relative to this file.
    std::filesystem::path file = path_.parent_path() / single;
    if (!std::filesystem::exists(file)) file = single;
    try {
      for (const std::string& line : util::SplitLines(util::ReadFile(file))) {
        const std::string element = util::Strip(line);
        if (!element.empty()) lines.push_back({element, c_.At(*examples)});
      }
    } catch (const util::Error& e) {
      c_.Error(*examples, "Cannot read the lookup table file '" + single + "' of lookup '" + n +
                              "': " + e.what());
      return;
    }
  } else {
    lines = MultilineExamples(n, *examples, c_);
  }
  const std::string k = kind;
  if (k == "synonym") {
    for (const BlockLine& line : lines) AddSynonym(out_.synonyms, line.text, n, line.location, c_.diagnostics());
  } else if (k == "regex") {
    for (const BlockLine& line : lines) out_.regexes.push_back({n, line.text, line.location});
  } else {
    LookupTable table{n, {}, c_.At(item)};
    for (const BlockLine& line : lines) table.elements.push_back(line.text);
    TrainingData one;
    one.lookups.push_back(std::move(table));
    out_.Merge(one, c_.diagnostics());
  }
}

void NluParser::Responses(const yaml::Node& node) {
  if (node.IsNull() || !c_.ExpectMap(node, "'responses'")) return;
  for (const auto& [key, value] : node.entries) {
    if (!c_.ExpectString(*key, "A response name")) continue;
    if (!value->IsSeq() || value->items.empty()) {
      c_.Error(*key, "Response '" + key->value + "' must be a non-empty list of variations but is " +
                         value->Describe() + ".");
      continue;
    }
    ResponseDefinition response;
    response.location = c_.At(*key);
    bool ok = true;
    for (const yaml::NodePtr& variation : value->items) {
      const yaml::Node* text = variation->Get("text");
      const yaml::Node* custom = variation->Get("custom");
      if (!variation->IsMap() || ((!text || text->IsNull()) && (!custom || custom->IsNull()))) {
        c_.Error(*variation, "Missing 'text' or 'custom' key in response or null 'text' value in "
                             "response '" + key->value + "'.");
        ok = false;
        continue;
      }
      response.variations.push_back(variation->ToJson());
    }
    if (ok) out_.responses[key->value] = std::move(response);
  }
}

}  // namespace

static void ReadJsonTrainingData(const Json& root, const std::filesystem::path& path, TrainingData& data,
                          util::Diagnostics& diagnostics);

util::SourceLocation LocationOfOffset(const std::string& text, size_t offset, const std::string& file) {
  int line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {file, line, column};
}

TrainingData ParseNluYaml(const std::string& text, const std::filesystem::path& path,
                          util::Diagnostics& diagnostics) {
  TrainingData data;
  FileContext context(path.string(), diagnostics);
  const yaml::NodePtr root = yaml::Parse(text, path.string());
  if (root->IsNull() || !context.ExpectMap(*root, "An NLU file")) return data;
  if (!CheckFormatVersion(*root, context)) return data;
  NluParser parser(context, data, path);
  if (const yaml::Node* nlu = root->Get("nlu")) parser.Items(*nlu);
  if (const yaml::Node* responses = root->Get("responses")) parser.Responses(*responses);
  return data;
}

TrainingData ParseNluJson(const std::string& text, const std::filesystem::path& path,
                          util::Diagnostics& diagnostics) {
  TrainingData data;
  const std::string file = path.string();
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw util::InvalidDataError(LocationOfOffset(text, e.byte > 0 ? e.byte - 1 : 0, file),
                                 "Failed to read '" + file + "'. It is not valid JSON: " + e.what());
  } catch (const Json::exception& e) {  // e.g. a number too large for a double (found by fuzzing)
    throw util::InvalidDataError({file}, "Failed to read '" + file + "'. " + e.what());
  }
  try {
    ReadJsonTrainingData(root, path, data, diagnostics);
  } catch (const Json::exception& e) {
    diagnostics.Error({file}, std::string("Invalid JSON training data: ") + e.what());
  }
  return data;
}

static void ReadJsonTrainingData(const Json& root, const std::filesystem::path& path, TrainingData& data,
                          util::Diagnostics& diagnostics) {
  const std::string file = path.string();
  const util::SourceLocation where{file};
  if (!root.is_object() || !root.contains("rasa_nlu_data") || !root["rasa_nlu_data"].is_object()) {
    diagnostics.Error(where, "A JSON training data file must hold an object with the key "
                             "'rasa_nlu_data'.");
    return;
  }
  const Json& nlu = root["rasa_nlu_data"];
  auto list = [&](const char* key) -> const Json& {
    static const Json kEmpty = Json::array();
    if (!nlu.contains(key)) return kEmpty;
    if (!nlu[key].is_array()) {
      diagnostics.Error(where, std::string("'rasa_nlu_data.") + key + "' must be a list.");
      return kEmpty;
    }
    return nlu[key];
  };
  for (const Json& ex : list("common_examples")) {
    if (!ex.is_object() || !ex.contains("text") || !ex["text"].is_string()) {
      diagnostics.Error(where, "Each 'common_examples' entry needs a string 'text'.");
      continue;
    }
    Message m;
    m.text = ex["text"].get<std::string>();
    m.location = where;
    if (ex.contains("intent") && ex["intent"].is_string()) {
      const std::string intent = ex["intent"].get<std::string>();
      const size_t slash = intent.find('/');
      m.intent = intent.substr(0, slash);
      if (slash != std::string::npos) m.intent_response_key = intent;
    }
    if (ex.contains("entities") && ex["entities"].is_array()) {
      for (const Json& e : ex["entities"]) {
        if (!e.is_object() || !e.contains("entity") || !e.contains("start") || !e.contains("end") ||
            !e["start"].is_number_integer() || !e["end"].is_number_integer()) {
          diagnostics.Error(where, "An entity of example '" + m.text +
                                       "' needs 'entity', 'start' and 'end'.");
          continue;
        }
        EntityAnnotation a;
        a.entity = e["entity"].is_string() ? e["entity"].get<std::string>() : e["entity"].dump();
        a.start = e["start"].get<int>();
        a.end = e["end"].get<int>();
        a.value = e.contains("value") ? e["value"] : Json();
        if (e.contains("role") && e["role"].is_string()) a.role = e["role"].get<std::string>();
        if (e.contains("group") && e["group"].is_string()) a.group = e["group"].get<std::string>();
        m.entities.push_back(std::move(a));
      }
    }
    data.examples.push_back(std::move(m));
  }
  for (const Json& r : list("regex_features"))
    if (r.is_object() && r.contains("name") && r.contains("pattern"))
      data.regexes.push_back({r["name"].get<std::string>(), r["pattern"].get<std::string>(), where});
  for (const Json& s : list("entity_synonyms"))
    if (s.is_object() && s.contains("value") && s.contains("synonyms") && s["synonyms"].is_array())
      for (const Json& syn : s["synonyms"])
        if (syn.is_string())
          AddSynonym(data.synonyms, syn.get<std::string>(), s["value"].get<std::string>(), where, diagnostics);
  for (const Json& l : list("lookup_tables")) {
    if (!l.is_object() || !l.contains("name") || !l.contains("elements")) continue;
    LookupTable table{l["name"].get<std::string>(), {}, where};
    if (l["elements"].is_array()) {
      for (const Json& e : l["elements"])
        if (e.is_string()) table.elements.push_back(e.get<std::string>());
    } else if (l["elements"].is_string()) {
      // Rasa resolves the file relative to the working directory; also try this file's folder.
      std::filesystem::path file_path = l["elements"].get<std::string>();
      if (!std::filesystem::exists(file_path)) file_path = path.parent_path() / file_path.filename();
      try {
        for (const std::string& line : util::SplitLines(util::ReadFile(file_path))) {
          const std::string element = util::Strip(line);
          if (!element.empty()) table.elements.push_back(element);
        }
      } catch (const util::Error& e) {
        diagnostics.Error(where, "Cannot read the lookup table file '" +
                                     l["elements"].get<std::string>() + "': " + e.what());
        continue;
      }
    }
    data.lookups.push_back(std::move(table));
  }
}

}  // namespace trainyard::data
