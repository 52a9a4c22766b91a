#include "app/row_publisher.h"

#include <spdlog/spdlog.h>

#include <deque>
#include <vector>

#include "common/text.h"

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

}  // namespace

// The delivery reports: acks counted, failures kept to be named, records
// Kafka refused turned into bad rows by the policy (on the thread that polls
// the publisher). A refusal of a batch is not taken for bad rows: its records
// are kept (core::RefusedBatch) and produced again one at a time by
// RowPublisher::RetryRefused; only a record refused alone is a bad row.
class RowPublisher::Deliveries : public kafka::DeliveryHandler {
 public:
  Deliveries(core::BadRowAction action, core::DeadLetterTarget target)
      : action_(action), target_(std::move(target)) {}

  void OnDelivered(uint64_t /*opaque*/, std::string_view topic,
                   std::chrono::microseconds /*in_producer*/) override {
    if (refused_.retrying()) refused_.Pop();  // it was alone in flight
    if (action_ == core::BadRowAction::kDeadLetter && topic == target_.topic) {
      ++dead_letters_;
    } else {
      ++events_;
    }
  }
  void OnFailed(uint64_t /*opaque*/, std::string_view event_id, const Status& reason) override {
    if (refused_.retrying()) refused_.Pop();
    failures_.push_back("event " + std::string(event_id) + ": " + reason.message());
  }
  void OnRefused(uint64_t opaque, const kafka::RefusedRecord& record,
                 const Status& reason) override {
    if (record.topic == target_.topic) {
      OnFailed(opaque, record.event_id, reason);
      return;
    }
    if (refused_.retrying()) {
      // It was alone in flight: the refusal is about this record.
      Refused(record, reason);
      refused_.Pop();
      return;
    }
    if (refused_.empty()) {
      spdlog::warn(
          "Kafka refused a batch of records ({}): producing them again one at a time, so that "
          "only a record refused on its own counts as a bad row",
          reason.message());
    }
    refused_.Add(opaque, record, reason);
  }

  // A record refused on its own: a bad row for the policy (a corrupted one:
  // a delivery failure).
  void Refused(const kafka::RefusedRecord& record, const Status& reason) {
    if (action_ == core::BadRowAction::kHalt || !kafka::IsAboutTheRecord(record.refusal)) {
      failures_.push_back("event " + std::string(record.event_id) + ": " + reason.message());
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
  // Records of refused batches, to be produced again one at a time.
  core::RefusedBatch& refused() { return refused_; }

 private:
  const core::BadRowAction action_;
  const core::DeadLetterTarget target_;
  uint64_t events_ = 0, dead_letters_ = 0, bad_rows_ = 0;
  std::vector<std::string> failures_;
  std::deque<core::DeadLetter> pending_;
  core::RefusedBatch refused_;
};

RowPublisher::RowPublisher(RowPublisherOptions options, const std::string& tables,
                           outbox::EventMapper* mapper, const std::atomic<int>* stop_requests,
                           RowPublishStats* stats)
    : options_(std::move(options)),
      mapper_(mapper),
      stop_requests_(stop_requests),
      stats_(stats),
      target_{options_.dead_letter_topic, tables},
      deliveries_(std::make_unique<Deliveries>(options_.on_bad_row, target_)) {
  last_progress_ = Clock::now();
}

void RowPublisher::SetTable(outbox::TableRowMapper* row_mapper,
                            const std::vector<pg::ColumnInfo>& columns,
                            const std::string& created_at_column) {
  row_mapper_ = row_mapper;
  created_at_index_ = FindColumn(columns, created_at_column);
  id_index_ = FindColumn(columns, mapper_->options().columns.id);
}

RowPublisher::~RowPublisher() = default;

kafka::DeliveryHandler* RowPublisher::handler() { return deliveries_.get(); }

Status RowPublisher::ReadAll(pg::RowReader* reader) {
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
      RETURN_IF_ERROR(RetryRefusedBatches());
    }
    MaybeLogProgress();
  }
}

