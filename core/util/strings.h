#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace trainyard::util {

// Removes the characters in `chars` from both ends (Python's str.strip(chars)).
std::string Strip(std::string_view s, std::string_view chars = " \t\r\n\f\v");

bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);

// Python's str.splitlines(): splits on \n, \r\n and \r; no trailing empty line.
std::vector<std::string> SplitLines(std::string_view s);

std::vector<std::string> Split(std::string_view s, char separator);

// "'a', 'b', 'c'" — Rasa's way of listing names in messages.
// An exception's message without the stack trace libtorch appends to its own
// ("\nException raised from ..." or "\nframe #0: ..." and all after).
std::string WithoutBacktrace(std::string_view message);

std::string QuoteJoin(const std::vector<std::string>& items);
std::string Join(const std::vector<std::string>& items, std::string_view separator);

// Number of Unicode code points in valid UTF-8 (Python's len(str)); entity
// offsets are counted in code points, as Rasa counts them.
size_t CodePointLength(std::string_view utf8);

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or bytes > U+10FFFF).
bool IsValidUtf8(std::string_view s);

std::string ToLower(std::string_view s);

// UTF-8 ↔ code points. Invalid bytes decode to U+FFFD.
std::u32string DecodeUtf8(std::string_view s);
std::string EncodeUtf8(std::u32string_view cps);
// Lower-cases ASCII and the Latin-1/Latin Extended-A/Greek/Cyrillic letters
// (what Python's str.lower() does for the languages trainyard ships rules for).
std::string LowerUtf8(std::string_view s);

// What Python's str predicates say of a text, for the letters LowerUtf8
// knows: it has upper-case / lower-case letters, istitle(), isdigit().
struct TextCase {
  bool has_upper = false, has_lower = false, title = true, digits = true;
};
TextCase CaseOf(std::string_view text);

// Compares dotted numeric versions ("3.1" vs "3.0.2"): -1, 0 or 1. Missing or
// non-numeric parts count as 0.
int CompareVersions(std::string_view a, std::string_view b);

}  // namespace trainyard::util
