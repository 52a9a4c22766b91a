#include "admin/cleanup.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "common/duration.h"
#include "common/text.h"

namespace pgoutbox::admin {

namespace {

using Clock = std::chrono::steady_clock;

constexpr char kLockNotAvailable[] = "55P03";  // lock_timeout
constexpr char kQueryCanceled[] = "57014";     // statement_timeout or a cancel request
constexpr char kUndefinedTable[] = "42P01";
constexpr char kUndefinedColumn[] = "42703";
constexpr char kUndefinedFunction[] = "42883";  // e.g. text < timestamptz
constexpr char kInsufficientPrivilege[] = "42501";

constexpr char kApplicationName[] = "pgoutbox cleanup";

bool Stopping(const std::atomic<bool>* stop) { return stop != nullptr && stop->load(); }

// The server's message without the "ERROR:" prefix and the LINE/caret
// context that libpq appends for a statement position.
std::string ServerMessage(const pg::SqlError& error) {
  std::string m = error.message;
  if (m.rfind("ERROR:", 0) == 0) m.erase(0, m.find_first_not_of(' ', 6));
  if (size_t line = m.find(" LINE "); line != std::string::npos) m.erase(line);
  return m;
}

// The cutoff as an unambiguous ISO 8601 UTC timestamp, whatever the
// session's DateStyle and TimeZone.
constexpr char kCutoffSql[] =
    "SELECT to_char((now() - $1::interval) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || "
    "'+00'";

// One batch: at most $2 rows older than the cutoff $1. No row-lock clause
// (FOR UPDATE would need the UPDATE privilege, which pgoutbox's role does not
// have): a row another transaction holds locked makes the DELETE wait for it,
// up to the batch's lock_timeout. The ctids are collected once (ARRAY() runs
// as an InitPlan), so the DELETE is a TID scan; a row updated meanwhile has a
// new ctid and is left alone. `target` and `column` are quoted SQL names.
std::string DeleteSql(const std::string& target, const std::string& column) {
  return "WITH deleted AS (DELETE FROM " + target + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " +
         target + " WHERE " + column +
         " < $1::timestamptz LIMIT $2)) RETURNING 1) "
         "SELECT count(*) FROM deleted";
}

// The transaction-level advisory lock that serialises cleaners of one table
// (the daemon's, a hot standby's, a manual `pgoutbox cleanup`): two cleaners
// would otherwise pick the same ctids and the second would wait for the
// first's deletes. Taking it needs no privilege. The key is the table's OID
// under a fixed high word ("pgob"), so cleaners of different tables never
// collide, and it ends with the batch's transaction.
constexpr char kTryLockSql[] =
    "SELECT pg_try_advisory_xact_lock((x'70676f62'::bigint << 32) | $1::oid::bigint)";

struct Targets {
  std::string table_oid;  // of the table named in the options (the cleanup lock's key)
  std::vector<std::string> relations;
};

// The relations to delete from, as SQL names: the table itself, or every
// leaf partition of a partitioned table (a ctid is unique only within one
// partition, so the parent cannot be cleaned by ctid).
Result<Targets> DeleteTargets(pg::PgConnection& conn, const pg::TableName& table) {
  ASSIGN_OR_RETURN(pg::Rows rel,
                   conn.QueryParams("SELECT c.oid, c.relkind FROM pg_class c JOIN pg_namespace n "
                                    "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND "
                                    "c.relname = $2",
                                    {table.schema, table.name}));
  if (rel.empty()) return Status::NotFound("table " + table.ToString() + " does not exist");
  Targets targets;
  targets.table_oid = rel.Get(0, 0);
  const std::string kind = rel.Get(0, 1);
  if (kind == "r") {
    targets.relations = {conn.QuoteIdentifier(table.schema) + "." +
                         conn.QuoteIdentifier(table.name)};
    return targets;
  }
  if (kind != "p") {
    return Status::FailedPrecondition(table.ToString() + " is not a table (relkind " + kind + ")");
  }
  // regclass prints a quoted name, schema-qualified unless on the search_path:
  // valid SQL on this session.
  ASSIGN_OR_RETURN(pg::Rows leaves,
                   conn.QueryParams("SELECT t.relid::regclass::text FROM "
                                    "pg_partition_tree($1::oid::regclass) t JOIN pg_class c ON "
                                    "c.oid = t.relid WHERE t.isleaf AND c.relkind = 'r' ORDER BY 1",
                                    {rel.Get(0, 0)}));
  for (size_t i = 0; i < leaves.size(); ++i) targets.relations.push_back(leaves.Get(i, 0));
  return targets;
}

enum class BatchEnd { kCommitted, kGaveUp, kStopped, kOtherCleaner };
struct BatchResult {
  BatchEnd end = BatchEnd::kCommitted;
  uint64_t rows = 0;
};

// Turns a failed statement of a batch into the pass's outcome, after rolling
// the batch back.
Result<BatchResult> BatchFailed(pg::PgConnection& conn, const CleanupOptions& options,
                                const std::atomic<bool>* stop, const Status& status,
                                const pg::SqlError& error) {
  if (PQstatus(conn.get()) == CONNECTION_OK && PQtransactionStatus(conn.get()) != PQTRANS_IDLE) {
    auto rollback = conn.Query("ROLLBACK");
    if (!rollback.ok() && PQstatus(conn.get()) != CONNECTION_OK) return rollback.status();
  }
  const std::string table = options.table.ToString();
  if (error.sqlstate == kLockNotAvailable || error.sqlstate == kQueryCanceled) {
    if (Stopping(stop)) return BatchResult{BatchEnd::kStopped, 0};
    // The server's message says which: "canceling statement due to lock
    // timeout", "... statement timeout" or "... user request".
    spdlog::warn(
        "outbox cleanup of {}: a batch was rolled back ({}; lock_timeout {}, statement_timeout "
        "{}); its rows are left for the next pass",
        table, ServerMessage(error), FormatDuration(options.lock_timeout),
        FormatDuration(options.statement_timeout));
    return BatchResult{BatchEnd::kGaveUp, 0};
  }
  if (error.sqlstate == kUndefinedTable) {
    return Status::NotFound("outbox cleanup: table " + table + " does not exist");
  }
  if (error.sqlstate == kUndefinedColumn) {
    return Status::NotFound("outbox cleanup: table " + table + " has no column " +
                            options.created_at_column);
  }
  if (error.sqlstate == kInsufficientPrivilege) {
    return Status::FailedPrecondition(
        "outbox cleanup of " + table + " failed: " + ServerMessage(error) + " (SQLSTATE " +
        error.sqlstate + "); cleanup needs SELECT and DELETE on " + table +
        ", and on each of its partitions if it is partitioned (sql/role.sql grants them on the "
        "table)");
  }
  if (error.sqlstate == kUndefinedFunction) {
    return Status::FailedPrecondition(
        "outbox cleanup: column " + options.created_at_column + " of " + table +
        " cannot be compared with a timestamptz: " + ServerMessage(error));
  }
  if (!error.sqlstate.empty() && status.code() != Status::Code::kUnavailable) {
    // The server's message says enough; the statement would only be noise.
    return Status::FailedPrecondition("outbox cleanup of " + table + " failed: " +
                                      ServerMessage(error) + " (SQLSTATE " + error.sqlstate + ")");
  }
  return status.WithContext("outbox cleanup of " + table);
}

Result<BatchResult> RollBack(pg::PgConnection& conn, BatchEnd end) {
  auto rollback = conn.Query("ROLLBACK");
  if (!rollback.ok() && PQstatus(conn.get()) != CONNECTION_OK) return rollback.status();
  return BatchResult{end, 0};
}

// Deletes one batch in its own transaction with the pass's timeouts, if it
// gets the table's cleanup lock (kOtherCleaner if another session holds it).
Result<BatchResult> DeleteBatch(pg::PgConnection& conn, const std::string& table_oid,
                                const std::string& sql, const std::vector<std::string>& params,
                                const CleanupOptions& options, const std::atomic<bool>* stop) {
  pg::SqlError error;
  if (auto begin = conn.Query("BEGIN", &error); !begin.ok()) {
    return BatchFailed(conn, options, stop, begin.status(), error);
  }
  // SET LOCAL, with parameters: both end with the transaction.
  if (auto set = conn.QueryParams(
          "SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)",
          {std::to_string(options.lock_timeout.count()) + "ms",
           std::to_string(options.statement_timeout.count()) + "ms"},
          &error);
      !set.ok()) {
    return BatchFailed(conn, options, stop, set.status(), error);
  }
  auto locked = conn.QueryParams(kTryLockSql, {table_oid}, &error);
  if (!locked.ok()) return BatchFailed(conn, options, stop, locked.status(), error);
  if (locked->Get(0, 0) != "t") return RollBack(conn, BatchEnd::kOtherCleaner);
  if (Stopping(stop)) return RollBack(conn, BatchEnd::kStopped);
  auto deleted = conn.QueryParams(sql, params, &error);
  if (!deleted.ok()) return BatchFailed(conn, options, stop, deleted.status(), error);
  if (auto commit = conn.Query("COMMIT", &error); !commit.ok()) {
    return BatchFailed(conn, options, stop, commit.status(), error);
  }
  return BatchResult{BatchEnd::kCommitted, std::stoull(deleted->Get(0, 0))};
}

// "a.outbox, b.outbox" (at most a few names, then how many more).
std::string TableList(const std::vector<pg::TableName>& tables) {
  constexpr size_t kShown = 5;
  std::string out;
  for (size_t i = 0; i < tables.size() && i < kShown; ++i) {
    out += (i == 0 ? "" : ", ") + tables[i].ToString();
  }
  if (tables.size() > kShown) out += " and " + std::to_string(tables.size() - kShown) + " more";
  return out;
}

}  // namespace

Status ValidateCleanupOptions(const CleanupOptions& options) {
  if (options.created_at_column.empty()) {
    return Status::InvalidArgument("the created_at column name must not be empty");
  }
  if (options.retention.count() < 0) {
    return Status::InvalidArgument("the retention must not be negative (0 disables cleanup)");
  }
  if (options.batch_size < 1) {
    return Status::InvalidArgument("the cleanup batch size must be at least 1");
  }
  if (options.lock_timeout.count() <= 0) {
    return Status::InvalidArgument("the cleanup lock timeout must be greater than 0");
  }
  if (options.statement_timeout.count() <= 0) {
    return Status::InvalidArgument("the cleanup statement timeout must be greater than 0");
  }
  return Status::Ok();
}

Result<CleanupStats> RunCleanupPass(pg::PgConnection& conn, const CleanupOptions& options,
                                    const std::atomic<bool>* stop, CleanupStats* progress) {
  RETURN_IF_ERROR(ValidateCleanupOptions(options));
  CleanupStats stats;
  if (progress != nullptr) *progress = stats;
  if (!options.enabled()) return stats;
  const auto start = Clock::now();
  auto update = [&] {
    stats.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    if (progress != nullptr) *progress = stats;
  };

  const std::string context = "outbox cleanup of " + options.table.ToString();
  auto targets = DeleteTargets(conn, options.table);
  if (!targets.ok()) return targets.status().WithContext(context);
  // Fixed once: the pass deletes only rows that were old when it began.
  auto cutoff =
      conn.QueryParams(kCutoffSql, {std::to_string(options.retention.count()) + " milliseconds"});
  if (!cutoff.ok()) return cutoff.status().WithContext(context);
  const std::vector<std::string> params = {cutoff->Get(0, 0), std::to_string(options.batch_size)};
  const std::string column = conn.QuoteIdentifier(options.created_at_column);

  for (const std::string& target : targets->relations) {
    const std::string sql = DeleteSql(target, column);
    for (;;) {
      if (Stopping(stop)) {
        stats.stopped = true;
        update();
        return stats;
      }
      ASSIGN_OR_RETURN(BatchResult batch,
                       DeleteBatch(conn, targets->table_oid, sql, params, options, stop));
      if (batch.end == BatchEnd::kOtherCleaner) {
        spdlog::info(
            "outbox cleanup of {}: another cleaner is deleting from it (it holds the cleanup "
            "lock); this pass leaves the rest to that one",
            options.table.ToString());
        stats.other_cleaner = true;
      } else if (batch.end != BatchEnd::kCommitted) {
        (batch.end == BatchEnd::kStopped ? stats.stopped : stats.gave_up) = true;
      }
      if (batch.end != BatchEnd::kCommitted) {
        update();
        return stats;
      }
      stats.rows += batch.rows;
      ++stats.batches;
      update();
      if (batch.rows < static_cast<uint64_t>(options.batch_size)) break;
    }
  }
  update();
  return stats;
}

Result<CleanupTables> FindCleanupTables(pg::PgConnection& conn, const pg::TableSelection& selection,
                                        const std::string& created_at_column) {
  ASSIGN_OR_RETURN(std::vector<pg::TableName> found, pg::ListTables(conn, selection));
  for (const pg::TableName& exact : selection.ExactTables()) {
    if (std::find(found.begin(), found.end(), exact) == found.end()) {
      // Not a table pgoutbox lists: say why (missing, a view, ...).
      RETURN_IF_ERROR(pg::TableColumns(conn, exact).status());
      return Status::NotFound("table " + exact.ToString() + " is not an outbox table");
    }
  }
  CleanupTables out;
  for (const pg::TableName& table : found) {
    ASSIGN_OR_RETURN(std::vector<pg::ColumnInfo> columns, pg::TableColumns(conn, table));
    (pg::HasColumn(columns, created_at_column) ? out.tables : out.without_column).push_back(table);
  }
  return out;
}

Result<CleanupStats> RunCleanupPasses(pg::PgConnection& conn, const CleanupOptions& options,
                                      const std::vector<pg::TableName>& tables,
                                      const std::atomic<bool>* stop, CleanupStats* progress) {
  CleanupStats total;
  if (progress != nullptr) *progress = total;
  Status first_failure = Status::Ok();
  for (const pg::TableName& table : tables) {
    if (Stopping(stop)) {
      total.stopped = true;
      break;
    }
    CleanupOptions one = options;
    one.table = table;
    CleanupStats partial;
    Result<CleanupStats> pass = RunCleanupPass(conn, one, stop, &partial);
    const CleanupStats& done = pass.ok() ? *pass : partial;
    total.rows += done.rows;
    total.batches += done.batches;
    total.elapsed += done.elapsed;
    total.gave_up |= done.gave_up;
    total.other_cleaner |= done.other_cleaner;
    total.stopped |= done.stopped;
    if (progress != nullptr) *progress = total;
    if (!pass.ok()) {
      if (PQstatus(conn.get()) != CONNECTION_OK) return pass.status();
      if (first_failure.ok()) first_failure = pass.status();
      // A failed batch was rolled back; anything else leaves the session
      // unusable for the next table.
      if (PQtransactionStatus(conn.get()) != PQTRANS_IDLE) return pass.status();
    }
    if (total.stopped) break;
  }
  if (!first_failure.ok()) return first_failure;
  return total;
}

std::string DescribePass(const CleanupStats& stats, const CleanupOptions& options) {
  return "deleted " + Counted(stats.rows, "outbox row") + " older than " +
         FormatDuration(options.retention) + " in " +
         Counted(static_cast<uint64_t>(stats.batches), "batch", "batches") + " (" +
         std::to_string(stats.elapsed.count()) + " ms)";
}

PeriodicCleaner::PeriodicCleaner(PeriodicCleanerOptions options, observe::Metrics* metrics)
    : options_(std::move(options)), metrics_(metrics) {}

PeriodicCleaner::PeriodicCleaner(PeriodicCleanerOptions options, std::vector<pg::TableName> tables,
                                 observe::Metrics* metrics)
    : options_([&] {
        options.tables = std::move(tables);
        return std::move(options);
      }()),
      metrics_(metrics) {}

std::vector<pg::TableName> PeriodicCleaner::Tables() const {
  if (!options_.tables.empty()) return options_.tables;
  return {options_.cleanup.table};
}

PeriodicCleaner::~PeriodicCleaner() { Stop(); }

Status PeriodicCleaner::Start() {
  RETURN_IF_ERROR(ValidateCleanupOptions(options_.cleanup));
  if (options_.interval.count() <= 0) {
    return Status::InvalidArgument("the cleanup interval must be greater than 0");
  }
  if (options_.reconnect_delay.count() <= 0) {
    return Status::InvalidArgument("the cleanup reconnect delay must be greater than 0");
  }
  if (thread_.joinable()) return Status::Internal("the outbox cleanup was started twice");
  const CleanupOptions& c = options_.cleanup;
  if (!c.enabled()) {
    spdlog::info("outbox cleanup is disabled (retention 0)");
    return Status::Ok();
  }
  spdlog::info(
      "outbox cleanup: every {}, deleting rows of {} whose {} is older than {}, {} per batch",
      FormatDuration(options_.interval), TableList(Tables()), c.created_at_column,
      FormatDuration(c.retention), c.batch_size);
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void PeriodicCleaner::Stop() {
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  stop_.store(true);
  cv_.notify_all();
  // Cancel a running batch. The server ignores a cancel request that arrives
  // between two statements, so repeat it until the thread is done.
  while (thread_.joinable() && !finished_) {
    std::shared_ptr<pg::StatementCanceller> canceller = canceller_;
    lock.unlock();
    if (canceller) canceller->Cancel();
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return finished_; });
  }
  lock.unlock();
  if (thread_.joinable()) thread_.join();
}

