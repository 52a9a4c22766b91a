// QuantilesCommand: `pgoutbox-bench quantiles`. The count and p50, p99 and
// p99.9 (milliseconds) of a pgoutbox histogram between two /metrics scrapes
// (bench/histogram.h), after present=1. A histogram that the later scrape
// does not hold (a pgoutbox version without it) prints "present=0 count=0"
// and exits 0, so the benchmark runs against versions with and without it.
#pragma once

#include <memory>

#include "tools/command.h"

namespace pgoutbox::tools {

// Declares `pgoutbox-bench quantiles` on `app`.
std::unique_ptr<Command> MakeQuantilesCommand(CLI::App* app);

}  // namespace pgoutbox::tools
