// Startup: what the daemon checks and creates before it streams, in two
// steps so that a failure in the first leaves the database as it was.
//
// CheckNames checks the object names without connecting (`run` and `setup`
// share it). InspectDatabase only reads: the server version (14 or later),
// wal_level, the outbox tables (every existing table --table matches; at
// least one) and each one's columns against the mapping, the publication and
// the slot (not two_phase). CreateMissing then creates the publication (for
// every outbox table) or adds the outbox tables it lacks, and the slot, if
// they are missing (unless --no-create), giving way to a stop signal while
// the slot waits for the transactions running on the server.
//
// Failure: InvalidArgument for what the command line got wrong, NotFound or
// FailedPrecondition for what the database lacks, Unavailable when it cannot
// be reached, Cancelled when a stop signal interrupted the creation.
// Thread safety: one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/mapping.h"
#include "app/run_config.h"
#include "app/start_plan.h"
#include "common/status.h"
#include "outbox/mapper.h"
#include "pg/catalog.h"
#include "pg/connection.h"
#include "pg/table_selection.h"

namespace pgoutbox::app {

// The names of the objects pgoutbox streams through.
struct OutboxNames {
  pg::TableSelection tables;  // the outbox tables (--table)
  std::string publication;
  std::string slot;
};

// Parses the --table entries (pg::TableSelection) and checks the publication
// and slot names by PostgreSQL's rules. InvalidArgument naming the bad one.
Result<OutboxNames> CheckNames(const std::vector<std::string>& tables,
                               const std::string& publication, const std::string& slot);

// The existing tables `selection` matches, with their columns, sorted by
// schema and name. NotFound for an exact entry (no wildcard) whose table
// does not exist, and when no table matches at all (naming the selection).
Result<std::vector<OutboxTable>> ReadOutboxTables(pg::PgConnection& conn,
                                                  const pg::TableSelection& selection);

// What InspectDatabase found; CreateMissing completes it.
struct DatabaseState {
  std::unique_ptr<pg::PgConnection> conn;  // the ordinary connection, open
  std::unique_ptr<outbox::EventMapper> mapper;
  std::vector<OutboxTable> tables;  // the outbox tables found, with their columns
  // Periodic cleanup is on and these tables (those with the created_at
  // column; at least one) are cleaned.
  bool cleanup_enabled = false;
  std::vector<pg::TableName> cleanup_tables;
  pg::PublicationInfo publication;
  // The outbox tables the (existing) publication does not publish yet.
  std::vector<pg::TableName> missing_from_publication;
  pg::SlotInfo slot;
  std::string database;  // current_database()
};

// Connects (an ordinary connection) and checks, without changing anything,
// that the database can be streamed from as `config` says.
Result<DatabaseState> InspectDatabase(const RunConfig& config, const OutboxNames& names);

// Creates the publication for every outbox table, or adds the outbox tables
// it lacks, and (with `create_slot`) the slot if `state` says they are
// missing, and reads the created slot's position into state->slot.
// A stop signal (`*stop_requests` > 0) cancels the wait: Cancelled, saying
// what was created.
Status CreateMissing(const OutboxNames& names, DatabaseState* state,
                     const std::atomic<int>* stop_requests, bool create_slot = true);

// Whether status updates every `feedback_interval` keep a walsender with
// `wal_sender_timeout` (0: none) alive: InvalidArgument naming both when
// the interval is not shorter. While pgoutbox does not read the stream (the
// Kafka queue full) it does not see the server's requests for a reply, and
// only its own status updates tell the server it is alive. Pure.
Status CheckFeedbackInterval(std::chrono::milliseconds feedback_interval,
                             std::chrono::milliseconds wal_sender_timeout);

// What PlanStart needs (app/start_plan.h), read without changing anything:
// the server's identity (IDENTIFY_SYSTEM, on a replication connection),
// what the state topic remembers for this deployment at `brokers` (or
// `remembered`, when given: this process's own memory of a stream whose slot
// vanished), the slot's condition from `db`, and whether the retained rows
// still cover the delivered mark (with config.cleanup's retention; without
// a mark, only when cleanup is off).
// Corruption naming the topic and key for a state record that cannot be
// read; Unavailable when the server or the brokers cannot be reached;
// a warning line when config.feedback_interval is too long for the server's
// wal_sender_timeout (CheckFeedbackInterval), at the first start.
Result<StartInputs> CheckStart(const RunConfig& config, const OutboxNames& names, DatabaseState& db,
                               const std::string& brokers,
                               std::optional<core::DeliveryState> remembered, bool streamed_before);

}  // namespace pgoutbox::app