bool PeriodicCleaner::WaitFor(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [this] { return stopping_; });
  return !stopping_;
}

bool PeriodicCleaner::EnsureConnected(std::unique_ptr<pg::PgConnection>* conn,
                                      bool* was_connected) {
  if (*conn) return true;
  auto connected = pg::PgConnection::Connect(options_.conninfo, pg::PgConnection::Kind::kOrdinary,
                                             kApplicationName);
  if (!connected.ok()) {
    spdlog::warn("outbox cleanup cannot connect to the database: {}; trying again in {}",
                 connected.status().message(), FormatDuration(options_.reconnect_delay));
    return false;
  }
  auto canceller = std::make_shared<pg::StatementCanceller>(**connected);
  {
    std::lock_guard<std::mutex> lock(mu_);
    canceller_ = std::move(canceller);
  }
  *conn = std::move(*connected);
  if (*was_connected) spdlog::info("outbox cleanup reconnected to the database");
  *was_connected = true;
  return true;
}

void PeriodicCleaner::Disconnect(std::unique_ptr<pg::PgConnection>* conn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    canceller_.reset();
  }
  conn->reset();
}

void PeriodicCleaner::Loop() {
  std::vector<pg::TableName> tables = Tables();
  std::unique_ptr<pg::PgConnection> conn;
  bool was_connected = false;
  while (!stop_.load()) {
    if (!EnsureConnected(&conn, &was_connected)) {
      if (!WaitFor(options_.reconnect_delay)) break;
      continue;
    }
    if (options_.selection) {
      Result<CleanupTables> found =
          FindCleanupTables(*conn, *options_.selection, options_.cleanup.created_at_column);
      if (found.ok()) {
        for (const pg::TableName& t : found->tables) {
          if (std::find(tables.begin(), tables.end(), t) == tables.end()) {
            spdlog::info("outbox cleanup: table {} matches --table {}: cleaning it too",
                         t.ToString(), options_.selection->ToString());
          }
        }
        if (!found->tables.empty()) tables = std::move(found->tables);
      } else {
        spdlog::warn("outbox cleanup: cannot look up the tables of --table {} ({}); cleaning {}",
                     options_.selection->ToString(), found.status().message(),
                     Counted(tables.size(), "known table"));
      }
    }
    CleanupStats progress;
    Result<CleanupStats> pass =
        RunCleanupPasses(*conn, options_.cleanup, tables, &stop_, &progress);
    const CleanupStats& stats = pass.ok() ? *pass : progress;
    if (stats.rows > 0) {
      if (metrics_ != nullptr) metrics_->CleanupDeleted(stats.rows);
      spdlog::info("{}", DescribePass(stats, options_.cleanup));
    }
    if (!pass.ok()) {
      if (stop_.load()) break;
      if (PQstatus(conn->get()) != CONNECTION_OK) {
        spdlog::warn("outbox cleanup lost its database connection ({}); reconnecting in {}",
                     conn->LastError(), FormatDuration(options_.reconnect_delay));
        Disconnect(&conn);
        if (!WaitFor(options_.reconnect_delay)) break;
        continue;
      }
      spdlog::error("{}; trying again in {}", pass.status().message(),
                    FormatDuration(options_.interval));
      // A connection left inside a transaction is in an unknown state.
      if (PQtransactionStatus(conn->get()) != PQTRANS_IDLE) Disconnect(&conn);
    }
    if (!WaitFor(options_.interval)) break;
  }
  Disconnect(&conn);
  std::lock_guard<std::mutex> lock(mu_);
  finished_ = true;
  cv_.notify_all();
}

}  // namespace pgoutbox::admin
