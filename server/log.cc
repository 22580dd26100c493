#include "server/log.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace trainyard::server::log {
namespace {

// The time and level come from spdlog's pattern; %v is the rest of the
// object (message and fields), written by Write without its outer braces.
constexpr const char* kPattern = R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})";

std::mutex g_mutex;

std::shared_ptr<spdlog::logger> MakeLogger(spdlog::sink_ptr sink) {
  auto logger = std::make_shared<spdlog::logger>("trainyard", std::move(sink));
  logger->set_pattern(kPattern, spdlog::pattern_time_type::utc);
  logger->flush_on(spdlog::level::trace);  // lines reach the collector even if the process dies
  return logger;
}

std::shared_ptr<spdlog::logger>& Logger() {
  static std::shared_ptr<spdlog::logger> logger = MakeLogger(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  return logger;
}

spdlog::level::level_enum ToSpdlog(Level level) {
  switch (level) {
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarning: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void Write(Level level, std::string_view message, const nlohmann::ordered_json& fields) {
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  line["msg"] = message;
  if (fields.is_object())
    for (const auto& [k, v] : fields.items()) line[k] = v;
  else if (!fields.is_null())
    line["value"] = fields;
  // Invalid UTF-8 in a field is replaced rather than thrown: logging never fails a job.
  std::string body = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::shared_ptr<spdlog::logger> logger;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    logger = Logger();
  }
  logger->log(ToSpdlog(level), spdlog::string_view_t(body.data() + 1, body.size() - 2));
}

void SetLevel(Level level) {
  std::lock_guard<std::mutex> lock(g_mutex);
  Logger()->set_level(ToSpdlog(level));
}

void SetOutput(std::ostream* out) {
  std::lock_guard<std::mutex> lock(g_mutex);
  const auto level = Logger()->level();
  Logger() = out ? MakeLogger(std::make_shared<spdlog::sinks::ostream_sink_mt>(*out, true))
                 : MakeLogger(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  Logger()->set_level(level);
}

}  // namespace trainyard::server::log
