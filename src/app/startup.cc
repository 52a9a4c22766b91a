#include "app/startup.h"

#include <spdlog/spdlog.h>

#include <algorithm>
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

// "a, b, c".
std::string JoinNames(const std::vector<pg::TableName>& tables) {
  std::string out;
  for (const pg::TableName& t : tables) out += (out.empty() ? "" : ", ") + t.ToString();
  return out;
}

std::vector<pg::TableName> NamesOf(const std::vector<OutboxTable>& tables) {
  std::vector<pg::TableName> names;
  for (const OutboxTable& t : tables) names.push_back(t.name);
  return names;
}

}  // namespace

Result<OutboxNames> CheckNames(const std::vector<std::string>& tables,
                               const std::string& publication, const std::string& slot) {
  OutboxNames names;
  ASSIGN_OR_RETURN(names.tables, pg::TableSelection::Parse(tables));
  RETURN_IF_ERROR(pg::ValidatePublicationName(publication));
  RETURN_IF_ERROR(pg::ValidateSlotName(slot));
  names.publication = publication;
  names.slot = slot;
  return names;
}

Result<std::vector<OutboxTable>> ReadOutboxTables(pg::PgConnection& conn,
                                                  const pg::TableSelection& selection) {
  ASSIGN_OR_RETURN(std::vector<pg::TableName> found, pg::ListTables(conn, selection));
  // An exact entry names a table that must exist: TableColumns says so as
  // it does for a single table.
  for (const pg::TableName& exact : selection.ExactTables()) {
    if (std::find(found.begin(), found.end(), exact) == found.end()) {
      RETURN_IF_ERROR(pg::TableColumns(conn, exact).status());
    }
  }
  if (found.empty()) {
    return Status::NotFound("no table matches --table " + selection.ToString() +
                            " (create the outbox tables first, e.g. with pgoutbox setup)");
  }
  std::vector<OutboxTable> tables;
  for (pg::TableName& name : found) {
    ASSIGN_OR_RETURN(std::vector<pg::ColumnInfo> columns, pg::TableColumns(conn, name));
    tables.push_back(OutboxTable{std::move(name), std::move(columns)});
  }
  return tables;
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
  ASSIGN_OR_RETURN(state.tables, ReadOutboxTables(conn, names.tables));
  const std::vector<pg::TableName> table_names = NamesOf(state.tables);

  ASSIGN_OR_RETURN(state.mapper, MakeMapper(config.mapping, names.tables, state.tables));
  state.mapper->SetStartupTables(table_names);
  if (names.tables.HasWildcards() || state.tables.size() > 1) {
    spdlog::info("outbox tables ({} matching --table {}): {}", state.tables.size(),
                 names.tables.ToString(), JoinNames(table_names));
  }

  if (config.cleanup.cleanup.enabled()) {
    const std::string& created_at = config.cleanup.cleanup.created_at_column;
    std::vector<pg::TableName> without;
    for (const OutboxTable& table : state.tables) {
      if (pg::HasColumn(table.columns, created_at)) {
        state.cleanup_tables.push_back(table.name);
      } else {
        without.push_back(table.name);
      }
    }
    state.cleanup_enabled = !state.cleanup_tables.empty();
    if (!state.cleanup_enabled) {
      spdlog::warn(
          "{} {} no column {}: periodic cleanup of old rows is off (name the column with "
          "--column-created-at, or --retention 0 to silence this)",
          without.size() == 1 ? "table" : "tables", JoinNames(without),
          without.size() == 1 ? "has" : "have", created_at);
    } else if (!without.empty()) {
      spdlog::info("{} {} no column {}: {} rows are not cleaned up",
                   without.size() == 1 ? "table" : "tables", JoinNames(without),
                   without.size() == 1 ? "has" : "have", created_at,
                   without.size() == 1 ? "its" : "their");
    }
  }

  ASSIGN_OR_RETURN(state.publication,
                   pg::InspectPublication(conn, names.publication, names.tables));
  RETURN_IF_ERROR(pg::CheckPublication(state.publication, names.publication, names.tables));
  if (!state.publication.exists && config.no_create) {
    return Status::NotFound("publication " + names.publication +
                            " does not exist and --no-create was given (CREATE PUBLICATION " +
                            names.publication + " FOR TABLE " + JoinNames(table_names) +
                            " WITH (publish = 'insert'))");
  }
  if (state.publication.exists) {
    state.missing_from_publication = pg::MissingFromPublication(state.publication, table_names);
    if (!state.missing_from_publication.empty() && config.no_create) {
      const std::string missing = JoinNames(state.missing_from_publication);
      return Status::FailedPrecondition(
          "publication " + names.publication + " does not publish outbox " +
          (state.missing_from_publication.size() == 1 ? "table " : "tables ") + missing +
          " and --no-create was given (ALTER PUBLICATION " + names.publication + " ADD TABLE " +
          missing + ", or pgoutbox setup)");
    }
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
  const bool publication_existed = state->publication.exists;
  {
    pg::StatementCanceller canceller(conn);
    StopWatcher watcher(stop_requests, &canceller);
    if (!state->publication.exists) {
      const std::vector<pg::TableName> tables = NamesOf(state->tables);
      if (Status st = pg::CreatePublication(conn, names.publication, tables); !st.ok()) {
        if (Stopping(stop_requests)) {
          return Status::Cancelled("stopped while creating publication " + names.publication +
                                   "; nothing was created");
        }
        return st;
      }
      spdlog::info("created publication {} for {} {} (publish = 'insert')", names.publication,
                   tables.size() == 1 ? "table" : "tables", JoinNames(tables));
      state->publication.exists = true;
      state->publication.tables = tables;
    } else if (!state->missing_from_publication.empty()) {
      if (Status st =
              pg::AddTablesToPublication(conn, names.publication, state->missing_from_publication);
          !st.ok()) {
        if (Stopping(stop_requests)) {
          return Status::Cancelled("stopped while adding tables to publication " +
                                   names.publication + "; nothing was created");
        }
        return st;
      }
      for (const pg::TableName& table : state->missing_from_publication) {
        spdlog::info("added table {} to publication {}", table.ToString(), names.publication);
        state->publication.tables.push_back(table);
      }
      state->missing_from_publication.clear();
    }
    if (create_slot) {
      spdlog::info("creating replication slot {} (waits for the transactions running now to end)",
                   names.slot);
      if (Status st = pg::CreateSlot(conn, names.slot); !st.ok()) {
        if (Stopping(stop_requests)) {
          return Status::Cancelled(
              "stopped while creating replication slot " + names.slot +
              "; the slot was not created" +
              (publication_existed ? "" : " (publication " + names.publication + " was)"));
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
