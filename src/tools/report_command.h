// ReportCommand: `pgoutbox-bench report`. Turns the benchmark's measurements
// (scripts/bench.sh writes them as phase,metric,value,unit) into its report
// in --out-dir: results.csv (the measurements, the figures derived from them
// and the targets met), results.md (the tables) and chart.png (drawn by
// gnuplot, which it runs). See bench/results.h and bench/report.h.
#pragma once

#include <memory>

#include "tools/command.h"

namespace pgoutbox::tools {

// Declares `pgoutbox-bench report` on `app`.
std::unique_ptr<Command> MakeReportCommand(CLI::App* app);

}  // namespace pgoutbox::tools
