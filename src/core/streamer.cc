#include "core/streamer.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/duration.h"
#include "common/text.h"
#include "pgoutput/decoder.h"

namespace pgoutbox::core {

namespace {

// Messages handled from libpq's buffer before serving delivery reports and
// checking whether feedback is due.
constexpr int kMaxBurst = 1024;
// Longest single sleep, so stop requests are noticed promptly.
constexpr std::chrono::milliseconds kMaxSleep{200};
// Transactions that committed longer ago than this are a backlog: read it in
// bursts (see StreamerOptions::catch_up_nap).
constexpr int64_t kCatchUpLagMicros = 1'000'000;
// Naps in a row that find nothing new end catching up: the server has sent
// everything it had.
constexpr int kMaxEmptyNaps = 2;

// `duration` (not negative) for nanosleep() and ppoll().
timespec ToTimespec(Clock::duration duration) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count();
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

// What stopping leaves behind when `count` events were not acknowledged in
// time (with or without a stream).
Status NotAcknowledged(int count) {
  return Status::Aborted(Counted(count, "event") +
                         " not acknowledged before the shutdown timeout; not confirmed, sent "
                         "again on restart");
}

PgTimestamp NowPg() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return PgTimestamp::FromUnixMicros(us);
}

}  // namespace

std::chrono::milliseconds TimeUntilFeedback(Clock::time_point now, Clock::time_point last_sent,
                                            std::chrono::milliseconds interval,
                                            std::chrono::milliseconds max_sleep) {
  auto due = last_sent + interval;
  if (now >= due) return std::chrono::milliseconds(0);
  auto left = std::chrono::ceil<std::chrono::milliseconds>(due - now);
  return std::min(left, max_sleep);
}

Streamer::Streamer(const StreamerOptions& options, kafka::EventSink* sink,
                   outbox::EventMapper* mapper, AckTracker* tracker,
                   const std::atomic<int>* stop_requests, StreamObserver* observer,
                   StateKeeper* state_keeper)
    : options_(options),
      sink_(sink),
      mapper_(mapper),
      tracker_(tracker),
      stop_requests_(stop_requests),
      observer_(observer),
      state_keeper_(state_keeper),
      dead_letter_target_{options.dead_letter_topic, mapper->options().tables.ToString()},
      pacer_(options.min_send_interval, options.max_send_interval) {
  sink_->set_delivery_handler(this);
}

Streamer::~Streamer() { sink_->set_delivery_handler(nullptr); }

Status Streamer::Run(replication::MessageSource* source) {
  stream_ = source;
  // A new connection: report where we stand at once; the server re-sends
  // Relation messages, so the mapper starts afresh.
  last_feedback_ = Clock::now() - options_.feedback_interval;
  last_sent_flush_ = tracker_->confirmable();
  received_ = std::max(received_, tracker_->confirmable());
  reply_requested_ = false;
  skipping_txn_ = false;
  skipped_since_connect_ = 0;
  receive_timeout_ = source->receive_timeout();
  last_heard_ = Clock::now();
  ping_sent_ = false;
  catching_up_ = false;
  empty_naps_ = 0;
  mapper_->Reset();
  if (options_.end_lsn && tracker_->confirmable() >= *options_.end_lsn) reached_end_ = true;
  if (last_summary_.at == Clock::time_point{}) {
    last_summary_ = {Clock::now(), stats_.events_published, stats_.transactions,
                     tracker_->confirmable()};
  }
  Status result = RunLoop();
  stream_ = nullptr;
  if (result.code() == Status::Code::kInvalidArgument) {
    // A mapping problem met in the stream (a Relation message that no longer
    // fits): the table's fault, not the command line's.
    return Status::FailedPrecondition(result.message());
  }
  return result;
}

