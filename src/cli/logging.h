// Logging set-up: spdlog to stderr, as human-readable text or as one JSON
// object per line ({"time":..., "level":..., "msg":...}) for log shippers.
//
// Thread safety: call once from main() before any other thread logs.
#pragma once

#include <string>

#include "common/status.h"

namespace pgoutbox::cli {

enum class LogFormat { kText, kJson };

// InvalidArgument for an unknown level or format.
Status SetUpLogging(const std::string& level, const std::string& format);

}  // namespace pgoutbox::cli
