// Replay: what `pgoutbox replay` does: publishes outbox rows that are still
// in the table once more, on an operator's request (after a consumer bug, or
// after fixing dead-lettered rows), as the same records the stream made of
// them: the same mapping (app::MakeMapper, outbox::TableRowMapper), the same
// producer configuration (kafka::Publisher with -X), the row's created_at as
// the record's timestamp (now when the table has no such column).
//
// It reads the rows of every outbox table (--table), one table after
// another, on an ordinary connection with pg::RowReader (SELECT on
// the tables is all it needs), each table in one snapshot, in pg::RowSelection's order
// (created_at, then the inserting statement, then id), a batch at a time;
// it never touches a replication slot or publication. Every record is
// waited for: Replay returns once Kafka acknowledged or refused each of
// them. Bad rows follow the --on-bad-row policy like the stream:
// halt stops at the row (Aborted, naming it), skip logs and goes on, dlq
// sends core::DeadLetter's record (without an lsn header) to the dead-letter
// topic.
//
// Failure: InvalidArgument for what the command line got wrong (a timestamp
// or id the server cannot read, a --topic placeholder that names nothing);
// NotFound or FailedPrecondition for the table; Unavailable when the
// database or the brokers cannot be reached; Aborted for a bad row under
// halt, for records Kafka did not deliver (the message names them) and for
// ids that are not in the table (after publishing the others); Cancelled
// when a stop signal ended it early (what was produced is still waited for,
// up to the flush timeout). *stats says how far it got in every case.
// Thread safety: one thread (librdkafka's own threads aside).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/mapping.h"
#include "app/row_publisher.h"
#include "common/defaults.h"
#include "common/status.h"
#include "core/bad_row.h"

namespace pgoutbox::app {

struct ReplayConfig {
  std::string db;
  std::string brokers;  // unused with dry_run
  // The --table entries (pg::TableSelection); every matching table is
  // replayed, one after another.
  std::vector<std::string> tables{std::string(defaults::kTable)};
  MappingConfig mapping;
  std::vector<std::pair<std::string, std::string>> kafka_config;  // -X
  core::BadRowAction on_bad_row = core::BadRowAction::kHalt;
  std::string dead_letter_topic{defaults::kDeadLetterTopic};
  // The rows: created_at >= since (and < until), or the rows of `ids`.
  std::string created_at_column{defaults::kCreatedAtColumn};
  std::optional<std::string> since;  // timestamptz input, parsed by the server
  std::optional<std::string> until;
  std::vector<std::string> ids;
  // Read and map the rows, publish nothing (no Kafka connection).
  bool dry_run = false;
  std::chrono::milliseconds startup_timeout = defaults::kStartupTimeout;
  // How long the end waits for the acks once a stop signal came.
  std::chrono::milliseconds shutdown_timeout = defaults::kShutdownTimeout;
  size_t batch_size = defaults::kReplayBatch;
};

// How far a replay got: RowPublishStats, and whether the rows were being
// read (a summary is worth printing).
struct ReplayStats : RowPublishStats {
  bool reading = false;
};

// REQUIRES: exactly one of config.since and config.ids set (until only with
// since).
Status Replay(const ReplayConfig& config, const std::atomic<int>* stop_requests,
              ReplayStats* stats);

}  // namespace pgoutbox::app