Status Streamer::RunLoop() {
  for (;;) {
    if (Status st = CheckFailures(); !st.ok()) return Shutdown(st);
    if (StopRequested()) {
      spdlog::info("stop requested: finishing in-flight events");
      return Shutdown(Status::Ok());
    }
    if (reached_end_) {
      spdlog::info("reached the end position {}", options_.end_lsn->ToString());
      return Shutdown(Status::Ok());
    }
    if (Status st = SendFeedback(false); !st.ok()) return Shutdown(st);

    // Records of a refused batch are produced again one at a time before
    // anything new is read (core/refused_batch.h).
    if (!refused_batch_.empty()) {
      sink_->Poll(0);
      ProducePendingDeadLetters();
      RetryRefused();
      if (refused_batch_.empty()) continue;
      auto timeout =
          TimeUntilFeedback(Clock::now(), last_feedback_, options_.feedback_interval, kMaxSleep);
      if (Status st = WaitForInput(std::min(timeout, std::chrono::milliseconds(10)),
                                   /*include_stream=*/false);
          !st.ok()) {
        return Shutdown(st);
      }
      continue;
    }

    // A batch waiting for its interval: the stream is left alone until then,
    // so that what the server sends meanwhile is read in one burst.
    if (!SendIsDue()) {
      if (Status st = WaitToSend(); !st.ok()) return Shutdown(st);
      continue;
    }

    // Handle everything libpq has buffered, in one burst.
    int handled = 0;
    while (handled < kMaxBurst && !reached_end_) {
      auto msg = stream_->TryRead();
      if (!msg.ok()) return Shutdown(msg.status());
      if (msg->empty()) break;
      empty_naps_ = 0;
      if (Status st = HandleCopyMessage(*msg); !st.ok()) {
        return Shutdown(stopping_ ? Status::Ok() : st);
      }
      ++handled;
    }
    sink_->Poll(0);
    ProducePendingDeadLetters();
    if (!refused_batch_.empty()) continue;
    if (handled > 0) continue;

    // Nothing buffered: take what the socket has without blocking, and
    // sleep only if that was nothing either.
    if (Status st = stream_->ReadSocket(); !st.ok()) return Shutdown(st);
    auto msg = stream_->TryRead();
    if (!msg.ok()) return Shutdown(msg.status());
    if (!msg->empty()) {
      empty_naps_ = 0;
      if (Status st = HandleCopyMessage(*msg); !st.ok()) {
        return Shutdown(stopping_ ? Status::Ok() : st);
      }
      continue;
    }
    // Nothing more to produce for now: what was produced goes out as one
    // batch, unless the pacer says it is too early (not while catching up:
    // the naps below gather the batches then); the wait for it is at the top
    // of the loop.
    if (unsent_) {
      if (!SendIsDue()) continue;
      sink_->Send();
      unsent_ = false;
      pacer_.Sent(Clock::now());  // after the send: the interval is from its end
    }
    if (Status st = CheckServerSilence(); !st.ok()) return Shutdown(st);
    if (catching_up_ && ++empty_naps_ > kMaxEmptyNaps) catching_up_ = false;
    auto timeout = reply_requested_ ? std::chrono::milliseconds(0)
                                    : TimeUntilFeedback(Clock::now(), last_feedback_,
                                                        options_.feedback_interval, kMaxSleep);
    if (catching_up_) {
      // A backlog: let the server fill the socket instead of waking up for
      // every message it sends.
      Nap(std::min<Clock::duration>(options_.catch_up_nap, timeout));
      if (Status st = stream_->ReadSocket(); !st.ok()) return Shutdown(st);
      continue;
    }
    if (Status st = WaitForInput(timeout, /*include_stream=*/true); !st.ok()) return Shutdown(st);
  }
}

bool Streamer::SendIsDue() const {
  return !unsent_ || catching_up_ || Clock::now() >= pacer_.Due();
}

Status Streamer::WaitToSend() {
  const auto now = Clock::now();
  const auto timeout =
      TimeUntilFeedback(now, last_feedback_, options_.feedback_interval, kMaxSleep);
  RETURN_IF_ERROR(WaitForInput(std::min<Clock::duration>(timeout, pacer_.Due() - now),
                               /*include_stream=*/false));
  sink_->Poll(0);
  return Status::Ok();
}

void Streamer::MarkUnsent() {
  unsent_ = true;
  pacer_.Produced();
}

void Streamer::Nap(Clock::duration duration) {
  if (duration <= Clock::duration::zero()) return;
  const timespec ts = ToTimespec(duration);
  nanosleep(&ts, nullptr);  // a stop signal cuts it short, which is what we want
}

Status Streamer::WaitForInput(Clock::duration timeout, bool include_stream) {
  pollfd fds[2];
  int n = 0;
  fds[n++] = pollfd{sink_->wakeup_fd(), POLLIN, 0};
  if (include_stream) fds[n++] = pollfd{stream_->socket(), POLLIN, 0};
  const timespec ts = ToTimespec(std::max(timeout, Clock::duration::zero()));
  int r = ppoll(fds, n, &ts, nullptr);
  if (r < 0 && errno != EINTR) {
    return Status::Internal(std::string("poll failed: ") + std::strerror(errno));
  }
  if (include_stream && r > 0 && (fds[1].revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
    return stream_->ReadSocket();
  }
  return Status::Ok();
}

Status Streamer::CheckServerSilence() {
  if (receive_timeout_.count() <= 0) return Status::Ok();
  const auto silent = Clock::now() - last_heard_;
  if (silent >= receive_timeout_) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(silent).count();
    return Status::Unavailable("replication connection silent: no message from the server for " +
                               std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) +
                               " s (receive timeout " + FormatDuration(receive_timeout_) +
                               ", from the server's wal_sender_timeout)");
  }
  if (!ping_sent_ && silent >= receive_timeout_ / 2) {
    ping_sent_ = true;
    spdlog::debug("no message from the server for {} ms: asking for a keepalive",
                  std::chrono::duration_cast<std::chrono::milliseconds>(silent).count());
    return SendFeedback(/*force=*/true, /*request_reply=*/true);
  }
  return Status::Ok();
}

