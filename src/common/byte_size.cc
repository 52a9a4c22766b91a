#include "common/byte_size.h"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace pgoutbox {

namespace {

constexpr const char* kUnits[] = {"bytes", "kB", "MB", "GB", "TB", "PB"};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Bytes per unit, 0 if `unit` (lower case) is not one.
uint64_t Multiplier(const std::string& unit) {
  if (unit.empty() || unit == "b" || unit == "byte" || unit == "bytes") return 1;
  const std::string prefixes = "kmgtp";
  if (unit.size() > 3 || prefixes.find(unit[0]) == std::string::npos) return 0;
  const std::string rest = unit.substr(1);
  if (!rest.empty() && rest != "b" && rest != "ib") return 0;
  return uint64_t{1} << (10 * (prefixes.find(unit[0]) + 1));
}

}  // namespace

Result<uint64_t> ParseByteSize(const std::string& text) {
  auto bad = [&] {
    return Status::InvalidArgument("\"" + text +
                                   "\" is not a size (examples: 1GB, 512MB, 100kB, 4096)");
  };
  size_t i = 0;
  uint64_t whole = 0;
  size_t digits = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i, ++digits) {
    if (whole > (UINT64_MAX - 9) / 10) return bad();
    whole = whole * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  // The fraction as numerator / denominator, up to 9 digits (more are noise).
  uint64_t numerator = 0;
  uint64_t denominator = 1;
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i, ++digits) {
      if (denominator < 1000000000) {
        numerator = numerator * 10 + static_cast<uint64_t>(text[i] - '0');
        denominator *= 10;
      }
    }
  }
  if (digits == 0) return bad();
  while (i < text.size() && text[i] == ' ') ++i;
  const uint64_t multiplier = Multiplier(Lower(text.substr(i)));
  if (multiplier == 0) return bad();
  constexpr uint64_t kMax = static_cast<uint64_t>(INT64_MAX);
  if (whole > kMax / multiplier) return bad();
  const uint64_t bytes = whole * multiplier;
  // numerator < denominator <= 1e9 and multiplier <= 2^50: exact in 128 bits.
  const auto fraction =
      static_cast<uint64_t>(static_cast<unsigned __int128>(numerator) * multiplier / denominator);
  if (fraction > kMax - bytes) return bad();
  return bytes + fraction;
}

std::string FormatByteSize(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
  size_t unit = 0;
  uint64_t scale = 1;
  while (unit + 1 < std::size(kUnits) && bytes / scale >= 1024) {
    scale *= 1024;
    ++unit;
  }
  char buf[64];
  if (bytes % scale == 0) {
    std::snprintf(buf, sizeof(buf), "%llu %s", static_cast<unsigned long long>(bytes / scale),
                  kUnits[unit]);
    return buf;
  }
  double value = static_cast<double>(bytes) / static_cast<double>(scale);
  // 1023.97 MB rounds to "1024.0 MB": say "1.0 GB" instead.
  if (std::round(value * 10) >= 1024 * 10 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  std::snprintf(buf, sizeof(buf), "%.1f %s", value, kUnits[unit]);
  return buf;
}

}  // namespace pgoutbox
