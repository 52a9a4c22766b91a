#include "app/recovery.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <optional>

#include "common/text.h"
#include "outbox/table_row.h"
#include "pg/connection.h"
#include "pg/row_reader.h"
#include "pg/slot_snapshot.h"

namespace pgoutbox::app {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// How far before the server's next transaction id a mark's id may lie for
// an age comparison in 32 bits to be trusted (2^31 less a margin for the
// transactions that start while the rows are read).
constexpr uint64_t kMaxMarkAge = (uint64_t{1} << 31) - (uint64_t{1} << 24);

// The acknowledgement of one state record.
class StateAck : public kafka::DeliveryHandler {
 public:
  void OnDelivered(uint64_t, std::string_view, std::chrono::microseconds) override { done_ = true; }
  void OnFailed(uint64_t, std::string_view, const Status& reason) override {
    done_ = true;
    error_ = reason;
  }
  void OnRefused(uint64_t, const kafka::RefusedRecord&, const Status& reason) override {
    done_ = true;
    error_ = reason;
  }
  bool done() const { return done_; }
  const Status& error() const { return error_; }

 private:
  bool done_ = false;
  Status error_;
};

// The server's next transaction id as of the reading snapshot (xid8).
Result<uint64_t> NextXid(pg::PgConnection& conn) {
  ASSIGN_OR_RETURN(pg::Rows rows, conn.Query("SELECT pg_snapshot_xmax(pg_current_snapshot())"));
  return std::strtoull(rows.Get(0, 0).c_str(), nullptr, 10);
}

// The rows that may be undelivered, and the words for the log.
// `same_timeline`: the mark was taken on this server's timeline; after a
// promotion the ids the old primary gave out past the standby's last replayed
// one are given out again, which only created_at tells apart.
pg::RowSelection::AfterMark SelectAfterMark(const pg::DeliveredMark& mark, uint64_t next_xid,
                                            bool has_created_at, bool same_timeline,
                                            std::string* what) {
  pg::RowSelection::AfterMark after;
  if (has_created_at) after.created_since = mark.taken_at;
  const bool xid_usable = next_xid >= mark.xmin && next_xid - mark.xmin < kMaxMarkAge &&
                          (same_timeline || has_created_at);
  if (xid_usable) {
    after.from_xid = std::to_string(mark.xmin & 0xffffffffu);
    *what = "inserted by transaction " + std::to_string(mark.xmin) + " or later" +
            (has_created_at ? " or created at or after " + mark.taken_at : "");
  } else if (has_created_at) {
    *what = "created at or after " + mark.taken_at + " (transaction " + std::to_string(mark.xmin) +
            " cannot be compared with this server's, next " + std::to_string(next_xid) + ")";
  } else {
    *what = "all of them (transaction " + std::to_string(mark.xmin) +
            " cannot be compared with this server's" + (same_timeline ? "" : " after a promotion") +
            ", and the table has no creation time)";
    after.from_xid.clear();
  }
  return after;
}

}  // namespace

Status WriteDeliveryState(kafka::Publisher* publisher, const std::string& topic,
                          const core::DeliveryState& state, std::chrono::milliseconds timeout) {
  StateAck ack;
  publisher->set_delivery_handler(&ack);
  const std::string value = state.ToJson();
  const std::string key = core::DeliveryStateKey(state.database, state.slot);
  outbox::Event event;
  event.topic = topic;
  event.key = key;
  event.payload = value;
  Status result;
  auto produced = publisher->Produce(event, 0, 0);
  if (!produced.ok()) {
    result = produced.status();
  } else if (produced->outcome != kafka::ProduceOutcome::kQueued) {
    result = Status::Unavailable(produced->message.empty() ? "the local queue is full"
                                                           : produced->message);
  } else {
    const auto deadline = Clock::now() + timeout;
    publisher->Send();
    while (!ack.done() && publisher->fatal_error().ok() && Clock::now() < deadline) {
      publisher->Flush(100ms);
    }
    if (!publisher->fatal_error().ok()) {
      result = publisher->fatal_error();
    } else if (!ack.done()) {
      result =
          Status::Unavailable("not acknowledged within " + std::to_string(timeout.count()) + " ms");
    } else {
      result = ack.error();
    }
  }
  publisher->set_delivery_handler(nullptr);
  if (!result.ok()) {
    return result.WithContext("cannot write the delivery state (phase " +
                              std::string(core::DeliveryPhaseName(state.phase)) + ") to " + topic);
  }
  return Status::Ok();
}