Status Streamer::HandleCopyMessage(const replication::CopyMessage& message) {
  last_heard_ = Clock::now();
  ping_sent_ = false;
  auto frame = replication::ParseFrame(message.bytes());
  if (!frame.ok()) return frame.status();
  if (auto* data = std::get_if<replication::XLogData>(&*frame)) return HandleXLogData(*data);
  return HandleKeepalive(std::get<replication::Keepalive>(*frame));
}

Status Streamer::HandleKeepalive(const replication::Keepalive& keepalive) {
  if (keepalive.reply_requested) reply_requested_ = true;
  server_wal_end_ = std::max(server_wal_end_, keepalive.wal_end);
  // The server sends keepalives when it waits for new WAL: caught up.
  catching_up_ = false;
  if (!tracker_->has_open_transaction()) {
    // Every commit before wal_end has been received: once the events in
    // flight are acked, the slot may move there.
    tracker_->ServerPosition(keepalive.wal_end);
    if (options_.end_lsn && keepalive.wal_end >= *options_.end_lsn) reached_end_ = true;
  }
  return Status::Ok();
}

Status Streamer::HandleXLogData(const replication::XLogData& data) {
  received_ = std::max(received_, data.start);
  server_wal_end_ = std::max(server_wal_end_, data.wal_end);
  message_send_time_ = data.send_time;
  ++stats_.messages;
  // Inserts decode into a message of their own, so their column vector is
  // reused from one insert to the next instead of being rebuilt after every
  // Begin and Commit.
  pgoutput::Message& message = pgoutput::IsInsert(data.payload) ? insert_message_ : message_;
  if (Status st = pgoutput::Decode(data.payload, &message); !st.ok()) {
    return st.WithContext("at WAL position " + data.start.ToString());
  }
  using namespace pgoutput;  // NOLINT: message type names
  if (auto* m = std::get_if<Insert>(&message)) return HandleInsert(*m, data.start);
  if (auto* m = std::get_if<Begin>(&message_)) return HandleBegin(*m);
  if (auto* m = std::get_if<Commit>(&message_)) return HandleCommit(*m);
  if (auto* m = std::get_if<Relation>(&message_)) return mapper_->OnRelation(*m);
  if (std::holds_alternative<Update>(message_) || std::holds_alternative<Delete>(message_) ||
      std::holds_alternative<Truncate>(message_)) {
    // The publication should publish inserts only; other changes are not
    // events. Say so once.
    ++stats_.ignored_changes;
    if (!warned_ignored_) {
      warned_ignored_ = true;
      spdlog::warn(
          "the publication sends updates, deletes or truncates; pgoutbox publishes inserts only "
          "and ignores them (create the publication WITH (publish = 'insert'))");
    }
  }
  if (auto* m = std::get_if<LogicalMessage>(&message_)) return HandleLogicalMessage(*m);
  // Origin, Type: nothing to publish.
  return Status::Ok();
}

Status Streamer::HandleLogicalMessage(const pgoutput::LogicalMessage& message) {
  if (message_mapper_ != nullptr && message_mapper_->IsEvent(message)) {
    RETURN_IF_ERROR(HandleMessageEvent(message));
  }
  // A non-transactional message (e.g. our heartbeat) outside a transaction
  // says every commit before it has been received, like a keepalive.
  if (!message.transactional() && !tracker_->has_open_transaction()) {
    tracker_->ServerPosition(message.lsn);
  }
  return Status::Ok();
}

Status Streamer::HandleMessageEvent(const pgoutput::LogicalMessage& message) {
  if (skipping_txn_) return Status::Ok();
  if (message.transactional() && !tracker_->has_open_transaction()) {
    return Status::Corruption("pgoutput: transactional message at " + message.lsn.ToString() +
                              " outside a transaction");
  }
  if (Status st = message_mapper_->Map(message, &event_); !st.ok()) {
    const std::optional<outbox::BadRowReason> reason = message_mapper_->bad_row_reason();
    if (!reason) return st;
    return HandleBadRow({nullptr, &message, message.lsn}, *reason, st, 0);
  }
  RETURN_IF_ERROR(ProduceMapped({nullptr, &message, message.lsn}));
  ++stats_.message_events;
  return Status::Ok();
}

