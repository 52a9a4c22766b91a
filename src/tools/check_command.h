// CheckCommand: `pgoutbox-bench check`. The fault suite's report and verdict:
// compares the table with what the consumer read (faults/fault_check.h) and
// prints the figures, after a description of the run when its flags are given
// (faults/fault_report.h); with --out-dir also writes them to figures.txt
// and results.md there. Exit 0 when nothing was lost, published uncommitted
// or reordered and the slot confirmed the end; 3 otherwise.
#pragma once

#include <memory>

#include "tools/command.h"

namespace pgoutbox::tools {

// Declares `pgoutbox-bench check` on `app`.
std::unique_ptr<Command> MakeCheckCommand(CLI::App* app);

}  // namespace pgoutbox::tools