Result<RecoveryResult> RecoverFromTable(const RecoveryOptions& options, outbox::EventMapper* mapper,
                                        kafka::Publisher* publisher,
                                        const std::atomic<int>* stop_requests) {
  RecoveryResult result;
  core::DeliveryState state;
  state.system_identifier = options.server.system_identifier;
  state.timeline = options.server.timeline;
  state.database = options.database;
  state.slot = options.slot;
  if (options.state) {
    state.confirmed = options.state->confirmed;
    state.mark = options.state->mark;
  }
  state.phase = core::DeliveryPhase::kRecovering;
  RETURN_IF_ERROR(
      WriteDeliveryState(publisher, options.state_topic, state, options.publish.shutdown_timeout));

  // The slot, and the connection whose snapshot the rows are read in.
  std::unique_ptr<pg::SlotSnapshot> snapshot;
  std::unique_ptr<pg::PgConnection> ordinary;
  pg::PgConnection* conn = nullptr;
  if (options.slot_info.exists && pg::SlotIsLost(options.slot_info)) {
    ASSIGN_OR_RETURN(ordinary,
                     pg::PgConnection::Connect(options.conninfo, pg::PgConnection::Kind::kOrdinary,
                                               "pgoutbox recovery"));
    RETURN_IF_ERROR(pg::DropSlot(*ordinary, options.slot));
    spdlog::warn("dropped replication slot {}: it was invalidated and cannot be streamed from",
                 options.slot);
    ordinary.reset();
  }
  if (options.slot_info.exists && !pg::SlotIsLost(options.slot_info)) {
    // An interrupted recovery's slot: it streams from where it was created.
    ASSIGN_OR_RETURN(ordinary,
                     pg::PgConnection::Connect(options.conninfo, pg::PgConnection::Kind::kOrdinary,
                                               "pgoutbox recovery"));
    ASSIGN_OR_RETURN(pg::SlotInfo info, pg::InspectSlot(*ordinary, options.slot));
    if (!info.exists || !info.confirmed_flush) {
      return Status::Unavailable("replication slot " + options.slot +
                                 " vanished during the recovery; it is tried again");
    }
    result.start = *info.confirmed_flush;
    conn = ordinary.get();
    spdlog::info("replication slot {} exists at {}: reading the rows in a new snapshot",
                 options.slot, result.start.ToString());
  } else {
    spdlog::info(
        "creating replication slot {}{} with a snapshot (waits for the transactions running now "
        "to end)",
        options.slot, options.failover_slot ? " (failover)" : "");
    ASSIGN_OR_RETURN(snapshot, pg::SlotSnapshot::Create(
                                   {options.conninfo, options.slot, options.failover_slot}));
    result.start = snapshot->consistent_point();
    conn = &snapshot->connection();
    spdlog::info(
        "created replication slot {} at {}: the rows committed before it come from "
        "the table, everything after it from the slot",
        options.slot, result.start.ToString());
  }

  std::optional<uint64_t> next_xid;
  if (options.state && options.state->mark) {
    ASSIGN_OR_RETURN(next_xid, NextXid(*conn));
  }
  RowPublisher rows(options.publish, options.tables_label, mapper, stop_requests, &result.stats);
  publisher->set_delivery_handler(rows.handler());
  rows.set_publisher(publisher);
  // One table after another, in the snapshot (or, for an existing slot, each
  // in a snapshot of its own, taken after the slot's start).
  auto read_table = [&](const RecoveryTable& table) -> Status {
    pg::RowSelection selection;
    selection.created_at_column = table.created_at_column;
    selection.id_column = mapper->options().columns.id;
    std::string what = "all of them (nothing is remembered about what was delivered)";
    if (next_xid) {
      selection.after_mark =
          SelectAfterMark(*options.state->mark, *next_xid, !table.created_at_column.empty(),
                          options.state->timeline == options.server.timeline, &what);
    } else if (options.state) {
      what = "all of them (no delivered mark was remembered yet)";
    }
    ASSIGN_OR_RETURN(outbox::TableRowMapper row_mapper,
                     outbox::TableRowMapper::Create(mapper, table.name, table.columns));
    rows.SetTable(&row_mapper, table.columns, table.created_at_column);
    ASSIGN_OR_RETURN(auto reader, pg::RowReader::Open(conn, table.name, table.columns, selection,
                                                      options.batch_size));
    spdlog::info(
        "recovering from the table: publishing the retained rows of {} that may be "
        "undelivered: {}",
        table.name.ToString(), what);
    spdlog::debug("recovery query: {}", reader->query());
    Status read = rows.ReadAll(reader.get());
    Status closed = reader->Close();
    RETURN_IF_ERROR(read);
    return closed;
  };
  Status read;
  for (const RecoveryTable& table : options.tables) {
    read = read_table(table);
    if (!read.ok()) break;
  }
  Status acked = rows.WaitForAcks();
  publisher->set_delivery_handler(nullptr);
  RETURN_IF_ERROR(read);
  RETURN_IF_ERROR(acked);
  if (snapshot) RETURN_IF_ERROR(snapshot->Finish());

  state.phase = core::DeliveryPhase::kStreaming;
  state.confirmed = result.start;
  RETURN_IF_ERROR(
      WriteDeliveryState(publisher, options.state_topic, state, options.publish.shutdown_timeout));
  spdlog::info("recovered {} from the table ({} read{}); streaming from slot {} at {}",
               Counted(result.stats.events, "event"), Counted(result.stats.rows, "row"),
               result.stats.bad_rows > 0 ? ", " + Counted(result.stats.bad_rows, "bad row") : "",
               options.slot, result.start.ToString());
  return result;
}

}  // namespace pgoutbox::app