Status Streamer::HandleBegin(const pgoutput::Begin& begin) {
  if (tracker_->has_open_transaction()) {
    return Status::Corruption("pgoutput: Begin of transaction " +
                              std::to_string(begin.xid.value()) +
                              " while another transaction is open");
  }
  if (options_.end_lsn && begin.final_lsn >= *options_.end_lsn) {
    reached_end_ = true;  // this transaction commits past the end position
    return Status::Ok();
  }
  if (begin.final_lsn < last_commit_end_) {
    // Sent again after a reconnect; produced before (see the header).
    ++stats_.resent_skipped;
    if (skipped_since_connect_ == 0) {
      spdlog::info(
          "skipping the transactions the server sends again up to {}: they were "
          "produced before the reconnect",
          last_commit_end_.ToString());
    }
    ++skipped_since_connect_;
    skipping_txn_ = true;
    return Status::Ok();
  }
  txn_ = tracker_->BeginTransaction(begin.commit_time);
  events_in_txn_ = 0;
  commit_time_ = begin.commit_time;
  catching_up_ = options_.catch_up_nap.count() > 0 &&
                 NowPg().micros() - begin.commit_time.micros() > kCatchUpLagMicros;
  return Status::Ok();
}

Status Streamer::HandleCommit(const pgoutput::Commit& commit) {
  if (skipping_txn_) {
    skipping_txn_ = false;
    return Status::Ok();
  }
  if (!tracker_->has_open_transaction()) {
    return Status::Corruption("pgoutput: Commit at " + commit.commit_lsn.ToString() +
                              " without a Begin");
  }
  tracker_->CommitTransaction(commit.end_lsn, Clock::now());
  last_commit_end_ = std::max(last_commit_end_, commit.end_lsn);
  ++stats_.transactions;
  if (events_in_txn_ > 0 && observer_ != nullptr) {
    unconfirmed_commits_.push_back({commit.end_lsn, commit.commit_time});
  }
  events_in_txn_ = 0;
  if (observer_ != nullptr) {
    const int64_t now_us = NowPg().micros();
    observer_->TransactionReceived(CommitArrival{
        static_cast<double>(now_us - commit.commit_time.micros()) / 1e6,
        message_send_time_.micros() == 0
            ? -1.0  // not stamped
            : static_cast<double>(std::max<int64_t>(0, now_us - message_send_time_.micros())) / 1e6,
        static_cast<double>(commit.commit_time.UnixMicros()) / 1e6});
  }
  if (options_.end_lsn && commit.end_lsn >= *options_.end_lsn) reached_end_ = true;
  return Status::Ok();
}

Status Streamer::HandleInsert(const pgoutput::Insert& insert, Lsn lsn) {
  if (skipping_txn_) return Status::Ok();
  if (!tracker_->has_open_transaction()) {
    return Status::Corruption("pgoutput: Insert outside a transaction");
  }
  if (Status st = mapper_->Map(insert, &event_); !st.ok()) {
    const std::optional<outbox::BadRowReason> reason = mapper_->bad_row_reason();
    if (!reason) {
      if (observer_ != nullptr) observer_->PublishFailed(PublishFailure::kBadRow);
      return st;
    }
    return HandleBadRow({&insert, nullptr, lsn}, *reason, st, 0);
  }
  return ProduceMapped({&insert, nullptr, lsn});
}

Status Streamer::ProduceMapped(const BadRowSource& source) {
  Result<kafka::ProduceResult> produced = ProduceWithBackpressure(event_);
  if (!produced.ok()) {
    const Status& st = produced.status();
    if (!stopping_ && st.code() != Status::Code::kUnavailable && observer_ != nullptr) {
      observer_->PublishFailed(PublishFailure::kProduceFailed);
    }
    return st;
  }
  if (produced->outcome == kafka::ProduceOutcome::kRefused) {
    return HandleBadRow(
        source, produced->refusal,
        Status::InvalidArgument("event " + std::string(event_.id) + ": " + produced->message),
        event_.payload.size());
  }
  return Status::Ok();
}

void Streamer::CountBadRow(const BadRowCause& cause) {
  if (observer_ == nullptr) return;
  observer_->PublishFailed(PublishFailure::kBadRow);
  observer_->BadRow(options_.on_bad_row, cause);
}

