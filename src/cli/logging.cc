#include "cli/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>

#include "common/json_escape.h"

namespace pgoutbox::cli {

namespace {

// One JSON object per line: time (RFC 3339, UTC, milliseconds), level, msg.
class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto t = msg.time.time_since_epoch();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char when[64];
    std::snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    auto level = spdlog::level::to_string_view(msg.level);
    std::string line = std::string("{\"time\":\"") + when + "\",\"level\":\"" +
                       std::string(level.data(), level.size()) + "\",\"msg\":\"" +
                       JsonEscape(std::string_view(msg.payload.data(), msg.payload.size())) +
                       "\"}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

Status SetUpLogging(const std::string& level, const std::string& format) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return Status::InvalidArgument("--log-level " + level +
                                   ": expected trace, debug, info, warn, error or off");
  }
  if (format != "text" && format != "json") {
    return Status::InvalidArgument("--log-format " + format + ": expected text or json");
  }
  auto logger = spdlog::get("pgoutbox");
  if (!logger) logger = spdlog::stderr_color_mt("pgoutbox");
  if (format == "json") {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  }
  spdlog::set_default_logger(logger);
  spdlog::set_level(lvl);
  return Status::Ok();
}

}  // namespace pgoutbox::cli
