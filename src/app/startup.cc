#include "app/startup.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "app/mapping.h"
#include "app/stop_watcher.h"
#include "common/duration.h"
#include "kafka/state_topic.h"
#include "pg/catalog.h"
#include "pg/delivered_mark.h"
#include "pg/statement_canceller.h"
#include "pg/table_selection.h"

namespace pgoutbox::app {

namespace {

bool Stopping(const std::atomic<int>* stop_requests) {
  return stop_requests->load(std::memory_order_relaxed) > 0;
}

}  // namespace

Result<OutboxNames> CheckNames(const std::string& table, const std::string& publication,
                               const std::string& slot) {
  OutboxNames names;
  ASSIGN_OR_RETURN(names.table, pg::ParseTableName(table));
  RETURN_IF_ERROR(pg::ValidatePublicationName(publication));
  RETURN_IF_ERROR(pg::ValidateSlotName(slot));
  names.publication = publication;
  names.slot = slot;
  return names;
}

Result<DatabaseState> InspectDatabase(const RunConfig& config, const OutboxNames& names) {
  DatabaseState state;
  ASSIGN_OR_RETURN(state.conn, pg::PgConnection::Connect(
                                   config.db, pg::PgConnection::Kind::kOrdinary, "pgoutbox"));
  pg::PgConnection& conn = *state.conn;
  // First: an older server is refused before anything it may lack is read.
  ASSIGN_OR_RETURN(const int version, pg::ServerVersionNum(conn));
  RETURN_IF_ERROR(pg::CheckServerVersion(version));
  RETURN_IF_ERROR(pg::CheckWalLevel(conn));
  ASSIGN_OR_RETURN(auto columns, pg::TableColumns(conn, names.table));

  ASSIGN_OR_RETURN(state.mapper, MakeMapper(config.mapping, names.table, columns));

  state.cleanup_enabled = config.cleanup.cleanup.enabled();
  if (state.cleanup_enabled && !pg::HasColumn(columns, config.cleanup.cleanup.created_at_column)) {
    spdlog::warn(
        "table {} has no column {}: periodic cleanup of old rows is off (name the column with "
        "--column-created-at, or --retention 0 to silence this)",
        names.table.ToString(), config.cleanup.cleanup.created_at_column);
    state.cleanup_enabled = false;
  }

  const pg::TableSelection selection = pg::TableSelection::Of(names.table);
  ASSIGN_OR_RETURN(state.publication, pg::InspectPublication(conn, names.publication, selection));
  RETURN_IF_ERROR(pg::CheckPublication(state.publication, names.publication, selection));
  if (state.publication.exists && !state.publication.Includes(names.table)) {
    return Status::FailedPrecondition(
        "publication " + names.publication + " exists but does not include " +
        names.table.ToString() + " (ALTER PUBLICATION " + names.publication + " ADD TABLE " +
        names.table.ToString() + ", or choose another --publication)");
  }
  if (!state.publication.exists && config.no_create) {
    return Status::NotFound("publication " + names.publication +
                            " does not exist and --no-create was given (CREATE PUBLICATION " +
                            names.publication + " FOR TABLE " + names.table.ToString() +
                            " WITH (publish = 'insert'))");
  }

  ASSIGN_OR_RETURN(pg::Rows db, conn.Query("SELECT current_database()"));
  state.database = db.Get(0, 0);
  ASSIGN_OR_RETURN(state.slot, pg::InspectSlot(conn, names.slot));
  if (state.slot.exists) {
    // A lost slot is for the start plan to judge (app/start_plan.h).
    RETURN_IF_ERROR(pg::CheckSlot(state.slot, names.slot, state.database, /*allow_lost=*/true));
    if (std::string warning = pg::FailoverSlotWarning(state.slot, names.slot, version);
        !warning.empty()) {
      spdlog::warn("{}", warning);
    }
  } else if (config.no_create) {
    return Status::NotFound("replication slot " + names.slot +
                            " does not exist and --no-create was given");
  }
  return state;
}

Status CreateMissing(const OutboxNames& names, DatabaseState* state,
                     const std::atomic<int>* stop_requests, bool may_create_slot) {
  pg::PgConnection& conn = *state->conn;
  const bool create_slot = may_create_slot && !state->slot.exists;
  {
    pg::StatementCanceller canceller(conn);
    StopWatcher watcher(stop_requests, &canceller);
    if (!state->publication.exists) {
      if (Status st = pg::CreatePublication(conn, names.publication, {names.table}); !st.ok()) {
        if (Stopping(stop_requests)) {
          return Status::Cancelled("stopped while creating publication " + names.publication +
                                   "; nothing was created");
        }
        return st;
      }
      spdlog::info("created publication {} for table {} (publish = 'insert')", names.publication,
                   names.table.ToString());
    }
    if (create_slot) {
      spdlog::info("creating replication slot {} (waits for the transactions running now to end)",
                   names.slot);
      if (Status st = pg::CreateSlot(conn, names.slot); !st.ok()) {
        if (Stopping(stop_requests)) {
          return Status::Cancelled(
              "stopped while creating replication slot " + names.slot +
              "; the slot was not created" +
              (state->publication.exists ? "" : " (publication " + names.publication + " was)"));
        }
        return st;
      }
    }
  }
  if (create_slot) {
    ASSIGN_OR_RETURN(state->slot, pg::InspectSlot(conn, names.slot));
    spdlog::info("created replication slot {} (pgoutput{}) at {}", names.slot,
                 state->slot.failover.value_or(false) ? ", failover" : "",
                 state->slot.confirmed_flush ? state->slot.confirmed_flush->ToString() : "?");
  }
  return Status::Ok();
}

Status CheckFeedbackInterval(std::chrono::milliseconds feedback_interval,
                             std::chrono::milliseconds wal_sender_timeout) {
  if (wal_sender_timeout.count() <= 0 || feedback_interval < wal_sender_timeout) {
    return Status::Ok();
  }
  return Status::InvalidArgument(
      "--feedback-interval " + FormatDuration(feedback_interval) +
      " is not shorter than the server's wal_sender_timeout " + FormatDuration(wal_sender_timeout) +
      ": while the Kafka queue is full the server would end the stream between two status "
      "updates (a reconnect); choose at most " +
      FormatDuration(wal_sender_timeout / 2) + " (half of it)");
}

Result<StartInputs> CheckStart(const RunConfig& config, const OutboxNames& names, DatabaseState& db,
                               const std::string& brokers,
                               std::optional<core::DeliveryState> remembered,
                               bool streamed_before) {
  StartInputs in;
  in.accept_gap = config.accept_gap;
  in.streamed_before = streamed_before;
  {
    ASSIGN_OR_RETURN(
        auto replication,
        pg::PgConnection::Connect(config.db, pg::PgConnection::Kind::kReplication, "pgoutbox"));
    ASSIGN_OR_RETURN(in.server, pg::IdentifySystem(*replication));
    ASSIGN_OR_RETURN(const std::chrono::milliseconds wal_sender_timeout,
                     pg::WalSenderTimeout(*replication));
    // A warning, not a refusal: while the stream is read the server's
    // requests for a reply are answered at once; only a pause (Kafka's
    // queue full) can then cost a reconnect, and nothing is lost.
    if (Status st = CheckFeedbackInterval(config.feedback_interval, wal_sender_timeout);
        !st.ok() && !streamed_before) {
      spdlog::warn("{}", st.message());
    }
  }
  if (remembered) {
    in.state = std::move(remembered);
  } else {
    const std::string key = core::DeliveryStateKey(db.database, names.slot);
    kafka::StateTopicOptions options;
    options.kafka = {brokers, config.kafka_config};
    options.topic = config.state_topic;
    options.key = key;
    ASSIGN_OR_RETURN(auto record, kafka::ReadLatestState(options, config.startup_timeout));
    if (record) {
      auto state = core::DeliveryState::Parse(record->value);
      if (!state.ok()) {
        return Status::Corruption(
            "the delivery state of " + key + " in topic " + config.state_topic + " (partition " +
            std::to_string(record->partition) + ", offset " + std::to_string(record->offset) +
            ") cannot be read: " + state.status().message());
      }
      in.state = std::move(*state);
    }
  }
  in.slot = !db.slot.exists           ? SlotCondition::kMissing
            : pg::SlotIsLost(db.slot) ? SlotCondition::kLost
                                      : SlotCondition::kUsable;
  // Without a delivered mark nothing tells how far back the undelivered
  // rows go: only a table that cleanup never touches is sure to hold them.
  in.rows_cover_mark = !db.cleanup_enabled;
  if (in.state && in.state->mark && db.cleanup_enabled) {
    ASSIGN_OR_RETURN(in.rows_cover_mark, pg::RowsCoverMark(*db.conn, in.state->mark->taken_at,
                                                           config.cleanup.cleanup.retention));
  }
  return in;
}

}  // namespace pgoutbox::app
