// CleanupCommand: `pgoutbox cleanup`, one pass of deleting outbox rows older
// than the retention (see admin/cleanup.h), for cron jobs and for running by
// hand. Prints "deleted N rows" on stdout.
//
// The cleanup flags are shared with `pgoutbox run`, which cleans up
// periodically: AddCleanupFlags declares them on either command with the same
// names, defaults and PGOUTBOX_* variables (one name per setting:
// --cleanup-lock-timeout is PGOUTBOX_CLEANUP_LOCK_TIMEOUT on both), and
// ResolveCleanupFlags validates them.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "admin/cleanup.h"
#include "cli/command.h"
#include "common/defaults.h"
#include "common/status.h"

namespace pgoutbox::cli {

// Which command the cleanup flags are declared on.
enum class CleanupFlagScope {
  // `pgoutbox cleanup`: --column-created-at, --retention, --cleanup-batch,
  // --cleanup-lock-timeout, --cleanup-statement-timeout.
  kCleanupCommand,
  // `pgoutbox run`: the same plus --cleanup-interval.
  kRunCommand,
};

// Raw flag values as CLI11 fills them; ResolveCleanupFlags() validates them.
struct CleanupFlags {
  std::string created_at_column{defaults::kCreatedAtColumn};
  std::string retention = DurationFlag(defaults::kRetention);
  std::string interval = DurationFlag(defaults::kCleanupInterval);
  int batch_size = defaults::kCleanupBatch;
  std::string lock_timeout = DurationFlag(defaults::kCleanupLockTimeout);
  std::string statement_timeout = DurationFlag(defaults::kCleanupStatementTimeout);
};

// Declares the cleanup flags on `cmd`, bound to `flags` (which must outlive
// parsing). Every flag can also come from PGOUTBOX_<FLAG>.
void AddCleanupFlags(CLI::App* cmd, CleanupFlags* flags,
                     CleanupFlagScope scope = CleanupFlagScope::kCleanupCommand);

// Validates the flags, with the database (`db`, the --db value) and the outbox
// tables (`tables`, the --table entries), into the options of a
// PeriodicCleaner: `tables` holds the exact entries (a caller whose --table
// has patterns replaces it with the tables found, admin::CleanupTables);
// `pgoutbox cleanup` uses its `cleanup` part. InvalidArgument naming the
// flag. A retention of 0 is valid: cleanup is disabled
// (result.cleanup.enabled() is false).
Result<admin::PeriodicCleanerOptions> ResolveCleanupFlags(const CleanupFlags& flags,
                                                          const std::string& db,
                                                          const std::vector<std::string>& tables);

// What `pgoutbox cleanup` prints on stdout after a pass: "deleted 1 row".
std::string CleanupSummary(const admin::CleanupStats& stats);

// Declares `pgoutbox cleanup` on `app`.
std::unique_ptr<Command> MakeCleanupCommand(CLI::App* app);

}  // namespace pgoutbox::cli
