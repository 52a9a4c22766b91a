// ReceiveCommand: `pgoutbox-bench receive`. The benchmark's ceiling: reads a
// slot's stream up to --end-lsn and only counts (bench/receiver.h); prints
// events, messages, bytes, seconds and events_per_s.
#pragma once

#include <memory>

#include "tools/command.h"

namespace pgoutbox::tools {

// Declares `pgoutbox-bench receive` on `app`.
std::unique_ptr<Command> MakeReceiveCommand(CLI::App* app);

}  // namespace pgoutbox::tools
