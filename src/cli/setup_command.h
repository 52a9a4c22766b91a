// SetupCommand: `pgoutbox setup`. Creates what pgoutbox needs in the
// database, idempotently, by running the SQL of sql/ with the given names:
// the outbox table, the publication, the least-privilege role and its grants,
// and the logical replication slot (last). Prints one line per object, what
// existed and what it created; when it created the slot, two "note:" lines
// after it: the slot retains WAL until pgoutbox runs (start it soon or drop
// the slot), and rows already in the table are never published. --dry-run
// prints the SQL instead and changes nothing. Exit 0 done, 1 failed (database unreachable,
// wal_level not logical, an existing object in the way, a statement failed), 2 bad flags.
#pragma once

#include <memory>

#include "cli/command.h"

namespace pgoutbox::cli {

// Declares `pgoutbox setup` on `app`.
std::unique_ptr<Command> MakeSetupCommand(CLI::App* app);

}  // namespace pgoutbox::cli
