#include "app/cleanup_once.h"

#include <spdlog/spdlog.h>

#include "app/stop_watcher.h"
#include "common/duration.h"
#include "pg/connection.h"
#include "pg/statement_canceller.h"

namespace pgoutbox::app {

Result<admin::CleanupStats> CleanupOnce(const admin::PeriodicCleanerOptions& config,
                                        const pg::TableSelection& selection,
                                        const std::atomic<int>* stop_requests) {
  const admin::CleanupOptions& options = config.cleanup;
  ASSIGN_OR_RETURN(auto conn,
                   pg::PgConnection::Connect(config.conninfo, pg::PgConnection::Kind::kOrdinary,
                                             "pgoutbox cleanup"));
  ASSIGN_OR_RETURN(admin::CleanupTables tables,
                   admin::FindCleanupTables(*conn, selection, options.created_at_column));
  for (const pg::TableName& t : tables.without_column) {
    spdlog::info("outbox cleanup: table {} has no column {}; it is not cleaned", t.ToString(),
                 options.created_at_column);
  }
  if (tables.tables.empty()) {
    return Status::NotFound("outbox cleanup: no table of --table " + selection.ToString() +
                            " has column " + options.created_at_column +
                            " (name it with --column-created-at)");
  }
  std::string names;
  for (const pg::TableName& t : tables.tables) names += (names.empty() ? "" : ", ") + t.ToString();
  spdlog::info("outbox cleanup of {}: deleting rows whose {} is older than {}, {} per batch", names,
               options.created_at_column, FormatDuration(options.retention), options.batch_size);
  pg::StatementCanceller canceller(*conn);
  std::atomic<bool> stop{false};
  Result<admin::CleanupStats> stats = Status::Internal("cleanup pass did not run");
  {
    StopWatcher watcher(stop_requests, &canceller, &stop);
    stats = admin::RunCleanupPasses(*conn, options, tables.tables, &stop);
  }
  if (!stats.ok()) return stats;
  spdlog::info("{}{}", admin::DescribePass(*stats, options),
               stats->stopped ? "; stopped early by a signal" : "");
  return stats;
}

}  // namespace pgoutbox::app
