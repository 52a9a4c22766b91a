// StatusCommand: `pgoutbox status`. Reports the replication slot (plugin,
// active, confirmed position, lag, WAL it retains, wal_status,
// safe_wal_size) and the outbox table (rows, oldest row's age), as aligned
// text or one JSON object (--json), and judges health for monitoring: exit 0
// healthy; 1 when the slot is missing, lost, more than --max-lag behind, or
// the database cannot be reached; 2 for bad flags.
#pragma once

#include <memory>

#include "cli/command.h"

namespace pgoutbox::cli {

// Declares `pgoutbox status` on `app`.
std::unique_ptr<Command> MakeStatusCommand(CLI::App* app);

}  // namespace pgoutbox::cli
