// CleanupOnce: what `pgoutbox cleanup` does, one pass of deleting outbox rows
// older than the retention (admin/cleanup.h) on a connection of its own, for
// cron jobs and for running by hand. The pass covers every table of the
// selection that has the created_at column, one after another; a table
// without the column is skipped with an info line.
//
// A stop signal (`*stop_requests` > 0) cancels the running batch and ends the
// pass early (stats.stopped). Failure: Unavailable when the database cannot
// be reached; NotFound when an exact entry names no table or no selected
// table has the column; the batch's error otherwise (after the other tables
// were cleaned). Thread safety: one thread (a watcher thread of its own
// cancels on a signal).
#pragma once

#include <atomic>

#include "admin/cleanup.h"
#include "common/status.h"
#include "pg/table_selection.h"

namespace pgoutbox::app {

// REQUIRES: config.cleanup.enabled(). config.tables and config.cleanup.table
// are not used: `selection` names the tables.
Result<admin::CleanupStats> CleanupOnce(const admin::PeriodicCleanerOptions& config,
                                        const pg::TableSelection& selection,
                                        const std::atomic<int>* stop_requests);

}  // namespace pgoutbox::app
