#include "core/util/strings.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace trainyard::util {

std::string Strip(std::string_view s, std::string_view chars) {
  const size_t begin = s.find_first_not_of(chars);
  if (begin == std::string_view::npos) return "";
  const size_t end = s.find_last_not_of(chars);
  return std::string(s.substr(begin, end - begin + 1));
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::vector<std::string> SplitLines(std::string_view s) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\n' && s[i] != '\r') continue;
    lines.emplace_back(s.substr(start, i - start));
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < s.size()) lines.emplace_back(s.substr(start));
  return lines;
}

std::vector<std::string> Split(std::string_view s, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(separator, start);
    parts.emplace_back(s.substr(start, pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

std::string QuoteJoin(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += "'" + item + "'";
  }
  return out;
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += separator;
    out += items[i];
  }
  return out;
}

size_t CodePointLength(std::string_view utf8) {
  size_t n = 0;
  for (unsigned char c : utf8)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
      return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

int CompareVersions(std::string_view a, std::string_view b) {
  const auto pa = Split(a, '.');
  const auto pb = Split(b, '.');
  for (size_t i = 0; i < std::max(pa.size(), pb.size()); ++i) {
    const long x = i < pa.size() ? std::strtol(pa[i].c_str(), nullptr, 10) : 0;
    const long y = i < pb.size() ? std::strtol(pb[i].c_str(), nullptr, 10) : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

std::u32string DecodeUtf8(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

std::string EncodeUtf8(std::u32string_view cps) {
  std::string out;
  for (const char32_t c : cps) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

TextCase CaseOf(std::string_view token) {
  TextCase c;
  const std::u32string cps = util::DecodeUtf8(token);
  bool previous_cased = false;
  bool any_cased = false;
  for (char32_t ch : cps) {
    const std::string one = util::EncodeUtf8(std::u32string(1, ch));
    const bool lower_differs = util::LowerUtf8(one) != one;  // an upper-case letter
    const bool is_lower =
        !lower_differs && ((ch >= 'a' && ch <= 'z') || (ch >= 0xDF && ch <= 0xFF && ch != 0xF7) ||
                           (ch >= 0x3B1 && ch <= 0x3C9) || (ch >= 0x430 && ch <= 0x45F));
    if (lower_differs) {
      c.has_upper = true;
      if (previous_cased) c.title = false;
    }
    if (is_lower) {
      c.has_lower = true;
      if (!previous_cased) c.title = false;
    }
    previous_cased = lower_differs || is_lower;
    any_cased = any_cased || previous_cased;
    if (ch < '0' || ch > '9') c.digits = false;
  }
  if (!any_cased) c.title = false;
  if (cps.empty()) c.digits = false;
  return c;
}

std::string LowerUtf8(std::string_view s) {
  std::u32string cps = DecodeUtf8(s);
  for (char32_t& c : cps) {
    if (c >= 'A' && c <= 'Z') c += 32;
    else if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) c += 32;            // Latin-1
    else if (c >= 0x100 && c <= 0x17F && c % 2 == 0 && c != 0x130) c += 1;  // Latin Extended-A pairs
    else if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) c += 32;           // Greek
    else if (c >= 0x410 && c <= 0x42F) c += 32;                         // Cyrillic
    else if (c >= 0x400 && c <= 0x40F) c += 80;
  }
  return EncodeUtf8(cps);
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string WithoutBacktrace(std::string_view message) {
  size_t cut = message.size();
  for (std::string_view marker : {"\nException raised from ", "\nframe #"}) cut = std::min(cut, message.find(marker));
  return std::string(Strip(message.substr(0, cut)));
}

}  // namespace trainyard::util
