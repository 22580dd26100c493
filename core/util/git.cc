#include "core/util/git.h"

#include <cctype>
#include <exception>

#include "core/util/fs.h"
#include "core/util/strings.h"

namespace fs = std::filesystem;

namespace trainyard::util {
namespace {

// Config files and `.git` files are small; anything larger is not one.
constexpr size_t kMaxGitFileBytes = size_t{1} << 20;

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }

// Reads a value from text[i] (just after the `=`) to the end of its line,
// which it consumes. Unquoted blanks at either end are dropped, `"` groups
// (its blanks and comment characters kept), `\` escapes, and a `\` at the end
// of a line continues the value on the next. False for what git refuses: an
// unknown escape or an unclosed quote.
bool ReadValue(const std::string& text, size_t& i, std::string& value) {
  const size_t n = text.size();
  while (i < n && IsBlank(text[i])) ++i;
  bool quoted = false;
  size_t keep = 0;  // the value's length up to its last character that is not an unquoted blank
  for (; i < n; ++i) {
    const char c = text[i];
    if (c == '\n' && !quoted) break;
    if (c == '\n') return false;
    if (!quoted && (c == '#' || c == ';')) {
      while (i < n && text[i] != '\n') ++i;
      break;
    }
    if (c == '"') {
      quoted = !quoted;
      keep = value.size();
      continue;
    }
    if (c == '\\') {
      if (++i >= n) return false;
      const char e = text[i];
      if (e == '\n') continue;
      if (e == '\r' && i + 1 < n && text[i + 1] == '\n') {
        ++i;
        continue;
      }
      if (e == 'n') value += '\n';
      else if (e == 't') value += '\t';
      else if (e == 'b') value += '\b';
      else if (e == '"' || e == '\\') value += e;
      else return false;
      keep = value.size();
      continue;
    }
    value += c;
    if (quoted || !IsBlank(c)) keep = value.size();
  }
  if (i < n) ++i;  // the newline
  if (quoted) return false;
  value.resize(keep);
  return true;
}

void SkipLine(const std::string& text, size_t& i) {
  while (i < text.size() && text[i] != '\n') ++i;
  if (i < text.size()) ++i;
}

// A `[section]`, `[section "subsection"]` or old-style `[section.sub]` header
// from text[i] (the `[`). Leaves i after the `]`; false when malformed.
bool ReadHeader(const std::string& text, size_t& i, std::string& section, std::string& subsection) {
  const size_t n = text.size();
  ++i;
  const size_t start = i;
  while (i < n && (IsNameChar(text[i]) || text[i] == '.')) ++i;
  std::string name = text.substr(start, i - start);
  std::string sub;
  if (name.empty()) return false;
  if (i < n && IsBlank(text[i])) {
    while (i < n && IsBlank(text[i])) ++i;
    if (i >= n || text[i] != '"') return false;
    for (++i; i < n && text[i] != '"'; ++i) {
      if (text[i] == '\n') return false;
      if (text[i] == '\\' && i + 1 < n && text[i + 1] != '\n') ++i;
      sub += text[i];
    }
    if (i >= n) return false;
    ++i;
  } else if (const size_t dot = name.find('.'); dot != std::string::npos) {
    sub = ToLower(name.substr(dot + 1));
    name.resize(dot);
  }
  if (i >= n || text[i] != ']') return false;
  ++i;
  section = ToLower(name);
  subsection = std::move(sub);
  return true;
}

std::optional<std::string> ReadSmallFile(const fs::path& path) {
  try {
    return ReadFile(path, kMaxGitFileBytes);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The repository (git directory) of the checkout holding `directory`.
std::optional<fs::path> FindGitDir(const fs::path& directory) {
  std::error_code ec;
  fs::path d = fs::absolute(directory, ec);
  if (ec) return std::nullopt;
  for (;;) {
    const fs::path dot_git = d / ".git";
    if (fs::is_directory(dot_git, ec)) return dot_git;
    if (fs::is_regular_file(dot_git, ec)) {
      // A worktree's or submodule's `.git` file: "gitdir: <path>".
      const auto text = ReadSmallFile(dot_git);
      if (!text || text->rfind("gitdir:", 0) != 0) return std::nullopt;
      const fs::path target = Strip(std::string_view(*text).substr(7));
      return target.is_absolute() ? target : d / target;
    }
    if (d == d.parent_path()) return std::nullopt;
    d = d.parent_path();
  }
}

}  // namespace

std::vector<GitConfigEntry> ParseGitConfig(const std::string& text) {
  std::vector<GitConfigEntry> entries;
  std::string section, subsection;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsBlank(text[i])) ++i;
    if (i >= text.size()) break;
    const char c = text[i];
    if (c == '[') {
      if (!ReadHeader(text, i, section, subsection)) {
        section.clear();  // its variables belong to no section
        SkipLine(text, i);
      }
      continue;  // a variable may follow on the header's line
    }
    if (!std::isalpha(static_cast<unsigned char>(c))) {  // a comment, an empty line or junk
      SkipLine(text, i);
      continue;
    }
    const size_t start = i;
    while (i < text.size() && IsNameChar(text[i])) ++i;
    GitConfigEntry entry{section, subsection, ToLower(text.substr(start, i - start)), ""};
    while (i < text.size() && IsBlank(text[i])) ++i;
    bool ok = true;
    if (i >= text.size() || text[i] == '\n' || text[i] == '#' || text[i] == ';') {
      entry.value = "true";
      SkipLine(text, i);
    } else if (text[i] == '=') {
      ++i;
      ok = ReadValue(text, i, entry.value);
      if (!ok) SkipLine(text, i);  // the rest of a refused line
    } else {
      ok = false;
      SkipLine(text, i);
    }
    if (ok && !section.empty()) entries.push_back(std::move(entry));
  }
  return entries;
}

std::optional<std::string> GitRemoteUrl(const fs::path& directory, const std::string& remote) {
  const auto git_dir = FindGitDir(directory);
  if (!git_dir) return std::nullopt;
  // A linked worktree keeps its config in the main repository (`commondir`).
  fs::path common = *git_dir;
  if (const auto commondir = ReadSmallFile(*git_dir / "commondir")) {
    const fs::path target = Strip(*commondir);
    common = target.is_absolute() ? target : *git_dir / target;
  }
  const auto config = ReadSmallFile(common / "config");
  if (!config) return std::nullopt;
  std::optional<std::string> url;
  std::string base, prefix;  // the longest insteadOf that matches so far
  const std::vector<GitConfigEntry> entries = ParseGitConfig(*config);
  for (const GitConfigEntry& e : entries)
    if (!url && e.section == "remote" && e.subsection == remote && e.name == "url") url = e.value;
  if (!url || url->empty()) return std::nullopt;
  for (const GitConfigEntry& e : entries)
    if (e.section == "url" && e.name == "insteadof" && !e.value.empty() && e.value.size() > prefix.size() &&
        url->compare(0, e.value.size(), e.value) == 0) {
      base = e.subsection;
      prefix = e.value;
    }
  if (!prefix.empty()) url = base + url->substr(prefix.size());
  return url;
}

}  // namespace trainyard::util
