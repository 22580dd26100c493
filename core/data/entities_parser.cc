#include "core/data/entities_parser.h"

#include <optional>

#include "core/util/strings.h"

namespace trainyard::data {
namespace {

enum class MarkupKind { kParen, kDict, kList };

// One `[text](...)`, `[text]{...}` or `[text][...]` found at some position.
struct Markup {
  size_t begin = 0;   // index of '['
  size_t end = 0;     // one past the closing bracket
  std::string text;
  MarkupKind kind = MarkupKind::kParen;
  std::string entity;  // kParen
  std::optional<std::string> value;  // kParen with ":value"
  std::string body;    // kDict / kList: the JSON text including its brackets
};

// Tries to match an annotation starting at s[i] == '[', with the semantics
// of Rasa's entity regular expression (first closing bracket wins; the text
// must not be empty; '.' in the list form does not cross a newline).
std::optional<Markup> MatchAt(std::string_view s, size_t i) {
  const size_t close = s.find(']', i + 1);
  if (close == std::string_view::npos || close == i + 1) return std::nullopt;
  Markup m;
  m.begin = i;
  m.text = std::string(s.substr(i + 1, close - i - 1));
  const size_t k = close + 1;
  if (k >= s.size()) return std::nullopt;
  if (s[k] == '(') {
    const size_t stop = s.find_first_of(":)", k + 1);
    if (stop == std::string_view::npos || stop == k + 1) return std::nullopt;
    m.kind = MarkupKind::kParen;
    m.entity = std::string(s.substr(k + 1, stop - k - 1));
    if (s[stop] == ')') {
      m.end = stop + 1;
      return m;
    }
    const size_t paren = s.find(')', stop + 1);
    if (paren == std::string_view::npos || paren == stop + 1) return std::nullopt;
    m.value = std::string(s.substr(stop + 1, paren - stop - 1));
    m.end = paren + 1;
    return m;
  }
  if (s[k] == '{') {
    const size_t brace = s.find('}', k + 1);
    if (brace == std::string_view::npos || brace == k + 1) return std::nullopt;
    m.kind = MarkupKind::kDict;
    m.body = std::string(s.substr(k, brace - k + 1));
    m.end = brace + 1;
    return m;
  }
  if (s[k] == '[') {
    size_t j = k + 1;
    while (j < s.size() && s[j] != ']' && s[j] != '\n') ++j;
    if (j >= s.size() || s[j] != ']') return std::nullopt;
    m.kind = MarkupKind::kList;
    m.body = std::string(s.substr(k, j - k + 1));
    m.end = j + 1;
    return m;
  }
  return std::nullopt;
}

std::string FormatError(const std::string& body, const std::string& detail) {
  return "Incorrect training data format ('" + body + "'): " + detail +
         " An entity annotation in braces must be a JSON object like "
         "{\"entity\": \"name\", \"role\": \"r\", \"group\": \"g\", \"value\": \"v\"}.";
}

// Validates one JSON entity object; returns false (after reporting) if invalid.
bool ToAnnotation(const Json& object, const std::string& body, const std::string& text,
                  EntityAnnotation& out, const util::SourceLocation& where,
                  util::Diagnostics& diagnostics) {
  if (!object.is_object()) {
    diagnostics.Error(where, FormatError(body, "expected a JSON object."));
    return false;
  }
  const auto entity = object.find("entity");
  if (entity == object.end() || !entity->is_string() || entity->get<std::string>().empty()) {
    diagnostics.Error(where, FormatError(body, "'entity' is required and must be a non-empty string."));
    return false;
  }
  for (const auto& [key, value] : object.items()) {
    if (key != "entity" && key != "role" && key != "group" && key != "value") {
      diagnostics.Error(where, FormatError(body, "unknown key '" + key + "'."));
      return false;
    }
    if ((key == "role" || key == "group") && !value.is_string()) {
      diagnostics.Error(where, FormatError(body, "'" + key + "' must be a string."));
      return false;
    }
  }
  out.entity = entity->get<std::string>();
  if (object.contains("role")) out.role = object["role"].get<std::string>();
  if (object.contains("group")) out.group = object["group"].get<std::string>();
  out.value = object.contains("value") ? object["value"] : Json(text);
  return true;
}

}  // namespace

ParsedExample ParseAnnotatedText(std::string_view s, const util::SourceLocation& where,
                                 util::Diagnostics& diagnostics) {
  ParsedExample out;
  size_t copied = 0;  // bytes of `s` already handled
  size_t i = s.find('[');
  while (i != std::string_view::npos) {
    std::optional<Markup> m = MatchAt(s, i);
    if (!m) {
      i = s.find('[', i + 1);
      continue;
    }
    out.plain_text.append(s.substr(copied, m->begin - copied));
    const int start = static_cast<int>(util::CodePointLength(out.plain_text));
    const int end = start + static_cast<int>(util::CodePointLength(m->text));
    out.plain_text += m->text;
    copied = m->end;
    if (m->kind == MarkupKind::kParen) {
      EntityAnnotation e;
      e.start = start;
      e.end = end;
      e.entity = m->entity;
      e.value = m->value ? *m->value : m->text;
      out.entities.push_back(std::move(e));
    } else {
      Json parsed = Json::parse(m->body, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded()) {
        diagnostics.Error(where, FormatError(m->body, "it is not valid JSON."));
      } else {
        std::vector<Json> objects;
        if (m->kind == MarkupKind::kList && parsed.is_array())
          objects.assign(parsed.begin(), parsed.end());
        else
          objects.push_back(parsed);
        for (const Json& object : objects) {
          EntityAnnotation e;
          if (!ToAnnotation(object, m->body, m->text, e, where, diagnostics)) continue;
          e.start = start;
          e.end = end;
          out.entities.push_back(std::move(e));
        }
      }
    }
    i = s.find('[', m->end);
  }
  out.plain_text.append(s.substr(copied));
  return out;
}

}  // namespace trainyard::data
