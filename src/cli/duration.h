// Durations on the command line: "250ms", "1s", "5m", "24h", "1d" or a plain
// number of seconds ("30"). "0" is zero.
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"

namespace pgoutbox::cli {

Result<std::chrono::milliseconds> ParseDuration(const std::string& text);

}  // namespace pgoutbox::cli
