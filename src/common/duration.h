// Durations as people write and read them, on the command line and in
// messages: "250ms", "1s", "5m", "24h", "1d", or a plain number of seconds
// ("30"). The one parser and the one formatter of durations: flags, the
// start-up line, log messages and the health endpoint all use these, so what
// pgoutbox prints reads back as the same value.
//
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <climits>
#include <string>

#include "common/status.h"

namespace pgoutbox {

// The longest duration ParseDuration accepts by default: 100 years. Added to
// a reading of any std::chrono clock (nanosecond ticks, good for 292 years
// either side of its epoch), it cannot overflow.
inline constexpr std::chrono::milliseconds kMaxDuration{36500LL * 24 * 3600 * 1000};

// The longest duration that is handed on as an int of milliseconds (poll(),
// librdkafka's timeouts, PostgreSQL's lock_timeout, statement_timeout and
// wal_sender_timeout): INT_MAX ms, about 24.8 days.
inline constexpr std::chrono::milliseconds kMaxIntMillis{INT_MAX};

// Parses digits followed by one of the units "ms", "s" (or none), "m" or
// "min", "h", "d". "0" is zero. InvalidArgument (quoting `text`) for anything
// else: a sign, a fraction, a space, another unit, or a duration longer than
// `max` (the message names the limit).
Result<std::chrono::milliseconds> ParseDuration(const std::string& text,
                                                std::chrono::milliseconds max = kMaxDuration);

// "24h", "90m", "30s", "1500ms", "0s": the largest of h, m, s and ms that
// divides the duration exactly. ParseDuration reads it back as the same value.
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace pgoutbox
