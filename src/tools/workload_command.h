// WorkloadCommand: `pgoutbox-bench workload`. The fault suite's load: mixed
// transactions until --events events are committed (faults/fault_workload.h);
// prints what was committed, rolled back, cut short, per kind of transaction.
#pragma once

#include <memory>

#include "tools/command.h"

namespace pgoutbox::tools {

// Declares `pgoutbox-bench workload` on `app`.
std::unique_ptr<Command> MakeWorkloadCommand(CLI::App* app);

}  // namespace pgoutbox::tools
