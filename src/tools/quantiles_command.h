// QuantilesCommand: `pgoutbox-bench quantiles`. The count and p50, p99 and
// p99.9 (milliseconds) of a pgoutbox histogram between two /metrics scrapes
// (bench/histogram.h).
#pragma once

#include <memory>

#include "tools/command.h"

namespace pgoutbox::tools {

// Declares `pgoutbox-bench quantiles` on `app`.
std::unique_ptr<Command> MakeQuantilesCommand(CLI::App* app);

}  // namespace pgoutbox::tools