Status Streamer::HandleBadRow(const BadRowSource& source, const BadRowCause& cause,
                              const Status& error, size_t payload_size) {
  CountBadRow(cause);
  const std::string at = source.lsn.ToString();
  switch (options_.on_bad_row) {
    case BadRowAction::kHalt:
      // The row stops the stream (exit 1: fix the row or the mapping, then
      // restart), it is not a usage error.
      return Status::Aborted(error.message());
    case BadRowAction::kSkip:
      ++stats_.bad_rows;
      spdlog::warn("skipped a bad row at {} ({}): {}", at, BadRowCauseName(cause), error.message());
      return Status::Ok();
    case BadRowAction::kDeadLetter:
      break;
  }
  std::optional<DeadLetter> dead_letter;
  if (source.insert != nullptr) {
    ASSIGN_OR_RETURN(dead_letter, DeadLetter::FromRow(dead_letter_target_, *mapper_, *source.insert,
                                                      source.lsn, cause, error, payload_size));
  } else {
    dead_letter =
        DeadLetter::FromMessage(dead_letter_target_, *source.message, cause, error, payload_size);
  }
  // A non-transactional message comes between transactions: its record is
  // a transaction of its own, confirmed past the message once acknowledged.
  const bool own_transaction = !tracker_->has_open_transaction();
  if (own_transaction) {
    commit_time_ = NowPg();
    txn_ = tracker_->BeginTransaction(commit_time_);
  }
  Result<kafka::ProduceResult> produced = ProduceWithBackpressure(dead_letter->event());
  if (own_transaction && produced.ok()) tracker_->CommitTransaction(source.lsn, Clock::now());
  if (!produced.ok()) return produced.status();
  if (produced->outcome == kafka::ProduceOutcome::kRefused) {
    return Status::Aborted(error.message() +
                           "; its dead-letter record was refused too: " + produced->message);
  }
  ++stats_.bad_rows;
  spdlog::warn("sent a bad row at {} ({}) to {}: {}", at, BadRowCauseName(cause),
               options_.dead_letter_topic, error.message());
  return Status::Ok();
}

Result<kafka::ProduceResult> Streamer::ProduceWithBackpressure(const outbox::Event& event) {
  bool waited = false;
  for (;;) {
    Result<kafka::ProduceResult> produced = sink_->Produce(event, commit_time_.UnixMillis(), txn_);
    if (!produced.ok()) return produced;
    switch (produced->outcome) {
      case kafka::ProduceOutcome::kQueued:
        tracker_->AddEvent();
        ++events_in_txn_;
        MarkUnsent();
        // The stream was not read while waiting: the server's silence is
        // measured again from now.
        if (waited) last_heard_ = Clock::now();
        return produced;
      case kafka::ProduceOutcome::kRefused:
        if (waited) last_heard_ = Clock::now();
        return produced;
      case kafka::ProduceOutcome::kQueueFull:
        break;
    }
    // The local queue is full: stop reading the stream until the broker
    // acknowledges some events; keep the server informed meanwhile.
    sink_->Send();
    if (!waited) {
      spdlog::debug("kafka queue full ({} events): pausing the replication stream",
                    sink_->outq_len());
      waited = true;
    }
    RETURN_IF_ERROR(CheckFailures());
    if (StopRequested()) {
      stopping_ = true;
      return Status::Aborted("stop requested");
    }
    RETURN_IF_ERROR(SendFeedback(false));
    auto timeout =
        TimeUntilFeedback(Clock::now(), last_feedback_, options_.feedback_interval, kMaxSleep);
    RETURN_IF_ERROR(WaitForInput(timeout, /*include_stream=*/false));
    sink_->Poll(0);
    ProducePendingDeadLetters();
  }
}

void Streamer::OnDelivered(uint64_t opaque, std::string_view topic,
                           std::chrono::microseconds in_producer) {
  if (opaque == kStateTag) {
    if (state_keeper_ != nullptr) state_keeper_->Written();
    return;
  }
  if (refused_batch_.retrying()) refused_batch_.Pop();  // it was alone in flight
  const AckTracker::Acked acked = tracker_->Ack(opaque);
  ++stats_.events_published;
  if (observer_ != nullptr) {
    const int64_t now_us = NowPg().micros();
    DeliveryLatency latency;
    latency.since_commit =
        static_cast<double>(std::max<int64_t>(0, now_us - acked.commit_time.micros())) / 1e6;
    if (acked.commit_arrived != Clock::time_point{}) {
      latency.since_commit_arrival =
          std::max(0.0, std::chrono::duration<double>(Clock::now() - acked.commit_arrived).count());
    }
    latency.in_producer =
        in_producer.count() < 0 ? -1.0 : static_cast<double>(in_producer.count()) / 1e6;
    observer_->EventDelivered(topic, latency);
  }
}

