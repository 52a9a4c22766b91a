#include "tools/bench/measurement.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace pgoutbox::bench {

namespace {

// Reads `digits` decimal digits at `*at`, advancing it.
bool Digits(std::string_view s, size_t* at, size_t digits, int* out) {
  if (*at + digits > s.size()) return false;
  auto [end, ec] = std::from_chars(s.data() + *at, s.data() + *at + digits, *out);
  if (ec != std::errc() || end != s.data() + *at + digits) return false;
  *at += digits;
  return true;
}

bool Expect(std::string_view s, size_t* at, char c) {
  if (*at >= s.size() || s[*at] != c) return false;
  ++*at;
  return true;
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

std::optional<double> ParseLogTime(std::string_view line) {
  size_t at = 0;
  std::tm tm{};
  int ms = 0, off_h = 0, off_m = 0;
  if (!Digits(line, &at, 4, &tm.tm_year) || !Expect(line, &at, '-') ||
      !Digits(line, &at, 2, &tm.tm_mon) || !Expect(line, &at, '-') ||
      !Digits(line, &at, 2, &tm.tm_mday) || !Expect(line, &at, 'T') ||
      !Digits(line, &at, 2, &tm.tm_hour) || !Expect(line, &at, ':') ||
      !Digits(line, &at, 2, &tm.tm_min) || !Expect(line, &at, ':') ||
      !Digits(line, &at, 2, &tm.tm_sec) || !Expect(line, &at, '.') || !Digits(line, &at, 3, &ms) ||
      at >= line.size()) {
    return std::nullopt;
  }
  const char sign = line[at++];
  if (sign != '+' && sign != '-') return std::nullopt;
  if (!Digits(line, &at, 2, &off_h)) return std::nullopt;
  if (at < line.size() && line[at] == ':') ++at;  // spdlog's %z: "+00:00"
  if (!Digits(line, &at, 2, &off_m)) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const double offset = (off_h * 3600 + off_m * 60) * (sign == '+' ? 1 : -1);
  return static_cast<double>(timegm(&tm)) + ms / 1000.0 - offset;
}

std::optional<double> LastLineTime(std::string_view text, std::string_view needle) {
  std::optional<std::string_view> last;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    if (line.find(needle) != std::string_view::npos) last = line;
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  if (!last) return std::nullopt;
  return ParseLogTime(*last);
}

std::string FormatMeasurement(const Measurement& m, uint64_t events) {
  char start[32];
  std::snprintf(start, sizeof start, "%.6f", m.start_unix_s);
  std::string line = "wall_s=" + Number(m.wall_s) + " user_s=" + Number(m.user_s) +
                     " sys_s=" + Number(m.sys_s) + " maxrss_kb=" + std::to_string(m.maxrss_kb) +
                     " exit=" + std::to_string(m.exit) + " start_unix_s=" + start;
  if (m.until_s) line += " until_s=" + Number(*m.until_s);
  if (events > 0) {
    const double seconds = m.until_s.value_or(m.wall_s);
    const double n = static_cast<double>(events);
    line += " events_per_s=" + Number(seconds > 0 ? n / seconds : 0) +
            " cpu_s_per_100k=" + Number((m.user_s + m.sys_s) * 100000 / n) +
            " maxrss_mib=" + Number(static_cast<double>(m.maxrss_kb) / 1024);
  }
  return line + "\n";
}

}  // namespace pgoutbox::bench
