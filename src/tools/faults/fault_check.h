// FaultCheck: the verdict of the fault suite (scripts/faults.sh). It compares
// what was committed (the outbox table at the end of the run, nothing cleaned
// up) with what an independent consumer read from Kafka during the whole run,
// and computes: lost events, duplicates (in total and attributed to the fault
// that caused them), published events that were never committed (rolled-back
// transactions and savepoints in particular), per-key order violations, and
// how complete the consumer's view was.
//
// Commit order per key is exact without reading the WAL: the workload gives
// every event of a key the next value of a per-key counter row it updates in
// the same transaction (pgoutbox-bench workload), so the row lock serialises
// the transactions of one key, a rolled-back update gives its number back,
// and the committed events of a key carry 1, 2, 3, ... in commit order.
//
// Pure functions over parsed inputs; no I/O except the Read* parsers.
// Thread safety: none needed (values in, values out).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pgoutbox::faults {

// A row of the outbox table at the end of the run.
struct CommittedEvent {
  std::string id;
  std::string key;
  int64_t seq = 0;  // the key's counter value (payload "seq")
};

// One record as the consumer received it.
struct DeliveredRecord {
  int64_t arrival_ms = 0;  // consumer's wall clock, Unix milliseconds
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string id;    // the record's "id" header
  int64_t seq = -1;  // payload "seq"; -1 if absent
};

// A fault that makes pgoutbox send its unconfirmed tail again (a SIGKILL, a
// PostgreSQL restart), with the wall-clock time it happened.
struct FaultEvent {
  int64_t at_ms = 0;
  std::string what;  // e.g. "kill", "pg-restart-fast"
};

// How an event id says what the workload meant to do with its row (the
// fourth group of the uuid; see fault_workload.h).
enum class IdFate { kCommit, kRolledBackTransaction, kRolledBackSavepoint, kUnknown };
IdFate FateOfId(std::string_view id);

struct DuplicateShare {
  FaultEvent fault;      // at_ms 0 and what "before the first fault" for the head
  uint64_t records = 0;  // duplicate records that arrived after it and before the next
};

struct CheckReport {
  uint64_t committed = 0;  // rows in the table
  uint64_t committed_keys = 0;
  uint64_t records = 0;                // distinct Kafka records read (topic, partition, offset)
  uint64_t consumer_redeliveries = 0;  // the same offset read twice (consumer side, ignored)
  uint64_t distinct_delivered = 0;     // distinct event ids among the records
  uint64_t lost = 0;                   // committed ids never read
  uint64_t duplicates = 0;             // records beyond the first of their id
  std::vector<DuplicateShare> duplicates_by_fault;
  uint64_t rolled_back_published = 0;            // ids marked as rolled back, read from Kafka
  uint64_t rolled_back_savepoint_published = 0;  // ... of which in rolled-back savepoints
  uint64_t uncommitted_published = 0;            // ids read from Kafka that are not in the table
  uint64_t order_violations = 0;  // events first read after a later-committed event of their key
  uint64_t keys_on_several_partitions = 0;
  uint64_t mismatched = 0;          // records whose key or seq differs from the table's row
  uint64_t offset_gaps = 0;         // offsets the consumer never saw (below the last one read)
  uint64_t committed_seq_gaps = 0;  // ground-truth sanity: a key's seqs are not 1..n
  uint64_t committed_marked_rolled_back = 0;  // ground-truth sanity: such ids in the table
  std::vector<std::string> examples;          // the first few problems, one line each

  // No loss, nothing uncommitted published, no order violation, and the
  // inputs are consistent enough to trust those three.
  bool ok() const;
};

// Computes the report. `faults` need not be sorted.
CheckReport Check(const std::vector<CommittedEvent>& committed,
                  const std::vector<DeliveredRecord>& delivered, std::vector<FaultEvent> faults);

// Parsers for the files faults.sh hands over. Tab-separated, one per line:
//   committed: id key seq                      (psql COPY ... TO STDOUT)
//   records:   arrival_ms topic partition offset key id seq  (pgoutbox-bench collect)
//   faults:    at_ms what                      (extra fields ignored)
// Corruption with the line number on a malformed line.
Result<std::vector<CommittedEvent>> ParseCommitted(std::string_view text);
Result<std::vector<DeliveredRecord>> ParseRecords(std::string_view text);
Result<std::vector<FaultEvent>> ParseFaults(std::string_view text);

}  // namespace pgoutbox::faults