Status RowPublisher::WaitForAcks() {
  if (!publisher_) return Status::Ok();
  std::optional<Clock::time_point> deadline;
  while (publisher_->outq_len() > 0 || !deliveries_->pending().empty() ||
         !deliveries_->refused().empty()) {
    if (!publisher_->fatal_error().ok()) break;
    if (Stopping(stop_requests_) && !deadline) {
      deadline = Clock::now() + options_.shutdown_timeout;
    }
    if (deadline && Clock::now() >= *deadline) break;
    ProducePendingDeadLetters();
    RetryRefused();
    publisher_->Flush(200ms);
    MaybeLogProgress();
  }
  stats_->events = deliveries_->events();
  stats_->bad_rows = bad_rows_ + deliveries_->bad_rows();
  std::vector<std::string> problems = deliveries_->failures();
  if (!publisher_->fatal_error().ok()) problems.push_back(publisher_->fatal_error().message());
  const int undelivered = publisher_->outq_len() + static_cast<int>(deliveries_->pending().size() +
                                                                    deliveries_->refused().size());
  if (problems.empty() && undelivered == 0) return Status::Ok();
  std::string message;
  if (!deliveries_->failures().empty()) {
    message = Counted(deliveries_->failures().size(), "record") + " not delivered: ";
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

Status RowPublisher::HandleRow(const pg::TableRow& row) {
  ++stats_->rows;
  if (created_at_index_ >= 0 && row.values[created_at_index_]) {
    if (!stats_->first_created_at) stats_->first_created_at = *row.values[created_at_index_];
    stats_->last_created_at = *row.values[created_at_index_];
  }
  Status mapped = row_mapper_->Map(row.values, &event_);
  if (options_.collect_ids && id_index_ >= 0 && row.values[id_index_]) {
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

Status RowPublisher::HandleBadRow(const core::BadRowCause& cause, const Status& error,
                                  size_t payload_size) {
  if (!publisher_) {
    ++bad_rows_;
    stats_->bad_rows = bad_rows_;
    spdlog::warn("a bad row ({}): {}", core::BadRowCauseName(cause), error.message());
    return Status::Ok();
  }
  switch (options_.on_bad_row) {
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
                   core::DeadLetter::FromRow(target_, *mapper_, row_mapper_->insert(), std::nullopt,
                                             cause, error, payload_size));
  ASSIGN_OR_RETURN(kafka::ProduceResult produced, Produce(dead_letter.event(), NowUnixMillis()));
  if (produced.outcome == kafka::ProduceOutcome::kRefused) {
    return Status::Aborted(error.message() +
                           "; its dead-letter record was refused too: " + produced.message);
  }
  ++bad_rows_;
  spdlog::warn("sent a bad row ({}) to {}: {}", core::BadRowCauseName(cause),
               options_.dead_letter_topic, error.message());
  return Status::Ok();
}

Result<kafka::ProduceResult> RowPublisher::Produce(const outbox::Event& event, int64_t timestamp) {
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

void RowPublisher::ProducePendingDeadLetters() {
  auto& pending = deliveries_->pending();
  // A record produced again alone must stay alone in flight.
  while (!pending.empty() && !deliveries_->refused().retrying()) {
    Result<kafka::ProduceResult> produced =
        publisher_->Produce(pending.front().event(), NowUnixMillis(), ++opaque_);
    if (!produced.ok()) return;  // fatal: WaitForAcks reports it
    if (produced->outcome == kafka::ProduceOutcome::kQueueFull) return;
    if (produced->outcome == kafka::ProduceOutcome::kRefused) {
      deliveries_->OnFailed(
          0, pending.front().id(),
          Status::Aborted("its dead-letter record was refused: " + produced->message));
    }
    pending.pop_front();
  }
}

void RowPublisher::RetryRefused() {
  core::RefusedBatch& refused = deliveries_->refused();
  if (refused.empty() || refused.retrying()) return;
  // Alone: nothing else in flight, so that its report is its own.
  if (publisher_->outq_len() > 0 || !deliveries_->pending().empty()) return;
  const outbox::Event event = refused.event();
  Result<kafka::ProduceResult> produced =
      publisher_->Produce(event, refused.timestamp_ms(), ++opaque_);
  if (!produced.ok()) {
    deliveries_->OnFailed(0, event.id, produced.status());
    refused.Pop();
    return;
  }
  switch (produced->outcome) {
    case kafka::ProduceOutcome::kQueueFull:
      return;  // later
    case kafka::ProduceOutcome::kRefused: {
      // Refused when produced: about this record alone.
      kafka::RefusedRecord record = refused.refused();
      record.refusal = produced->refusal;
      deliveries_->Refused(
          record, Status::Aborted("event " + std::string(event.id) + ": " + produced->message));
      refused.Pop();
      return;
    }
    case kafka::ProduceOutcome::kQueued:
      refused.Produced();
      publisher_->Send();
      return;
  }
}

Status RowPublisher::RetryRefusedBatches() {
  while (!deliveries_->refused().empty()) {
    if (Stopping(stop_requests_)) {
      return Status::Cancelled("stopped by a signal after " + Counted(stats_->rows, "row"));
    }
    ProducePendingDeadLetters();
    RetryRefused();
    publisher_->Flush(10ms);
    RETURN_IF_ERROR(CheckDeliveries());
  }
  return Status::Ok();
}

Status RowPublisher::CheckDeliveries() {
  publisher_->Poll(0);
  ProducePendingDeadLetters();
  RETURN_IF_ERROR(publisher_->fatal_error());
  if (!deliveries_->failures().empty()) {
    return Status::Aborted("stopped reading after a delivery failed");
  }
  return Status::Ok();
}

void RowPublisher::MaybeLogProgress() {
  const Clock::time_point now = Clock::now();
  if (now - last_progress_ < defaults::kReplayProgressInterval) return;
  last_progress_ = now;
  if (!publisher_) {
    spdlog::info("{} (dry run): read {}", options_.label, Counted(stats_->rows, "row"));
    return;
  }
  spdlog::info("{}: read {}, {} acknowledged, {} in flight", options_.label,
               Counted(stats_->rows, "row"), Counted(deliveries_->events(), "event"),
               publisher_->outq_len());
}

}  // namespace pgoutbox::app