void Streamer::OnRefused(uint64_t opaque, const kafka::RefusedRecord& record,
                         const Status& reason) {
  if (opaque == kStateTag) {
    OnFailed(opaque, record.event_id, reason);
    return;
  }
  if (refused_batch_.retrying()) {
    // It was alone in flight: the refusal is about this record.
    HandleRefusedRecord(opaque, record, reason);
    refused_batch_.Pop();
    return;
  }
  // The refusal of a batch: each of its records is produced again alone
  // (core/refused_batch.h) before any of them counts as a bad row.
  if (refused_batch_.empty()) {
    spdlog::warn(
        "Kafka refused a batch of records ({}): producing them again one at a time, so "
        "that only a record refused on its own counts as a bad row",
        reason.message());
  }
  refused_batch_.Add(opaque, record, reason);
}

void Streamer::HandleRefusedRecord(uint64_t opaque, const kafka::RefusedRecord& record,
                                   const Status& reason) {
  if (!kafka::IsAboutTheRecord(record.refusal)) {
    OnFailed(opaque, record.event_id, reason);  // not a bad row: a delivery failure
    return;
  }
  if (options_.on_bad_row == BadRowAction::kHalt || record.topic == options_.dead_letter_topic) {
    if (options_.on_bad_row != BadRowAction::kHalt) CountBadRow(record.refusal);
    OnFailed(opaque, record.event_id, reason);
    return;
  }
  CountBadRow(record.refusal);
  ++stats_.bad_rows;
  if (options_.on_bad_row == BadRowAction::kSkip) {
    spdlog::warn("skipped event {}: {}", record.event_id, reason.message());
    tracker_->Ack(opaque);  // done with, like a delivered event
    return;
  }
  // The row itself is gone from memory: the record describes what was
  // produced. The tag stays in flight until the dead-letter record is acked.
  spdlog::warn("sending event {} to {}: {}", record.event_id, options_.dead_letter_topic,
               reason.message());
  pending_dead_letters_.push_back(
      {opaque, DeadLetter::FromRefused(dead_letter_target_, record, reason)});
}

void Streamer::RetryRefused() {
  if (refused_batch_.empty() || refused_batch_.retrying()) return;
  // Alone: nothing else in flight, so that its report is its own.
  if (sink_->outq_len() > 0 || !pending_dead_letters_.empty() || !delivery_failure_.ok()) return;
  const uint64_t opaque = refused_batch_.opaque();
  const outbox::Event event = refused_batch_.event();
  Result<kafka::ProduceResult> produced =
      sink_->Produce(event, refused_batch_.timestamp_ms(), opaque);
  if (!produced.ok()) {
    const std::string id(event.id);
    refused_batch_.Pop();
    OnFailed(opaque, id, produced.status());
    return;
  }
  switch (produced->outcome) {
    case kafka::ProduceOutcome::kQueueFull:
      return;  // later
    case kafka::ProduceOutcome::kRefused: {
      // Refused when produced: about this record alone.
      kafka::RefusedRecord record = refused_batch_.refused();
      record.refusal = produced->refusal;
      HandleRefusedRecord(
          opaque, record,
          Status::Aborted("event " + std::string(event.id) + ": " + produced->message));
      refused_batch_.Pop();
      return;
    }
    case kafka::ProduceOutcome::kQueued:
      refused_batch_.Produced();
      sink_->Send();
      return;
  }
}

void Streamer::ProducePendingDeadLetters() {
  // A record retried alone must stay alone in flight.
  while (!pending_dead_letters_.empty() && delivery_failure_.ok() && !refused_batch_.retrying()) {
    const PendingDeadLetter& pending = pending_dead_letters_.front();
    Result<kafka::ProduceResult> produced =
        sink_->Produce(pending.record.event(), 0, pending.opaque);
    if (!produced.ok()) {
      OnFailed(pending.opaque, pending.record.id(), produced.status());
      pending_dead_letters_.pop_front();
      continue;
    }
    if (produced->outcome == kafka::ProduceOutcome::kQueueFull) return;  // later
    if (produced->outcome == kafka::ProduceOutcome::kQueued) MarkUnsent();
    if (produced->outcome == kafka::ProduceOutcome::kRefused) {
      OnFailed(pending.opaque, pending.record.id(),
               Status::Aborted(pending.record.error() +
                               "; its dead-letter record was refused too: " + produced->message));
    }
    pending_dead_letters_.pop_front();
  }
}

