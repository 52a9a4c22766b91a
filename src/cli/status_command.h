// StatusCommand: `pgoutbox status`. Reports the replication slot (plugin,
// active, confirmed position, lag, WAL it retains, wal_status,
// safe_wal_size) and the outbox table (rows, oldest row's age), as aligned
// text or one JSON object (--json), and judges health for monitoring: exit 0
// healthy; 1 when the slot is missing, lost, more than --max-lag behind, or
// the database cannot be reached; 2 for bad flags.
//
// A slot that exists but is inactive (no pgoutbox streaming from it) while it
// retains WAL is warned about, in the text ("warning: ..." before the verdict
// line) and in --json ("warnings"), with the WAL it holds; it is still exit 0
// unless its lag exceeds --max-lag (an inactive slot is normal right after
// setup or during a restart or failover; --max-lag bounds how much WAL may
// pile up). See admin::Judge.
#pragma once

#include <memory>

#include "cli/command.h"

namespace pgoutbox::cli {

// Declares `pgoutbox status` on `app`.
std::unique_ptr<Command> MakeStatusCommand(CLI::App* app);

}  // namespace pgoutbox::cli
