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
// Each event goes to one of three sources, drawn per event (WorkloadMix):
// the outbox table public.outbox; a second outbox table public.outbox_b with
// another column layout (other column order, id text, payload json, no
// headers column, an extra column); or a transactional logical decoding
// message with pgoutbox's prefix and an explicit id, which leaves no row, so
// the same statement records it in faults_messages (id, aggregate_type,
// aggregate_id, seq): committed exactly when its transaction commits, like a
// row. Some transactions also send a non-transactional message with another
// prefix (pgoutbox.faults), the look of an event that must never be one.
//
// Every transaction also writes other tables: each event takes its
// aggregate's next sequence number from faults_key_seq (an UPDATE in the
// same statement), and some transactions insert business rows into
// faults_orders. The per-key counter, shared by all sources, is what makes
// commit order checkable: the row lock serialises the transactions of one
// aggregate and a rollback gives the number back, so the committed events of
// a key carry 1, 2, 3, ... in commit order (see fault_check.h).
//
// Event ids say where an event went and what was meant to happen to it
// (fault_event_id.h). A COMMIT whose answer is lost (the server went away)
// is counted as "unknown"; the tables at the end settle it.
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
#include "tools/faults/fault_event_id.h"

namespace pgoutbox::faults {

// What the transactions are made of.
struct WorkloadMix {
  int keys = 1000;  // aggregates per aggregate type
  // Of the events, the share written to public.outbox_b, and the share sent
  // as messages; the rest goes to public.outbox.
  int second_table_percent = 30;
  int message_percent = 30;
  // Of the transactions, the share that also sends one non-transactional
  // message with another prefix.
  int foreign_message_percent = 5;
};

struct WorkloadOptions {
  std::string conninfo;
  uint64_t events = 100000;  // stop once this many events are known committed
  double rate = 300;         // events (and business rows) written per second, all connections
  int connections = 4;
  WorkloadMix mix;
  uint64_t seed = 1;
  // How long a connection keeps trying to reconnect before the run fails.
  std::chrono::seconds reconnect_timeout{180};
};

// The prefix of the non-transactional messages that must never be events.
inline constexpr char kForeignMessagePrefix[] = "pgoutbox.faults";

// One event: a row of an outbox table or a message.
struct PlannedRow {
  std::string id;
  std::string aggregate_type;  // "order" or "customer"
  std::string key;             // e.g. "order-17"
  EventSource source = EventSource::kTable;
  IdFate fate = IdFate::kCommit;
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
  // Ids of the non-transactional messages with another prefix sent first.
  std::vector<std::string> foreign_messages;
  bool commit = true;

  bool has_savepoint() const;
  size_t rows() const { return before.size() + in_savepoint.size() + after.size(); }
  // Events (rows and messages) that count once the transaction commits.
  size_t events_if_committed() const;
  // Of those, the ones of `source`.
  size_t events_if_committed(EventSource source) const;
};

const char* KindName(TxPlan::Kind kind);

// Draws the next transaction. Each section's events are sorted by key, so
// transactions lock their aggregates' counters in one order (deadlocks stay
// rare; one that happens is rolled back and counted); each event's source is
// drawn on its own. `counter` numbers the worker's ids and advances by the
// events and foreign messages planned.
TxPlan PlanTransaction(std::mt19937_64* rng, const WorkloadMix& mix, uint32_t worker,
                       uint64_t* counter);

struct WorkloadResult {
  uint64_t tx_committed = 0;
  uint64_t events_committed = 0;
  uint64_t events_by_source[kEventSources] = {};  // committed
  uint64_t foreign_messages = 0;                  // sent (whatever became of their transaction)
  uint64_t tx_by_kind[TxPlan::kKinds] = {};       // committed (rolled back for kRolledBack)
  uint64_t tx_rolled_back = 0;                    // rolled back as planned
  uint64_t events_rolled_back = 0;                // rows of those
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

// Creates what the workload writes to, if missing: public.outbox_b,
// faults_key_seq (with a row per key), faults_orders and faults_messages.
// public.outbox is pgoutbox setup's. Run it before pgoutbox setup, which
// adds public.outbox_b to the publication.
Status PrepareWorkload(const WorkloadOptions& options);

// PrepareWorkload, then writes until `events` are committed. Fails if a
// connection cannot be re-established within reconnect_timeout, or on an
// error the workload does not expect. Prints a progress line to stderr
// every 10 s.
Result<WorkloadResult> RunWorkload(const WorkloadOptions& options);

}  // namespace pgoutbox::faults