void Streamer::OnBrokersDown() {
  if (observer_ != nullptr) observer_->BrokersDown();
}

void Streamer::OnFailed(uint64_t opaque, std::string_view event_id, const Status& reason) {
  if (opaque == kStateTag) {
    // Not an event: the next status update tries again.
    if (state_keeper_ != nullptr) state_keeper_->NotWritten();
    spdlog::warn("the delivery state was not written to {}: {}", options_.state_topic,
                 reason.message());
    return;
  }
  if (refused_batch_.retrying()) refused_batch_.Pop();
  tracker_->Fail(opaque);
  if (observer_ != nullptr) observer_->PublishFailed(PublishFailure::kDeliveryFailed);
  if (delivery_failure_.ok()) {
    delivery_failure_ = Status::Aborted("event " + std::string(event_id) +
                                        " was not delivered: " + reason.message() +
                                        "; nothing past it is confirmed, a restart sends it again");
  }
}

Status Streamer::CheckFailures() const {
  if (!delivery_failure_.ok()) return delivery_failure_;
  return sink_->fatal_error();
}

Status Streamer::SendFeedback(bool force, bool request_reply) {
  auto now = Clock::now();
  if (!force && !reply_requested_ && now - last_feedback_ < options_.feedback_interval) {
    return Status::Ok();
  }
  Lsn flush = tracker_->confirmable();
  replication::StatusUpdate update;
  update.written = std::max(received_, flush);
  update.flushed = flush;
  update.applied = flush;
  update.now = NowPg();
  update.reply_requested = request_reply;
  RETURN_IF_ERROR(stream_->SendStatus(update));
  bool moved = flush != last_sent_flush_;
  if (moved) {
    spdlog::debug("confirmed {}", flush.ToString());
    last_sent_flush_ = flush;
    // Every transaction up to `flush` is confirmed now.
    const int64_t now_us = update.now.micros();
    while (!unconfirmed_commits_.empty() && unconfirmed_commits_.front().end <= flush) {
      observer_->TransactionConfirmed(
          static_cast<double>(now_us - unconfirmed_commits_.front().commit_time.micros()) / 1e6);
      unconfirmed_commits_.pop_front();
    }
  }
  PublishProgress(moved);
  WriteStateIfDue(now);
  MaybeLogSummary(now);
  reply_requested_ = false;
  last_feedback_ = now;
  return Status::Ok();
}

void Streamer::WriteStateIfDue(Clock::time_point now) {
  // Nothing beside a record retried alone (core/refused_batch.h).
  if (state_keeper_ == nullptr || !refused_batch_.empty()) return;
  auto json = state_keeper_->Due(tracker_->confirmable(), now);
  if (!json) return;
  state_value_ = std::move(*json);
  outbox::Event event;
  event.topic = options_.state_topic;
  event.key = state_keeper_->key();
  event.payload = state_value_;
  auto result = sink_->Produce(event, 0, kStateTag);
  if (result.ok() && result->outcome == kafka::ProduceOutcome::kQueued) MarkUnsent();
  if (!result.ok() || result->outcome != kafka::ProduceOutcome::kQueued) {
    state_keeper_->NotWritten();
    if (!result.ok() || result->outcome == kafka::ProduceOutcome::kRefused) {
      spdlog::warn("the delivery state was not written to {}: {}", options_.state_topic,
                   result.ok() ? result->message : result.status().message());
    }
  }
}

void Streamer::PublishProgress(bool moved) {
  if (observer_ == nullptr) return;
  observer_->PositionReported(StreamPosition{
      received_, last_sent_flush_, static_cast<int64_t>(tracker_->inflight_events()), moved});
}

void Streamer::MaybeLogSummary(Clock::time_point now) {
  if (options_.summary_interval.count() <= 0 ||
      now - last_summary_.at < options_.summary_interval) {
    return;
  }
  const Lsn confirmed = tracker_->confirmable();
  const uint64_t events = stats_.events_published - last_summary_.events;
  const uint64_t transactions = stats_.transactions - last_summary_.transactions;
  if (events == 0 && transactions == 0 && confirmed == last_summary_.confirmed) return;
  const double seconds = std::chrono::duration<double>(now - last_summary_.at).count();
  const uint64_t behind =
      server_wal_end_ > confirmed ? server_wal_end_.value() - confirmed.value() : 0;
  spdlog::info(
      "published {} in {} in the last {:.1f} s; confirmed {} ({} of WAL behind the server), {} in "
      "flight",
      Counted(events, "event"), Counted(transactions, "transaction"), seconds, confirmed.ToString(),
      Counted(behind, "byte"), Counted(tracker_->inflight_events(), "event"));
  last_summary_ = {now, stats_.events_published, stats_.transactions, confirmed};
}

