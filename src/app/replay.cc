#include "app/replay.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <deque>
#include <memory>
#include <set>

#include "app/kafka_connection.h"
#include "common/text.h"
#include "core/dead_letter.h"
#include "kafka/publisher.h"
#include "outbox/table_row.h"
#include "pg/catalog.h"
#include "pg/connection.h"
#include "pg/row_reader.h"

namespace pgoutbox::app {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// How many undelivered records a failure message names.
constexpr size_t kNamedFailures = 5;

bool Stopping(const std::atomic<int>* stop_requests) {
  return stop_requests->load(std::memory_order_relaxed) > 0;
}

int64_t NowUnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int FindColumn(const std::vector<pg::ColumnInfo>& columns, const std::string& name) {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

// Lets the server read `value` as a timestamptz, as the row selection will:
// InvalidArgument naming `flag` with the server's message if it cannot.
// Returns the value as the server prints it, for the log.
Result<std::string> CheckTimestamp(pg::PgConnection& conn, const std::string& flag,
                                   const std::string& value) {
  pg::SqlError error;
  Result<pg::Rows> rows = conn.QueryParams("SELECT $1::timestamptz::text", {value}, &error);
  if (rows.ok()) return rows->Get(0, 0);
  if (error.sqlstate.rfind("22", 0) == 0) {
    return Status::InvalidArgument(flag + " \"" + value + "\": " + error.message);
  }
  return rows.status();
}

// The delivery reports of a replay: acks counted, failures kept to be named,
// records Kafka refused turned into bad rows by the policy (on the thread
// that polls the publisher).
class Deliveries : public kafka::DeliveryHandler {
 public:
  Deliveries(core::BadRowAction action, core::DeadLetterTarget target)
      : action_(action), target_(std::move(target)) {}

  void OnDelivered(uint64_t /*opaque*/, std::string_view topic) override {
    if (action_ == core::BadRowAction::kDeadLetter && topic == target_.topic) {
      ++dead_letters_;
    } else {
      ++events_;
    }
  }
  void OnFailed(uint64_t /*opaque*/, std::string_view event_id, const Status& reason) override {
    failures_.push_back("event " + std::string(event_id) + ": " + reason.message());
  }
  void OnRefused(uint64_t opaque, const kafka::RefusedRecord& record,
                 const Status& reason) override {
    if (action_ == core::BadRowAction::kHalt || record.topic == target_.topic) {
      OnFailed(opaque, record.event_id, reason);
      return;
    }
    ++bad_rows_;
    if (action_ == core::BadRowAction::kSkip) {
      spdlog::warn("skipped event {}: {}", record.event_id, reason.message());
      return;
    }
    pending_.push_back(core::DeadLetter::FromRefused(target_, record, reason));
  }

  uint64_t events() const { return events_; }
  uint64_t bad_rows() const { return bad_rows_; }
  const std::vector<std::string>& failures() const { return failures_; }
  // Dead-letter records of refused deliveries, to be produced.
  std::deque<core::DeadLetter>& pending() { return pending_; }

 private:
  const core::BadRowAction action_;
  const core::DeadLetterTarget target_;
  uint64_t events_ = 0, dead_letters_ = 0, bad_rows_ = 0;
  std::vector<std::string> failures_;
  std::deque<core::DeadLetter> pending_;
};

// One replay: reads the rows, maps them, produces them (unless a dry run)
// and waits for the acks.
class Session {
 public:
  Session(const ReplayConfig& config, const pg::TableName& table, outbox::EventMapper* mapper,
          outbox::TableRowMapper* row_mapper, int created_at_index, int id_index,
          const std::atomic<int>* stop_requests, ReplayStats* stats)
      : config_(config),
        mapper_(mapper),
        row_mapper_(row_mapper),
        created_at_index_(created_at_index),
        id_index_(id_index),
        stop_requests_(stop_requests),
        stats_(stats),
        target_{config.dead_letter_topic, table.ToString()},
        deliveries_(config.on_bad_row, target_) {}

  // Where the records go; not called for a dry run.
  Status StartPublisher() {
    ASSIGN_OR_RETURN(
        kafka_, KafkaConnection::Connect(config_.brokers, config_.kafka_config,
                                         config_.startup_timeout, stop_requests_, &deliveries_));
    publisher_ = kafka_.publisher.get();
    return Status::Ok();
  }

  // Reads every row of `reader` and hands it on; stops at the first error.
  Status ReadAll(pg::RowReader* reader) {
    std::vector<pg::TableRow> batch;
    last_progress_ = Clock::now();
    for (;;) {
      RETURN_IF_ERROR(reader->Next(&batch));
      if (batch.empty()) return Status::Ok();
      for (const pg::TableRow& row : batch) {
        if (Stopping(stop_requests_)) {
          return Status::Cancelled("stopped by a signal after " + Counted(stats_->rows, "row"));
        }
        RETURN_IF_ERROR(HandleRow(row));
      }
      if (publisher_) {
        publisher_->Send();
        RETURN_IF_ERROR(CheckDeliveries());
      }
      MaybeLogProgress();
    }
  }

  // Waits for every record produced (and the dead-letter records of refused
  // ones) to be acknowledged or refused; after a stop signal, for at most
  // the shutdown timeout. Non-OK naming what was not delivered.
  Status WaitForAcks() {
    if (!publisher_) return Status::Ok();
    std::optional<Clock::time_point> deadline;
    while (publisher_->outq_len() > 0 || !deliveries_.pending().empty()) {
      if (!publisher_->fatal_error().ok()) break;
      if (Stopping(stop_requests_) && !deadline) {
        deadline = Clock::now() + config_.shutdown_timeout;
      }
      if (deadline && Clock::now() >= *deadline) break;
      ProducePendingDeadLetters();
      publisher_->Flush(200ms);
      MaybeLogProgress();
    }
    stats_->events = deliveries_.events();
    stats_->bad_rows = bad_rows_ + deliveries_.bad_rows();
    std::vector<std::string> problems = deliveries_.failures();
    if (!publisher_->fatal_error().ok()) problems.push_back(publisher_->fatal_error().message());
    const int undelivered = publisher_->outq_len() + static_cast<int>(deliveries_.pending().size());
    if (problems.empty() && undelivered == 0) return Status::Ok();
    std::string message;
    if (!deliveries_.failures().empty()) {
      message = Counted(deliveries_.failures().size(), "record") + " not delivered: ";
    }
    for (size_t i = 0; i < problems.size() && i < kNamedFailures; ++i) {
      message += (i > 0 ? "; " : "") + problems[i];
    }
    if (problems.size() > kNamedFailures) {
      message += "; and " + std::to_string(problems.size() - kNamedFailures) + " more";
    }
    if (undelivered > 0) {
      if (!message.empty()) message += "; ";
      message += Counted(static_cast<uint64_t>(undelivered), "record") +
                 " still unacknowledged when the replay stopped waiting";
    }
    return Status::Aborted(message);
  }

  // The rows of config.ids that were read, as their id column's text.
  const std::set<std::string>& found_ids() const { return found_ids_; }

 private:
  Status HandleRow(const pg::TableRow& row) {
    ++stats_->rows;
    if (created_at_index_ >= 0 && row.values[created_at_index_]) {
      if (!stats_->first_created_at) stats_->first_created_at = *row.values[created_at_index_];
      stats_->last_created_at = *row.values[created_at_index_];
    }
    Status mapped = row_mapper_->Map(row.values, &event_);
    if (!config_.ids.empty() && id_index_ >= 0 && row.values[id_index_]) {
      found_ids_.insert(*row.values[id_index_]);
    }
    if (!mapped.ok()) {
      const std::optional<outbox::BadRowReason> reason = mapper_->bad_row_reason();
      if (!reason) return mapped;
      return HandleBadRow(*reason, mapped, 0);
    }
    if (!publisher_) {
      ++stats_->events;  // a dry run: the row would become this record
      return Status::Ok();
    }
    const int64_t timestamp = row.created_at_unix_ms.value_or(NowUnixMillis());
    ASSIGN_OR_RETURN(kafka::ProduceResult produced, Produce(event_, timestamp));
    if (produced.outcome == kafka::ProduceOutcome::kRefused) {
      return HandleBadRow(
          produced.refusal,
          Status::InvalidArgument("event " + std::string(event_.id) + ": " + produced.message),
          event_.payload.size());
    }
    return Status::Ok();
  }

  // A bad row, by the --on-bad-row policy, as the stream handles one.
  Status HandleBadRow(const core::BadRowCause& cause, const Status& error, size_t payload_size) {
    if (!publisher_) {
      ++bad_rows_;
      stats_->bad_rows = bad_rows_;
      spdlog::warn("a bad row ({}): {}", core::BadRowCauseName(cause), error.message());
      return Status::Ok();
    }
    switch (config_.on_bad_row) {
      case core::BadRowAction::kHalt:
        return Status::Aborted(error.message());
      case core::BadRowAction::kSkip:
        ++bad_rows_;
        spdlog::warn("skipped a bad row ({}): {}", core::BadRowCauseName(cause), error.message());
        return Status::Ok();
      case core::BadRowAction::kDeadLetter:
        break;
    }
    ASSIGN_OR_RETURN(core::DeadLetter dead_letter,
                     core::DeadLetter::FromRow(target_, *mapper_, row_mapper_->insert(),
                                               std::nullopt, cause, error, payload_size));
    ASSIGN_OR_RETURN(kafka::ProduceResult produced, Produce(dead_letter.event(), NowUnixMillis()));
    if (produced.outcome == kafka::ProduceOutcome::kRefused) {
      return Status::Aborted(error.message() +
                             "; its dead-letter record was refused too: " + produced.message);
    }
    ++bad_rows_;
    spdlog::warn("sent a bad row ({}) to {}: {}", core::BadRowCauseName(cause),
                 config_.dead_letter_topic, error.message());
    return Status::Ok();
  }

  // Produces one record, waiting while the local queue is full.
  Result<kafka::ProduceResult> Produce(const outbox::Event& event, int64_t timestamp) {
    for (;;) {
      ASSIGN_OR_RETURN(kafka::ProduceResult produced,
                       publisher_->Produce(event, timestamp, ++opaque_));
      publisher_->Poll(0);
      if (produced.outcome != kafka::ProduceOutcome::kQueueFull) return produced;
      publisher_->Send();
      publisher_->Poll(100);
      RETURN_IF_ERROR(publisher_->fatal_error());
      if (Stopping(stop_requests_)) {
        return Status::Cancelled("stopped by a signal after " + Counted(stats_->rows, "row"));
      }
    }
  }

  void ProducePendingDeadLetters() {
    auto& pending = deliveries_.pending();
    while (!pending.empty()) {
      Result<kafka::ProduceResult> produced =
          publisher_->Produce(pending.front().event(), NowUnixMillis(), ++opaque_);
      if (!produced.ok()) return;  // fatal: WaitForAcks reports it
      if (produced->outcome == kafka::ProduceOutcome::kQueueFull) return;
      if (produced->outcome == kafka::ProduceOutcome::kRefused) {
        deliveries_.OnFailed(
            0, pending.front().id(),
            Status::Aborted("its dead-letter record was refused: " + produced->message));
      }
      pending.pop_front();
    }
  }

  // A delivery that failed for good, or a fatal producer error, ends the
  // reading: what was produced is still waited for.
  Status CheckDeliveries() {
    publisher_->Poll(0);
    ProducePendingDeadLetters();
    RETURN_IF_ERROR(publisher_->fatal_error());
    if (!deliveries_.failures().empty()) {
      return Status::Aborted("stopped reading after a delivery failed");
    }
    return Status::Ok();
  }

  void MaybeLogProgress() {
    const Clock::time_point now = Clock::now();
    if (now - last_progress_ < defaults::kReplayProgressInterval) return;
    last_progress_ = now;
    if (!publisher_) {
      spdlog::info("replay (dry run): read {}", Counted(stats_->rows, "row"));
      return;
    }
    spdlog::info("replay: read {}, {} acknowledged, {} in flight", Counted(stats_->rows, "row"),
                 Counted(deliveries_.events(), "event"), publisher_->outq_len());
  }

  const ReplayConfig& config_;
  outbox::EventMapper* mapper_;
  outbox::TableRowMapper* row_mapper_;
  const int created_at_index_;  // -1: none
  const int id_index_;
  const std::atomic<int>* stop_requests_;
  ReplayStats* stats_;
  const core::DeadLetterTarget target_;
  Deliveries deliveries_;
  KafkaConnection kafka_;
  kafka::Publisher* publisher_ = nullptr;  // kafka_'s, once started
  outbox::Event event_;
  uint64_t opaque_ = 0;
  uint64_t bad_rows_ = 0;
  std::set<std::string> found_ids_;
  Clock::time_point last_progress_{};
};

// A PostgreSQL array literal of `values` ({"a","b\"c"}), for a parameter.
std::string ArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// `ids` as the server reads them as the id column's type (type oid
// `id_type`) and prints them back: an upper-case uuid becomes the row's
// lower-case one. InvalidArgument naming --ids with the server's message for
// an id it cannot read.
Result<std::vector<std::string>> NormalizeIds(pg::PgConnection& conn, uint32_t id_type,
                                              const std::vector<std::string>& ids) {
  ASSIGN_OR_RETURN(pg::Rows type, conn.QueryParams("SELECT format_type($1::oid, NULL)",
                                                   {std::to_string(id_type)}));
  pg::SqlError error;
  Result<pg::Rows> rows =
      conn.QueryParams("SELECT CAST(i AS " + type.Get(0, 0) +
                           ")::text FROM unnest($1::text[]) WITH ORDINALITY AS u(i, n) ORDER BY n",
                       {ArrayLiteral(ids)}, &error);
  if (!rows.ok()) {
    if (error.sqlstate.rfind("22", 0) == 0) {
      return Status::InvalidArgument("--ids: " + error.message);
    }
    return rows.status();
  }
  std::vector<std::string> normalized;
  for (size_t i = 0; i < rows->size(); ++i) normalized.push_back(rows->Get(i, 0));
  return normalized;
}

}  // namespace

Status Replay(const ReplayConfig& config, const std::atomic<int>* stop_requests,
              ReplayStats* stats) {
  *stats = ReplayStats{};
  ASSIGN_OR_RETURN(pg::TableName table, pg::ParseTableName(config.table));
  if (!config.dry_run) {
    if (config.brokers.empty()) {
      return Status::InvalidArgument("--brokers is required (except with --dry-run)");
    }
    RETURN_IF_ERROR(kafka::ParseMockSpec(config.brokers).status());
    RETURN_IF_ERROR(kafka::ValidateConfig({config.brokers, config.kafka_config}));
  }

  // An ordinary connection: the replay reads the table, nothing else.
  ASSIGN_OR_RETURN(auto conn, pg::PgConnection::Connect(
                                  config.db, pg::PgConnection::Kind::kOrdinary, "pgoutbox replay"));
  ASSIGN_OR_RETURN(std::vector<pg::ColumnInfo> columns, pg::TableColumns(*conn, table));
  ASSIGN_OR_RETURN(auto mapper, MakeMapper(config.mapping, table, columns));
  ASSIGN_OR_RETURN(outbox::TableRowMapper row_mapper,
                   outbox::TableRowMapper::Create(mapper.get(), columns));

  pg::RowSelection selection;
  const int created_at_index = FindColumn(columns, config.created_at_column);
  if (created_at_index >= 0) {
    selection.created_at_column = config.created_at_column;
  } else if (config.since || config.until) {
    return Status::InvalidArgument("table " + table.ToString() + " has no column \"" +
                                   config.created_at_column +
                                   "\" to select rows by time (name it with "
                                   "--column-created-at, or select rows with --ids)");
  } else {
    spdlog::info("table {} has no column {}: rows in physical order, timestamped now",
                 table.ToString(), config.created_at_column);
  }
  selection.id_column = mapper->options().columns.id;
  const int id_index = FindColumn(columns, selection.id_column);
  if (!config.ids.empty()) {
    ASSIGN_OR_RETURN(selection.ids, NormalizeIds(*conn, columns[id_index].type_oid, config.ids));
  }
  std::string what;
  if (config.since) {
    // The server's reading of the value, absolute ("yesterday" is read once).
    ASSIGN_OR_RETURN(std::string since, CheckTimestamp(*conn, "--since", *config.since));
    selection.since = since;
    what = "created at or after " + since;
  }
  if (config.until) {
    ASSIGN_OR_RETURN(std::string until, CheckTimestamp(*conn, "--until", *config.until));
    selection.until = until;
    what += (what.empty() ? "created before " : " and before ") + until;
  }
  if (!config.ids.empty()) what = "with " + Counted(config.ids.size(), "given id");

  Session session(config, table, mapper.get(), &row_mapper, created_at_index, id_index,
                  stop_requests, stats);
  if (!config.dry_run) {
    if (Status st = session.StartPublisher(); !st.ok()) {
      if (st.code() == Status::Code::kCancelled) {
        return Status::Cancelled(st.message() + ", before anything was published");
      }
      return st;
    }
  }

  ASSIGN_OR_RETURN(auto reader,
                   pg::RowReader::Open(conn.get(), table, columns, selection, config.batch_size));
  stats->reading = true;
  spdlog::debug("replay query: {}", reader->query());
  spdlog::info("{} the rows of {} {}", config.dry_run ? "reading (dry run)" : "replaying",
               table.ToString(), what);
  Status read = session.ReadAll(reader.get());
  Status closed = reader->Close();
  Status acked = session.WaitForAcks();
  if (!read.ok()) {
    if (!acked.ok()) {
      const std::string both = read.message() + "; " + acked.message();
      return read.code() == Status::Code::kCancelled ? Status::Cancelled(both)
                                                     : Status::Aborted(both);
    }
    return read;
  }
  RETURN_IF_ERROR(closed);
  RETURN_IF_ERROR(acked);

  if (!config.ids.empty()) {
    std::vector<std::string> missing;
    std::set<std::string> named;
    for (size_t i = 0; i < selection.ids.size(); ++i) {
      if (session.found_ids().count(selection.ids[i]) == 0 &&
          named.insert(selection.ids[i]).second) {
        missing.push_back(config.ids[i]);
      }
    }
    if (!missing.empty()) {
      std::string list;
      for (size_t i = 0; i < missing.size(); ++i) list += (i > 0 ? ", " : "") + missing[i];
      return Status::Aborted(Counted(missing.size(), "id") + " of --ids not in table " +
                             table.ToString() + " (deleted by cleanup?): " + list);
    }
  }
  return Status::Ok();
}

}  // namespace pgoutbox::app
