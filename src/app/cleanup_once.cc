#include "app/cleanup_once.h"

#include <spdlog/spdlog.h>

#include "app/stop_watcher.h"
#include "common/duration.h"
#include "pg/connection.h"
#include "pg/statement_canceller.h"

namespace pgoutbox::app {

Result<admin::CleanupStats> CleanupOnce(const admin::PeriodicCleanerOptions& config,
                                        const std::atomic<int>* stop_requests) {
  const admin::CleanupOptions& options = config.cleanup;
  spdlog::info("outbox cleanup of {}: deleting rows whose {} is older than {}, {} per batch",
               options.table.ToString(), options.created_at_column,
               FormatDuration(options.retention), options.batch_size);
  ASSIGN_OR_RETURN(auto conn,
                   pg::PgConnection::Connect(config.conninfo, pg::PgConnection::Kind::kOrdinary,
                                             "pgoutbox cleanup"));
  pg::StatementCanceller canceller(*conn);
  std::atomic<bool> stop{false};
  Result<admin::CleanupStats> stats = Status::Internal("cleanup pass did not run");
  {
    StopWatcher watcher(stop_requests, &canceller, &stop);
    stats = admin::RunCleanupPass(*conn, options, &stop);
  }
  if (!stats.ok()) return stats;
  spdlog::info("{}{}", admin::DescribePass(*stats, options),
               stats->stopped ? "; stopped early by a signal" : "");
  return stats;
}

}  // namespace pgoutbox::app
