#include "common/duration.h"

#include <cctype>
#include <charconv>
#include <cstdint>

namespace pgoutbox {

Result<std::chrono::milliseconds> ParseDuration(const std::string& text,
                                                std::chrono::milliseconds max) {
  auto too_long = [&] {
    // The limit rounded down to whole days (or seconds), as it is written.
    const int64_t days = max.count() / (24 * 3600 * 1000);
    const std::string limit = days > 0
                                  ? std::to_string(days) + "d"
                                  : FormatDuration(std::chrono::floor<std::chrono::seconds>(max));
    return Status::InvalidArgument("\"" + text + "\" is too long (at most " + limit + ")");
  };
  auto bad = [&] {
    return Status::InvalidArgument("\"" + text +
                                   "\" is not a duration (examples: 250ms, 1s, 5m, 24h, 1d)");
  };
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) return bad();
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, n);
  std::string unit = text.substr(i);
  uint64_t ms_per_unit;
  if (unit.empty() || unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "m" || unit == "min") {
    ms_per_unit = 60 * 1000;
  } else if (unit == "h") {
    ms_per_unit = 3600 * 1000;
  } else if (unit == "d") {
    ms_per_unit = 24 * 3600 * 1000;
  } else {
    return bad();
  }
  // Compared by division: the product could overflow.
  if (ec != std::errc() || n > static_cast<uint64_t>(max.count()) / ms_per_unit) {
    return too_long();
  }
  return std::chrono::milliseconds(n * ms_per_unit);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace pgoutbox
