// FaultCheck: the verdict of the fault suite (scripts/faults.sh). It compares
// what was committed (the outbox tables and the message log at the end of
// the run, nothing cleaned up) with what an independent consumer read from
// Kafka during the whole run, and computes, in total and per source: lost
// events, duplicates (in total and attributed to the fault that caused them),
// published events that were never committed (rolled-back transactions and
// savepoints in particular, and messages that are no events), per-key order
// violations, and how complete the consumer's view was.
//
// Commit order per key is exact without reading the WAL: the workload gives
// every event of a key the next value of a per-key counter row it updates in
// the same transaction (pgoutbox-bench workload), so the row lock serialises
// the transactions of one key, a rolled-back update gives its number back,
// and the committed events of a key carry 1, 2, 3, ... in commit order.
//
// The events come from several sources (fault_event_id.h): two outbox tables
// and logical decoding messages, which leave no row (the workload records
// each in a side table in the same transaction, the ground truth for them).
// The keys and their counter are shared by all sources, so one key's events
// are totally ordered across them, and the checker holds every pair of
// events of a key to the order pgoutbox promises: commit order within one
// table, and between a message and anything (messages come in commit order
// with the rows of every table). Only between the two tables is a reordering
// no violation (pgoutbox promises order per key within one table: recovery
// and replay read the tables one after another); it is counted apart
// (cross_table_reorders). Sharing keys checks more than a key space per
// table would: a message is ordered against both tables' events of its key,
// the seqs of a key over all sources must be 1..n, and a cross-table
// reordering shows up at all.
//
// Pure functions over parsed inputs; no I/O except the Read* parsers.
// Thread safety: none needed (values in, values out).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tools/faults/fault_event_id.h"

namespace pgoutbox::faults {

// An event committed by the end of the run: a row of an outbox table, or a
// message as its side table records it.
struct CommittedEvent {
  std::string id;
  std::string key;
  int64_t seq = 0;  // the key's counter value (payload "seq")
  EventSource source = EventSource::kTable;
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
  // The record's "table" header, "" if it has none; nullopt if the consumer
  // did not say (then it is not checked).
  std::optional<std::string> table;
};

// A fault that makes pgoutbox send its unconfirmed tail again (a SIGKILL, a
// PostgreSQL restart), with the wall-clock time it happened.
struct FaultEvent {
  int64_t at_ms = 0;
  std::string what;  // e.g. "kill", "pg-restart-fast"
};

struct DuplicateShare {
  FaultEvent fault;      // at_ms 0 and what "before the first fault" for the head
  uint64_t records = 0;  // duplicate records that arrived after it and before the next
};

// The figures of one source (the source of a record that matches no
// committed event is the one its id says).
struct SourceFigures {
  uint64_t committed = 0;
  uint64_t delivered = 0;  // distinct events read
  uint64_t lost = 0;
  uint64_t duplicates = 0;
  uint64_t rolled_back_published = 0;
  uint64_t uncommitted_published = 0;
  uint64_t order_violations = 0;  // of this source's events
  uint64_t cross_table_reorders = 0;
};

struct CheckReport {
  uint64_t committed = 0;  // committed events (rows and recorded messages)
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
  // ... of the other outbox table: not a violation (see above).
  uint64_t cross_table_reorders = 0;
  uint64_t keys_on_several_partitions = 0;
  uint64_t mismatched = 0;          // records whose key or seq differs from the table's row
  uint64_t wrong_table_header = 0;  // records whose "table" header does not name their source
  uint64_t offset_gaps = 0;         // offsets the consumer never saw (below the last one read)
  uint64_t committed_seq_gaps = 0;  // ground-truth sanity: a key's seqs are not 1..n
  uint64_t committed_marked_rolled_back = 0;  // ground-truth sanity: such ids in the table
  uint64_t committed_wrong_source = 0;        // ground-truth sanity: an id found in another source
  std::array<SourceFigures, kEventSources> by_source{};
  std::vector<std::string> examples;  // the first few problems, one line each

  // No loss, nothing uncommitted published, no order violation, and the
  // inputs are consistent enough to trust those three.
  bool ok() const;
};

// Computes the report. `faults` need not be sorted.
CheckReport Check(const std::vector<CommittedEvent>& committed,
                  const std::vector<DeliveredRecord>& delivered, std::vector<FaultEvent> faults);

// Parsers for the files faults.sh hands over. Tab-separated, one per line:
//   committed: id key seq [source]             (psql COPY ... TO STDOUT; the
//              source's SourceLabel, public.outbox if absent)
//   records:   arrival_ms topic partition offset key id seq [table]
//              (pgoutbox-bench collect; table: the "table" header, "-"
//              for none)
//   faults:    at_ms what                      (extra fields ignored)
// Corruption with the line number on a malformed line.
Result<std::vector<CommittedEvent>> ParseCommitted(std::string_view text);
Result<std::vector<DeliveredRecord>> ParseRecords(std::string_view text);
Result<std::vector<FaultEvent>> ParseFaults(std::string_view text);

}  // namespace pgoutbox::faults
