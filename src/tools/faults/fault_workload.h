// FaultWorkload: the load generator of the fault suite (scripts/faults.sh,
// `pgoutbox-bench workload`). Several connections write outbox events in
// mixed transactions at a steady rate until a number of events is known to
// be committed, surviving PostgreSQL restarts on the way:
//
//   one row; several rows; rolled back; a savepoint rolled back (with rows
//   before, inside and after it); a savepoint undone after a failing
//   statement; a savepoint released; writes to other tables only; now and
//   then one large transaction (hundreds of rows).
//
// Every transaction also writes other tables: each outbox row takes its
// aggregate's next sequence number from faults_key_seq (an UPDATE in the
// same statement), and some transactions insert business rows into
// faults_orders. The per-key counter is what makes commit order checkable:
// the row lock serialises the transactions of one aggregate and a rollback
// gives the number back, so the committed events of a key carry 1, 2, 3, ...
// in commit order (see fault_check.h).
//
// Event ids say what was meant to happen to the row: the uuid's fourth group
// is c0c0 (meant to commit), dead (its transaction rolls back) or deaf (its
// savepoint rolls back). A COMMIT whose answer is lost (the server went away)
// is counted as "unknown"; the outbox table at the end settles it.
//
// Thread safety: Run() starts and joins its own threads; the planning
// functions are pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgoutbox::faults {

struct WorkloadOptions {
  std::string conninfo;
  uint64_t events = 100000;  // stop once this many events are known committed
  double rate = 300;         // rows written per second, all connections together
  int connections = 4;
  int keys = 1000;  // aggregates per aggregate type
  uint64_t seed = 1;
  // How long a connection keeps trying to reconnect before the run fails.
  std::chrono::seconds reconnect_timeout{180};
};

enum class RowFate { kCommit, kRolledBackTransaction, kRolledBackSavepoint };

// "WWWWWWWW-0000-4000-FFFF-CCCCCCCCCCCC": worker, fate marker, counter.
std::string EventId(uint32_t worker, uint64_t counter, RowFate fate);

struct PlannedRow {
  std::string id;
  std::string aggregate_type;  // "order" or "customer"
  std::string key;             // e.g. "order-17"
  RowFate fate = RowFate::kCommit;
};

struct TxPlan {
  enum class Kind {
    kOneRow,
    kMultiRow,
    kRolledBack,
    kSavepointRolledBack,
    kSavepointAfterError,  // a statement fails inside the savepoint
    kSavepointReleased,
    kOtherTablesOnly,
    kLarge,
  };
  static constexpr int kKinds = 8;
  Kind kind = Kind::kOneRow;
  std::vector<PlannedRow> before;        // rows before the savepoint (all rows if none)
  std::vector<PlannedRow> in_savepoint;  // rows inside it
  std::vector<PlannedRow> after;         // rows after it
  int other_rows = 0;                    // business rows into faults_orders
  bool commit = true;

  bool has_savepoint() const;
  size_t rows() const { return before.size() + in_savepoint.size() + after.size(); }
  // Rows that are in the outbox once the transaction commits.
  size_t events_if_committed() const;
};

const char* KindName(TxPlan::Kind kind);

// Draws the next transaction. Each section's rows are sorted by key, so
// transactions lock their aggregates' counters in one order (deadlocks stay
// rare; one that happens is rolled back and counted). `counter` numbers the
// worker's ids and advances by the rows planned.
TxPlan PlanTransaction(std::mt19937_64* rng, int keys, uint32_t worker, uint64_t* counter);

struct WorkloadResult {
  uint64_t tx_committed = 0;
  uint64_t events_committed = 0;
  uint64_t tx_by_kind[TxPlan::kKinds] = {};  // committed (rolled back for kRolledBack)
  uint64_t tx_rolled_back = 0;               // rolled back as planned
  uint64_t events_rolled_back = 0;           // rows of those
  uint64_t events_savepoint_rolled_back = 0;
  uint64_t other_rows = 0;  // committed rows in faults_orders
  uint64_t tx_failed = 0;   // ended by an error or a lost connection before COMMIT
  uint64_t events_failed = 0;
  uint64_t tx_unknown = 0;  // COMMIT sent, no answer
  uint64_t events_unknown = 0;
  uint64_t deadlocks = 0;
  uint64_t reconnects = 0;
  double seconds = 0;
};

// Creates faults_key_seq and faults_orders if missing, then writes until
// `events` are committed. Fails if a connection cannot be re-established
// within reconnect_timeout, or on an error the workload does not expect.
// Prints a progress line to stderr every 10 s.
Result<WorkloadResult> RunWorkload(const WorkloadOptions& options);

}  // namespace pgoutbox::faults
