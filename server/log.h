#pragma once
// The server's structured log: one JSON object per line on stderr, e.g.
//   {"time":"2026-11-28T19:00:00.123456Z","level":"info","msg":"job started","job_id":"...","request_id":"..."}
// Thread-safe. Backed by spdlog; the header keeps spdlog out of its users.

#include <nlohmann/json.hpp>

#include <ostream>
#include <string_view>

namespace trainyard::server::log {

enum class Level { kDebug, kInfo, kWarning, kError };

// Writes one line with `message` and `fields` (a JSON object; other values
// are stored under "value").
void Write(Level level, std::string_view message, const nlohmann::ordered_json& fields = nlohmann::ordered_json::object());

inline void Info(std::string_view message, const nlohmann::ordered_json& fields = nlohmann::ordered_json::object()) {
  Write(Level::kInfo, message, fields);
}
inline void Warning(std::string_view message, const nlohmann::ordered_json& fields = nlohmann::ordered_json::object()) {
  Write(Level::kWarning, message, fields);
}
inline void Error(std::string_view message, const nlohmann::ordered_json& fields = nlohmann::ordered_json::object()) {
  Write(Level::kError, message, fields);
}

// Lines below `level` are dropped (default: info).
void SetLevel(Level level);
// Sends lines to `out` instead of stderr (tests); nullptr restores stderr.
// `out` must outlive its use.
void SetOutput(std::ostream* out);

}  // namespace trainyard::server::log
