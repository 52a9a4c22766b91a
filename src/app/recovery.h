// Recovery: the gap-free recovery from the table (StartAction::kRecover and
// kRecoverAcceptingGap of app/start_plan.h), for a slot that is gone, lost,
// or whose previous recovery was interrupted.
//
//  1. The deployment's state is written with phase "recovering" (and the
//     delivered mark it recovers from), so that a recovery interrupted by a
//     crash is done again at the next start, not taken for streaming.
//  2. A lost slot is dropped. A missing one is created with a consistent
//     snapshot (pg::SlotSnapshot; a failover slot on PostgreSQL 17+): the
//     rows read in that snapshot and the changes streamed from the slot
//     together hold every committed row exactly once. An existing slot (the
//     interrupted recovery's) is kept: the rows are read in a fresh snapshot,
//     which sees everything the slot will not stream again, and some that it
//     will (duplicates, never a gap).
//  3. The retained rows that may be undelivered (RowSelection::AfterMark:
//     inserted by the mark's oldest running transaction or a later one, or
//     created at or after the mark was taken; every retained row when nothing
//     is remembered) are published as the stream publishes them
//     (app/row_publisher.h) and every one is waited for, one outbox table
//     after another (a key's order holds within one table, as in the
//     stream).
//  4. The state is written again with phase "streaming" at the slot's start,
//     and the caller streams from there.
//
// Transaction ids are compared by age, in 32 bits. The mark's id is used
// only when it lies within 2^31 - 2^24 transactions before the server's next
// id; otherwise (a mark older than that, or one from the ids a failed-over
// primary gave out and the promoted standby gives out again) rows are
// selected by created_at, or all of them when the table has no such column
// (per table: one may have it, another not).
//
// Ownership: borrows the mapper and the publisher (it is the publisher's
// delivery handler while it runs, and sets none after). Failure: the
// server's or Kafka's error, Aborted for a row or record that could not be
// delivered (by the --on-bad-row policy), Cancelled on a stop signal. The
// slot, once created, stays on failure: the next start finds the state
// "recovering" and recovers again. Thread safety: one thread.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "app/row_publisher.h"
#include "common/status.h"
#include "common/types.h"
#include "core/delivery_state.h"
#include "kafka/publisher.h"
#include "outbox/mapper.h"
#include "pg/catalog.h"
#include "pg/column_info.h"
#include "pg/delivered_mark.h"

namespace pgoutbox::app {

// One outbox table to recover from.
struct RecoveryTable {
  pg::TableName name;
  std::vector<pg::ColumnInfo> columns;  // read on an ordinary connection
  std::string created_at_column;        // empty: the table has none
};

struct RecoveryOptions {
  std::string conninfo;  // --db
  std::vector<RecoveryTable> tables;
  std::string tables_label;  // the selection (--table), for messages
  std::string slot;
  std::string database;
  pg::SlotInfo slot_info;      // the slot as inspected: missing, lost, or there
  bool failover_slot = false;  // create it with failover (PostgreSQL 17+)
  // What is remembered (nullopt: nothing; every retained row is published).
  std::optional<core::DeliveryState> state;
  pg::ServerIdentity server;  // the server recovered on
  RowPublisherOptions publish;
  std::string state_topic;
  size_t batch_size = 1000;
};

struct RecoveryResult {
  Lsn start;  // where the slot streams from
  RowPublishStats stats;
};

Result<RecoveryResult> RecoverFromTable(const RecoveryOptions& options, outbox::EventMapper* mapper,
                                        kafka::Publisher* publisher,
                                        const std::atomic<int>* stop_requests);

// Produces one state record (`state`'s JSON under its key) and waits up to
// `timeout` for Kafka's acknowledgement; sets no handler after. Used by the
// recovery, before and after the rows.
Status WriteDeliveryState(kafka::Publisher* publisher, const std::string& topic,
                          const core::DeliveryState& state, std::chrono::milliseconds timeout);

}  // namespace pgoutbox::app
