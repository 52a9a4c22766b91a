// CleanupOnce: what `pgoutbox cleanup` does, one pass of deleting outbox rows
// older than the retention (admin/cleanup.h) on a connection of its own, for
// cron jobs and for running by hand.
//
// A stop signal (`*stop_requests` > 0) cancels the running batch and ends the
// pass early (stats.stopped). Failure: Unavailable when the database cannot
// be reached, the batch's error otherwise. Thread safety: one thread (a
// watcher thread of its own cancels on a signal).
#pragma once

#include <atomic>

#include "admin/cleanup.h"
#include "common/status.h"

namespace pgoutbox::app {

// REQUIRES: config.cleanup.enabled().
Result<admin::CleanupStats> CleanupOnce(const admin::PeriodicCleanerOptions& config,
                                        const std::atomic<int>* stop_requests);

}  // namespace pgoutbox::app
