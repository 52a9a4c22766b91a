// RowPublisher: publishes outbox rows read from the table (pg::RowReader) as
// the records the stream made of them, and waits until Kafka acknowledged or
// refused each one. `pgoutbox replay` (app/replay.h) and the recovery from
// the table at start-up (app/recovery.h) both publish through it.
//
// Rows of several outbox tables are published one table after another
// (SetTable, then ReadAll, per table; WaitForAcks once at the end). Each row
// is mapped by outbox::TableRowMapper (the stream's EventMapper)
// and produced with its created_at as the record's timestamp (now when the
// table has none). A batch Kafka refused is produced again record by record
// before more rows are read (core/refused_batch.h): only a record refused
// on its own is a bad row. Bad rows follow the --on-bad-row policy like the stream:
// halt stops at the row (Aborted, naming it), skip logs and goes on, dlq
// sends core::DeadLetter's record (without an lsn header) to the dead-letter
// topic. Without a publisher (a dry run) rows are read and mapped only.
//
// Ownership: borrows the mapper, the row mapper, the publisher and the stop
// counter, which must outlive it; it is the publisher's delivery handler
// (handler()) for as long as it publishes, which the caller sets.
// Failure: a bad row under halt, a delivery that failed for good or a fatal
// producer error (Aborted, naming what was not delivered); Cancelled once a
// stop signal came (what was produced is still waited for, up to the
// shutdown timeout). Thread safety: one thread (librdkafka's own aside).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "common/defaults.h"
#include "common/status.h"
#include "core/bad_row.h"
#include "core/dead_letter.h"
#include "core/refused_batch.h"
#include "kafka/publisher.h"
#include "outbox/mapper.h"
#include "outbox/table_row.h"
#include "pg/catalog.h"
#include "pg/row_reader.h"

namespace pgoutbox::app {

struct RowPublisherOptions {
  core::BadRowAction on_bad_row = core::BadRowAction::kHalt;
  std::string dead_letter_topic{defaults::kDeadLetterTopic};
  // How long WaitForAcks() still waits once a stop signal came.
  std::chrono::milliseconds shutdown_timeout = defaults::kShutdownTimeout;
  // The progress line's prefix ("replay", "recovery").
  std::string label = "replay";
  // Keep the ids of the rows read (found_ids()).
  bool collect_ids = false;
};

struct RowPublishStats {
  uint64_t rows = 0;      // rows read
  uint64_t events = 0;    // records acknowledged by Kafka (without a publisher: rows that map)
  uint64_t bad_rows = 0;  // rows skipped or dead-lettered
  // The created_at of the first and last row read, as PostgreSQL prints it.
  std::optional<std::string> first_created_at, last_created_at;
};

class RowPublisher {
 public:
  // `tables` names the outbox tables (--table) for a dead-letter record
  // that cannot name its row's own.
  RowPublisher(RowPublisherOptions options, const std::string& tables, outbox::EventMapper* mapper,
               const std::atomic<int>* stop_requests, RowPublishStats* stats);
  ~RowPublisher();
  RowPublisher(const RowPublisher&) = delete;
  RowPublisher& operator=(const RowPublisher&) = delete;

  // The handler to give the publisher before set_publisher().
  kafka::DeliveryHandler* handler();
  // Where the records go; null (the default): a dry run.
  void set_publisher(kafka::Publisher* publisher) { publisher_ = publisher; }

  // The table the next ReadAll reads: its rows are mapped by `row_mapper`
  // (borrowed until the next SetTable); `columns` are the reader's, and
  // created_at and the id are found among them by name (`created_at_column`
  // may be absent from the table).
  void SetTable(outbox::TableRowMapper* row_mapper, const std::vector<pg::ColumnInfo>& columns,
                const std::string& created_at_column);

  // Reads every row of `reader` and produces it; stops at the first error.
  // REQUIRES: SetTable was called.
  Status ReadAll(pg::RowReader* reader);

  // Waits for every record produced (and the dead-letter records of refused
  // ones) to be acknowledged or refused; after a stop signal, for at most
  // the shutdown timeout. Non-OK naming what was not delivered.
  Status WaitForAcks();

  // With collect_ids: the ids of the rows read, as their id column's text.
  const std::set<std::string>& found_ids() const { return found_ids_; }

 private:
  class Deliveries;
  Status HandleRow(const pg::TableRow& row);
  Status HandleBadRow(const core::BadRowCause& cause, const Status& error, size_t payload_size);
  Result<kafka::ProduceResult> Produce(const outbox::Event& event, int64_t timestamp);
  void ProducePendingDeadLetters();
  // Produces the oldest record of a refused batch alone, once nothing else
  // is in flight (core/refused_batch.h).
  void RetryRefused();
  // Before more rows are read: every record of a refused batch produced
  // again alone and its report received.
  Status RetryRefusedBatches();
  Status CheckDeliveries();
  void MaybeLogProgress();

  const RowPublisherOptions options_;
  outbox::EventMapper* mapper_;
  outbox::TableRowMapper* row_mapper_ = nullptr;
  int created_at_index_ = -1;  // -1: none
  int id_index_ = -1;
  const std::atomic<int>* stop_requests_;
  RowPublishStats* stats_;
  const core::DeadLetterTarget target_;
  std::unique_ptr<Deliveries> deliveries_;
  kafka::Publisher* publisher_ = nullptr;
  outbox::Event event_;
  uint64_t opaque_ = 0;
  uint64_t bad_rows_ = 0;
  std::set<std::string> found_ids_;
  std::chrono::steady_clock::time_point last_progress_{};
};

}  // namespace pgoutbox::app
