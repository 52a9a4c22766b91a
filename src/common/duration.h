// Durations as people write and read them, on the command line and in
// messages: "250ms", "1s", "5m", "24h", "1d", or a plain number of seconds
// ("30"). The one parser and the one formatter of durations: flags, the
// start-up line, log messages and the health endpoint all use these, so what
// pgoutbox prints reads back as the same value.
//
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"

namespace pgoutbox {

// Parses digits (at most 10^9) followed by one of the units "ms", "s" (or
// none), "m" or "min", "h", "d". "0" is zero. InvalidArgument (quoting
// `text`) for anything else: a sign, a fraction, a space, another unit.
Result<std::chrono::milliseconds> ParseDuration(const std::string& text);

// "24h", "90m", "30s", "1500ms", "0s": the largest of h, m, s and ms that
// divides the duration exactly. ParseDuration reads it back as the same value.
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace pgoutbox
