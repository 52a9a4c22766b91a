// Cleanup: deletes outbox rows older than a retention period.
//
// Deleting outbox rows never loses events: logical decoding reads the WAL,
// not the table, and the publication publishes inserts only, so a row may be
// deleted at any time after its transaction committed, even before pgoutbox
// has streamed it.
//
// A pass deletes in batches, each its own short transaction with SET LOCAL
// lock_timeout and statement_timeout:
//
//   SELECT pg_try_advisory_xact_lock(<key of the table's OID>);
//   DELETE FROM t WHERE ctid = ANY(ARRAY(
//     SELECT ctid FROM t WHERE created_at < $cutoff LIMIT $n))
//
// Privileges: SELECT and DELETE on the table, nothing more (the role that
// `pgoutbox setup` creates). There is deliberately no FOR UPDATE / SKIP
// LOCKED: a row-locking clause needs the UPDATE privilege. Instead:
//  - Inserts never conflict with these deletes.
//  - A row that an application holds locked (SELECT ... FOR UPDATE, an
//    UPDATE in progress) makes the DELETE wait for it, at most lock_timeout;
//    then the batch is rolled back and the pass gives up (stats.gave_up), so
//    nobody waits on cleanup for longer than that. The next pass tries again
//    and deletes the row once it is released.
//  - Concurrent cleaners of one table (the daemon's periodic cleaner, a hot
//    standby's, a manual `pgoutbox cleanup`) are serialised by the
//    transaction-level advisory lock, which needs no privilege: a batch runs
//    only while holding it, so two cleaners never wait for each other's rows.
//    A cleaner that does not get it ends its pass (stats.other_cleaner) and
//    logs so at info level; the holder deletes the rows.
// The cutoff (now() - retention) is fixed once at the start of a pass, so a
// pass only deletes rows that were already old when it began and ends after a
// batch deletes fewer than batch_size rows. A partitioned outbox is cleaned
// one leaf partition at a time, because a ctid names a row only within one
// partition; the leaves are named directly, so the role needs SELECT and
// DELETE on each leaf partition too (PostgreSQL checks a partition's own
// privileges when it is named), and the advisory lock is keyed on the parent.
//
// Several outbox tables are cleaned one after another, each with its own
// cutoff, batches and lock: CleanupTables finds them (those with the
// created_at column), RunCleanupPasses runs a pass over each.
//
// RunCleanupPass runs one pass on a caller's connection; PeriodicCleaner owns
// a connection and a thread that runs a pass (over every table) every
// interval.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/defaults.h"
#include "common/status.h"
#include "observe/metrics.h"
#include "pg/catalog.h"
#include "pg/connection.h"
#include "pg/statement_canceller.h"
#include "pg/table_selection.h"

namespace pgoutbox::admin {

struct CleanupOptions {
  pg::TableName table;
  std::string created_at_column{defaults::kCreatedAtColumn};
  // Rows whose created_at is older than now() - retention are deleted.
  // 0 disables cleanup.
  std::chrono::milliseconds retention = defaults::kRetention;
  int batch_size = defaults::kCleanupBatch;
  // Per batch: how long to wait for a lock (a table lock, e.g. behind a
  // migration's ALTER TABLE, or a row an application holds locked) and how
  // long one DELETE may run. Both must be > 0.
  std::chrono::milliseconds lock_timeout = defaults::kCleanupLockTimeout;
  std::chrono::milliseconds statement_timeout = defaults::kCleanupStatementTimeout;

