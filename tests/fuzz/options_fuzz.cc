// libFuzzer target: the option values pgoutbox parses or prints: --db
// connection strings (pg::RedactConninfo), -X librdkafka properties
// (kafka::ParseConfigEntry, kafka::ValidateConfig), durations
// (ParseDuration, FormatDuration) and byte sizes (ParseByteSize,
// FormatByteSize).
//
// Input: a mode byte, then the mode's text. Modes (the byte itself, or any
// other byte modulo 7):
//   'c'  any text as a connection string. If libpq finds a password in it,
//        the redacted text must not give libpq that password back.
//   'k'  key=value conninfo built here: a style byte, then prefix, password
//        and suffix separated by NUL bytes, written as
//        "<prefix> password=<password quoted or backslash-escaped> <suffix>".
//   'u'  URI with the password in the user info, percent-encoded by style:
//        "postgresql://<prefix>:<password>@<suffix>".
//   'q'  URI with the password as a query parameter:
//        "postgresql://<prefix>/db?password=<password>&<suffix>".
//   'x'  -X entries separated by NUL bytes: ParseConfigEntry must split
//        "key=value" at the first '=' and refuse a missing '=' or key;
//        ValidateConfig then runs on the accepted ones (never crashes).
//   'd'  a duration: accepted exactly when it is digits (at most 10^9) and
//        one of the documented units, with the value they say; an accepted
//        duration survives FormatDuration and parsing back exactly.
//   'b'  a byte size: an accepted size is at most 2^63-1 and survives
//        FormatByteSize and parsing back within the printed rounding.
// For 'k', 'u' and 'q', libpq must read the password back from the built
// string (else the input is skipped). Then the redacted text must not give
// the password back, and, if prefix and suffix hold no "password" and no
// "://" (which the redaction may rightly rewrite too), it must read: the text
// before the password, "***", then a tail of what followed the password (the
// redaction may remove more, never keep any of the password).
#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/byte_size.h"
#include "common/duration.h"
#include "kafka/publisher.h"
#include "pg/connection.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

std::vector<std::string> SplitNul(std::string_view text) {
  std::vector<std::string> parts;
  while (true) {
    const size_t next = text.find('\0');
    parts.emplace_back(text.substr(0, next));
    if (next == std::string_view::npos) return parts;
    text = text.substr(next + 1);
  }
}

struct OptionsDeleter {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};

// The password libpq reads from `conninfo`; false if it does not parse or
// holds no password.
bool LibpqPassword(const std::string& conninfo, std::string* password) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, OptionsDeleter> options(
      PQconninfoParse(conninfo.c_str(), &error));
  if (error != nullptr) PQfreemem(error);
  if (!options) return false;
  for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
    if (std::strcmp(option->keyword, "password") == 0 && option->val != nullptr) {
      *password = option->val;
      return true;
    }
  }
  return false;
}

// The redacted text must not give libpq the original password back.
void CheckRedactedParse(const std::string& redacted, const std::string& password) {
  if (password.empty() || password == "***") return;
  std::string after;
  if (LibpqPassword(redacted, &after)) Check(after != password);
}

bool ContainsCaseless(std::string_view text, std::string_view word) {
  for (size_t i = 0; i + word.size() <= text.size(); ++i) {
    bool match = true;
    for (size_t j = 0; j < word.size() && match; ++j) {
      match = std::tolower(static_cast<unsigned char>(text[i + j])) == word[j];
    }
    if (match) return true;
  }
  return false;
}

void FuzzRawConninfo(const std::string& text) {
  const std::string redacted = pgoutbox::pg::RedactConninfo(text);
  std::string password;
  if (text.find('\0') == std::string::npos && LibpqPassword(text, &password)) {
    CheckRedactedParse(redacted, password);
  }
}

// Checks the redaction of `before + written + after`, where `written` is how
// `password` is spelled in it.
void CheckBuilt(const std::string& before, const std::string& written, const std::string& after,
                const std::string& password, bool exact_check) {
  const std::string conninfo = before + written + after;
  std::string parsed;
  if (!LibpqPassword(conninfo, &parsed) || parsed != password) return;
  const std::string redacted = pgoutbox::pg::RedactConninfo(conninfo);
  CheckRedactedParse(redacted, password);
  if (!exact_check) return;
  const std::string head = before + "***";
  Check(redacted.compare(0, head.size(), head) == 0);
  const std::string_view tail = std::string_view(redacted).substr(head.size());
  Check(tail.size() <= after.size() &&
        after.compare(after.size() - tail.size(), tail.size(), tail.data(), tail.size()) == 0);
}

bool Clean(std::string_view part) {
  return !ContainsCaseless(part, "password") && part.find("://") == std::string_view::npos;
}

// key=value form: quoted with \' and \\ escapes (even style) or unquoted with
// a backslash before whitespace, backslashes and a leading quote.
void FuzzKeyValue(uint8_t style, const std::string& prefix, const std::string& password,
                  const std::string& suffix) {
  std::string written;
  if (style % 2 == 0 || password.empty()) {
    written = "'";
    for (char c : password) {
      if (c == '\'' || c == '\\') written.push_back('\\');
      written.push_back(c);
    }
    written += "'";
  } else {
    for (char c : password) {
      if (std::isspace(static_cast<unsigned char>(c)) || c == '\\' ||
          (c == '\'' && written.empty())) {
        written.push_back('\\');
      }
      written.push_back(c);
    }
  }
  CheckBuilt(prefix + " password=", written, " " + suffix, password,
             Clean(prefix) && Clean(suffix));
}