void Streamer::SlotConfirmedAt(Lsn slot_confirmed) {
  tracker_->AbandonTransaction();  // a broken stream's, if Run() did not already
  tracker_->SlotPosition(slot_confirmed);
}

void Streamer::RebaseOnSlot(Lsn slot_confirmed) {
  tracker_->AbandonTransaction();
  tracker_->Rebase(slot_confirmed);
  received_ = slot_confirmed;
  last_sent_flush_ = slot_confirmed;
  last_commit_end_ = Lsn();  // positions of the old server
  // Positions of the old server say nothing about this one.
  server_wal_end_ = slot_confirmed;
  unconfirmed_commits_.clear();
}

Status Streamer::Drain() {
  tracker_->AbandonTransaction();
  while (sink_->outq_len() > 0 || !pending_dead_letters_.empty() || !refused_batch_.empty()) {
    if (StopRequested()) return FlushWithoutStream();
    RETURN_IF_ERROR(ServeDeliveries(std::chrono::milliseconds(200)));
  }
  return CheckFailures();
}

Status Streamer::ServeDeliveries(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    sink_->Poll(0);
    ProducePendingDeadLetters();
    RetryRefused();
    RETURN_IF_ERROR(CheckFailures());
    auto now = Clock::now();
    if (now >= deadline || StopRequested()) return Status::Ok();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    RETURN_IF_ERROR(WaitForInput(std::min(left, kMaxSleep), /*include_stream=*/false));
  }
}

Status Streamer::FlushWithoutStream() {
  tracker_->AbandonTransaction();
  if (!sink_->fatal_error().ok()) return sink_->fatal_error();
  int left = sink_->Flush(options_.shutdown_timeout);
  const auto deadline = Clock::now() + options_.shutdown_timeout;
  while ((left > 0 || !refused_batch_.empty()) && delivery_failure_.ok() &&
         sink_->fatal_error().ok() && Clock::now() < deadline) {
    ProducePendingDeadLetters();
    RetryRefused();
    left = sink_->Flush(std::chrono::milliseconds(100));
  }
  RETURN_IF_ERROR(CheckFailures());
  left += static_cast<int>(refused_batch_.size());
  if (left > 0) {
    return NotAcknowledged(left);
  }
  return Status::Ok();
}

Status Streamer::Shutdown(Status reason) {
  tracker_->AbandonTransaction();
  if (reason.code() == Status::Code::kUnavailable) {
    // The stream broke: the caller reconnects; events in flight stay in
    // flight and keep being acknowledged.
    return reason;
  }
  // Stop reading. Deliver what is in flight so the acked prefix can be
  // confirmed; an open transaction is never confirmed (the server sends it
  // again after a restart).
  bool stream_alive = true;
  if (sink_->fatal_error().ok()) sink_->Send();
  if (sink_->fatal_error().ok() &&
      (sink_->outq_len() > 0 || !pending_dead_letters_.empty() || !refused_batch_.empty())) {
    spdlog::info("waiting up to {} ms for {} in flight", options_.shutdown_timeout.count(),
                 Counted(sink_->outq_len(), "event"));
    auto deadline = Clock::now() + options_.shutdown_timeout;
    while ((sink_->outq_len() > 0 || !pending_dead_letters_.empty() || !refused_batch_.empty()) &&
           Clock::now() < deadline && delivery_failure_.ok()) {
      sink_->Poll(100);
      ProducePendingDeadLetters();
      RetryRefused();
      if (stream_alive && !SendFeedback(false).ok()) stream_alive = false;
      if (StopRequested() && stop_requests_->load() > 1) break;  // a second signal: hurry
    }
  }
  sink_->Poll(0);
  int undelivered = sink_->fatal_error().ok()
                        ? sink_->outq_len() +
                              static_cast<int>(pending_dead_letters_.size() + refused_batch_.size())
                        : 0;

  Status final_feedback;
  if (stream_alive) {
    final_feedback = SendFeedback(true);
    if (final_feedback.ok()) final_feedback = stream_->Finish();
  }
  spdlog::info("confirmed position {}; {} published in {}", tracker_->confirmable().ToString(),
               Counted(stats_.events_published, "event"),
               Counted(stats_.transactions, "transaction"));

  if (!reason.ok()) return reason;
  if (Status st = CheckFailures(); !st.ok()) return st;
  if (undelivered > 0) {
    return NotAcknowledged(undelivered);
  }
  return final_feedback;
}

}  // namespace pgoutbox::core
