#include "common/types.h"

#include <charconv>
#include <cstdio>

namespace pgoutbox {

namespace {
bool ParseHex32(std::string_view s, uint32_t* out) {
  if (s.empty() || s.size() > 8) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, 16);
  return ec == std::errc() && ptr == s.data() + s.size();
}
}  // namespace

std::optional<Lsn> Lsn::Parse(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  uint32_t hi = 0, lo = 0;
  if (!ParseHex32(text.substr(0, slash), &hi) || !ParseHex32(text.substr(slash + 1), &lo)) {
    return std::nullopt;
  }
  return Lsn((static_cast<uint64_t>(hi) << 32) | lo);
}

std::string Lsn::ToString() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(value_ >> 32),
                static_cast<unsigned>(value_ & 0xffffffffu));
  return buf;
}

}  // namespace pgoutbox