bool Unreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

// Percent-encodes every byte outside RFC 3986's unreserved set (even
// style), or only those in `must` (odd style).
std::string Encode(std::string_view text, uint8_t style, std::string_view must) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const bool encode = style % 2 == 0 ? !Unreserved(c) : must.find(c) != std::string_view::npos;
    if (encode) {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void FuzzUriUserInfo(uint8_t style, const std::string& user, const std::string& password,
                     const std::string& rest) {
  // libpq ends the user info at the first '@' (or '/' before any '@').
  const std::string written = Encode(password, style, "%@/");
  const std::string before = "postgresql://" + Encode(user, 0, "") + ":";
  CheckBuilt(before, written, "@" + rest, password, Clean(user) && Clean(rest));
}

void FuzzUriQuery(uint8_t style, const std::string& host, const std::string& password,
                  const std::string& rest) {
  // libpq splits parameters at '&' and refuses a second '='.
  const std::string written = Encode(password, style, "%&=#");
  const std::string before = "postgresql://" + Encode(host, 0, "") + "/db?password=";
  CheckBuilt(before, written, rest.empty() ? "" : "&" + rest, password, Clean(host) && Clean(rest));
}

void FuzzConfigEntries(std::string_view text) {
  pgoutbox::kafka::PublisherOptions options;
  options.brokers = "localhost:9092";
  for (const std::string& entry : SplitNul(text)) {
    auto parsed = pgoutbox::kafka::ParseConfigEntry(entry);
    const size_t eq = entry.find('=');
    Check(parsed.ok() == (eq != std::string::npos && eq != 0));
    if (!parsed.ok()) continue;
    const auto& [key, value] = *parsed;
    Check(key == entry.substr(0, eq) && value == entry.substr(eq + 1));
    // Plugins are loaded (dlopen) as soon as the property is set.
    if (key.rfind("plugin.", 0) == 0) continue;
    options.config.push_back(*parsed);
  }
  (void)pgoutbox::kafka::ValidateConfig(options);
}

void FuzzDuration(const std::string& text) {
  auto parsed = pgoutbox::ParseDuration(text);
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  // The value of the digits, saturated above 10^9 + 1.
  uint64_t n = 0;
  for (size_t i = 0; i < digits; ++i) {
    n = std::min<uint64_t>(n * 10 + static_cast<uint64_t>(text[i] - '0'), 1000000001);
  }
  const std::string unit = text.substr(digits);
  int64_t ms_per_unit = 0;
  if (unit.empty() || unit == "s") ms_per_unit = 1000;
  if (unit == "ms") ms_per_unit = 1;
  if (unit == "m" || unit == "min") ms_per_unit = 60 * 1000;
  if (unit == "h") ms_per_unit = 3600 * 1000;
  if (unit == "d") ms_per_unit = 24 * 3600 * 1000;
  const bool valid = digits > 0 && n <= 1000000000 && ms_per_unit != 0;
  Check(parsed.ok() == valid);
  if (!valid) return;
  Check(parsed->count() == static_cast<int64_t>(n) * ms_per_unit);
  auto back = pgoutbox::ParseDuration(pgoutbox::FormatDuration(*parsed));
  Check(back.ok() && *back == *parsed);
}

void FuzzByteSize(const std::string& text) {
  auto parsed = pgoutbox::ParseByteSize(text);
  if (parsed.ok()) {
    const uint64_t size = *parsed;
    constexpr uint64_t kMax = INT64_MAX;
    Check(size <= kMax);
    const std::string shown = pgoutbox::FormatByteSize(size);
    auto back = pgoutbox::ParseByteSize(shown);
    // One decimal of the unit: off by at most 5 %.
    if (size <= kMax - kMax / 20) Check(back.ok());
    if (back.ok()) {
      const uint64_t diff = *back > size ? *back - size : size - *back;
      Check(diff <= size / 20 + 1);
    }
  }
  // Any 64-bit value can be printed.
  uint64_t raw = 0;
  std::memcpy(&raw, text.data(), std::min(text.size(), sizeof raw));
  Check(!pgoutbox::FormatByteSize(raw).empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr char kModes[] = "ckuqxdb";
  const char mode =
      std::memchr(kModes, data[0], 7) != nullptr ? static_cast<char>(data[0]) : kModes[data[0] % 7];
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (mode) {
    case 'c':
      FuzzRawConninfo(text);
      break;
    case 'k':
    case 'u':
    case 'q': {
      if (text.empty()) break;
      const uint8_t style = static_cast<uint8_t>(text[0]);
      std::vector<std::string> parts = SplitNul(std::string_view(text).substr(1));
      parts.resize(std::max<size_t>(parts.size(), 3));
      if (mode == 'k') FuzzKeyValue(style, parts[0], parts[1], parts[2]);
      if (mode == 'u') FuzzUriUserInfo(style, parts[0], parts[1], parts[2]);
      if (mode == 'q') FuzzUriQuery(style, parts[0], parts[1], parts[2]);
      break;
    }
    case 'x':
      FuzzConfigEntries(text);
      break;
    case 'd':
      FuzzDuration(text);
      break;
    default:
      FuzzByteSize(text);
      break;
  }
  return 0;
}