  bool enabled() const { return retention.count() > 0; }
};

// InvalidArgument naming the bad field (batch_size < 1, a timeout <= 0, a
// negative retention, an empty column name).
Status ValidateCleanupOptions(const CleanupOptions& options);

// What one pass did.
struct CleanupStats {
  uint64_t rows = 0;  // rows deleted
  int batches = 0;    // batches committed, including a final short or empty one
  // A batch gave up on lock_timeout (SQLSTATE 55P03) or statement_timeout
  // (57014) and was rolled back; its rows are left for the next pass.
  bool gave_up = false;
  // Another session held the table's cleanup lock (another cleaner was
  // deleting), so the pass ended before its next batch: not an error.
  bool other_cleaner = false;
  bool stopped = false;  // *stop was set before the pass finished
  std::chrono::milliseconds elapsed{0};
};

// Runs one pass on `conn` (an ordinary connection, no transaction open).
// Stops early, with stats.stopped, once `*stop` is true: it is checked before
// every batch, and a batch cancelled (see StatementCanceller) while `*stop` is
// true is rolled back without a warning. With a disabled retention, deletes
// nothing and touches no table.
//
// A batch that hits lock_timeout or statement_timeout is rolled back, logged
// as a warning and ends the pass with stats.gave_up: not an error. A batch
// that finds the table's cleanup lock held by another session deletes nothing
// and ends the pass with stats.other_cleaner, logged at info level. Any other
// failure rolls the open batch back and returns non-OK: NotFound if the table
// or the column does not exist, Unavailable if the connection was lost,
// FailedPrecondition for other server errors. Batches committed before the
// failure stay deleted; if `progress` is not null it is updated after every
// committed batch, so a caller can still count them when the pass fails.
Result<CleanupStats> RunCleanupPass(pg::PgConnection& conn, const CleanupOptions& options,
                                    const std::atomic<bool>* stop = nullptr,
                                    CleanupStats* progress = nullptr);

// The tables `selection` matches (pg::ListTables) that cleanup deletes from:
// those that have the column `created_at_column` (in `tables`), and those
// that lack it (in `without_column`, for the caller to log), each sorted.
// An exact entry that does not exist is NotFound, as for one table.
struct CleanupTables {
  std::vector<pg::TableName> tables;
  std::vector<pg::TableName> without_column;
};
Result<CleanupTables> FindCleanupTables(pg::PgConnection& conn, const pg::TableSelection& selection,
                                        const std::string& created_at_column);

// Runs RunCleanupPass over each of `tables` in turn (options.table is
// ignored) and returns the sum: rows, batches and elapsed added up, gave_up
// and other_cleaner if any pass had them; stops before the next table once
// `*stop` is set (stats.stopped). A table whose pass fails does not keep the
// others from being cleaned: the first failure is returned after the rest
// ran, unless the connection was lost (returned at once). `progress` as for
// RunCleanupPass, over all tables.
Result<CleanupStats> RunCleanupPasses(pg::PgConnection& conn, const CleanupOptions& options,
                                      const std::vector<pg::TableName>& tables,
                                      const std::atomic<bool>* stop = nullptr,
                                      CleanupStats* progress = nullptr);

// "deleted 1 outbox row older than 24h in 1 batch (X ms)", "deleted N outbox
// rows ... in K batches (X ms)".
std::string DescribePass(const CleanupStats& stats, const CleanupOptions& options);

struct PeriodicCleanerOptions {
  std::string conninfo;    // libpq conninfo or URI (an ordinary connection)
  CleanupOptions cleanup;  // cleanup.table: ignored when `tables` is not empty
  // The tables each pass cleans, one after another; empty: cleanup.table.
  std::vector<pg::TableName> tables;
  // Set: before each pass the tables are found again (FindCleanupTables with
  // cleanup.created_at_column), so that a table the selection matches that
  // appears while the daemon runs (a new tenant) is cleaned too; `tables`
  // is what the first pass cleans if the lookup fails.
  std::optional<pg::TableSelection> selection;
  // Time from the end of one pass to the start of the next. The first pass
  // runs right after Start().
  std::chrono::milliseconds interval = defaults::kCleanupInterval;
  // After a lost connection or a failed attempt to connect, the next attempt
  // waits this long (so a database outage logs one line per attempt).
  std::chrono::milliseconds reconnect_delay{std::chrono::seconds(5)};
};

// Runs a cleanup pass every interval on a thread of its own, with a
// connection of its own (application_name "pgoutbox cleanup"). Each pass
// cleans every table of options.tables one after another (RunCleanupPasses);
// with none, options.cleanup.table. With options.selection, each pass looks
// the tables up again and logs one info line for each table it starts
// cleaning; a failed lookup is logged and the pass cleans the tables it knew.
//
// Each pass that deleted something logs one info line (DescribePass) and adds
// its rows to Metrics::CleanupDeleted. A failed pass is logged and the next
// one runs an interval later; cleanup never stops the daemon. A lost
// connection is logged and re-established, at most once per reconnect_delay.
//
// Lifecycle: construct, Start() once, Stop() (or destroy) once. Stop() is
// prompt: it wakes the thread from its wait and cancels a running batch.
// Thread safety: Start() and Stop() from one owner thread; the metrics object
// must outlive the cleaner (may be null).
class PeriodicCleaner {
 public:
  PeriodicCleaner(PeriodicCleanerOptions options, observe::Metrics* metrics);
  // The same with options.tables = `tables` (the daemon passes the outbox
  // tables that have the created_at column).
  PeriodicCleaner(PeriodicCleanerOptions options, std::vector<pg::TableName> tables,
                  observe::Metrics* metrics);
  ~PeriodicCleaner();  // Stop()
  PeriodicCleaner(const PeriodicCleaner&) = delete;
  PeriodicCleaner& operator=(const PeriodicCleaner&) = delete;

  // Validates the options and starts the thread. InvalidArgument for bad
  // options (interval and reconnect_delay must be > 0). With a disabled
  // retention logs that cleanup is off and starts nothing.
  Status Start();
  // Stops the thread and waits for it; the connection is closed. Idempotent.
  void Stop();

 private:
  void Loop();
  // Connects unless connected; false if not connected (logged).
  bool EnsureConnected(std::unique_ptr<pg::PgConnection>* conn, bool* was_connected);
  // Closes the connection (the canceller first, under mu_).
  void Disconnect(std::unique_ptr<pg::PgConnection>* conn);
  // Waits `d` or until Stop(); false if stopping.
  bool WaitFor(std::chrono::milliseconds d);

  // The tables of each pass: options.tables, or options.cleanup.table.
  std::vector<pg::TableName> Tables() const;

  const PeriodicCleanerOptions options_;
  observe::Metrics* const metrics_;
  std::thread thread_;
  std::atomic<bool> stop_{false};  // read by RunCleanupPass between batches

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool finished_ = false;  // guarded by mu_; the thread's loop has ended
  // Guarded by mu_; set while connected. Shared so that Stop() can cancel
  // outside the lock (PQcancel opens a connection to the server).
  std::shared_ptr<pg::StatementCanceller> canceller_;
};

}  // namespace pgoutbox::admin
