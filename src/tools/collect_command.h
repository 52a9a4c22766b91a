// CollectCommand: `pgoutbox-bench collect`. The fault suite's independent
// consumer (faults/fault_collector.h): prints "ready=1" once assigned, writes
// every record to --out until SIGTERM, then drains to the high watermarks.
// Exit 0 when it drained, 1 otherwise.
#pragma once

#include <memory>

#include "tools/command.h"

namespace pgoutbox::tools {

// Declares `pgoutbox-bench collect` on `app`.
std::unique_ptr<Command> MakeCollectCommand(CLI::App* app);

}  // namespace pgoutbox::tools
