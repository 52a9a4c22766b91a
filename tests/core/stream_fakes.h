// Fakes for driving core::Streamer without PostgreSQL or Kafka:
//
//  - pgoutput and replication frames encoded the way the server sends them
//    (Begin, Relation, Insert, Commit inside XLogData; keepalives);
//  - FakeSource, a replication::MessageSource that plays a script: messages,
//    actions run when the loop reaches them, and gates that hold the script
//    until a condition holds (the loop keeps polling and sending feedback
//    meanwhile); it records every status update;
//  - FakeSink, a kafka::EventSink that records what is produced and hands
//    delivery reports (acks, failures, refusals) to the streamer when the
//    test says so, from Poll(), Send() or Flush() like librdkafka;
//  - RecordingObserver, a core::StreamObserver that keeps the bad rows.
//
// Thread safety: one thread, the test's (Run() is called on it).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/status.h"
#include "common/types.h"
#include "core/bad_row.h"
#include "core/stream_observer.h"
#include "kafka/event_sink.h"
#include "replication/message_source.h"

namespace pgoutbox::core::testing {

using Bytes = std::vector<uint8_t>;

// --- the wire: pgoutput messages and replication frames ----------------------

// pgoutput messages (protocol version 1).
Bytes BeginMessage(Lsn final_lsn, PgTimestamp commit_time, uint32_t xid);
Bytes CommitMessage(Lsn commit_lsn, Lsn end_lsn, PgTimestamp commit_time);
// Every column of type `oids[i]` named `names[i]`.
Bytes RelationMessage(uint32_t oid, std::string_view schema, std::string_view table,
                      const std::vector<std::pair<std::string_view, uint32_t>>& columns);
// nullopt is a NULL column; the others are text.
Bytes InsertMessage(uint32_t oid, const std::vector<std::optional<std::string_view>>& values);

// A logical decoding message (pg_logical_emit_message) at `lsn`.
Bytes LogicalMessageMessage(bool transactional, Lsn lsn, std::string_view prefix,
                            std::string_view content);

// The frames around them.
Bytes XLogDataFrame(Lsn start, const Bytes& payload);
Bytes KeepaliveFrame(Lsn wal_end, bool reply_requested = false);

// --- FakeSource --------------------------------------------------------------

class FakeSource : public replication::MessageSource {
 public:
  // How long a gate may hold the script, and the stream may stay idle after
  // the script ended, before TryRead() fails (Unavailable naming the gate):
  // a broken test fails instead of hanging.
  static constexpr std::chrono::seconds kPatience{5};

  // The script, played in order by TryRead().
  void Add(Bytes frame) { script_.emplace_back(std::move(frame)); }
  void AddXLogData(Lsn start, const Bytes& payload) { Add(XLogDataFrame(start, payload)); }
  void Then(std::function<void()> action) { script_.emplace_back(std::move(action)); }
  void WaitUntil(std::string what, std::function<bool()> condition) {
    script_.emplace_back(Gate{std::move(what), std::move(condition)});
  }
  // Holds the script until `count` more status updates went out.
  void WaitForStatusUpdates(int count);
  // The stream breaks here: TryRead() answers Unavailable from then on.
  void Break() { script_.emplace_back(Status::Unavailable("fake source: connection lost")); }

  // replication::MessageSource.
  Result<replication::CopyMessage> TryRead() override;
  Status ReadSocket() override { return Status::Ok(); }
  int socket() const override { return -1; }
  Status SendStatus(const replication::StatusUpdate& update) override;
  Status Finish() override {
    finished_ = true;
    return Status::Ok();
  }
  std::chrono::milliseconds receive_timeout() const override { return receive_timeout_; }

  // The source's receive timeout (zero, the default: none).
  void set_receive_timeout(std::chrono::milliseconds timeout) { receive_timeout_ = timeout; }

  // Called after every status update is recorded.
  std::function<void(const replication::StatusUpdate&)> on_status;

  const std::vector<replication::StatusUpdate>& status_updates() const { return updates_; }
  // The highest flush position ever reported (0/0 if none).
  Lsn highest_flushed() const;
  Lsn last_flushed() const { return updates_.empty() ? Lsn() : updates_.back().flushed; }
  // CopyData messages handed out so far.
  int messages_read() const { return static_cast<int>(read_.size()); }
  bool finished() const { return finished_; }
  bool script_done() const { return script_.empty(); }

 private:
  using Clock = std::chrono::steady_clock;
  struct Gate {
    std::string what;
    std::function<bool()> condition;
  };
  using Step = std::variant<Bytes, std::function<void()>, Gate, Status>;

  std::deque<Step> script_;
  std::deque<Bytes> read_;  // what was handed out (CopyMessages borrow it)
  std::optional<Clock::time_point> waiting_since_;
  std::vector<replication::StatusUpdate> updates_;
  bool finished_ = false;
  std::chrono::milliseconds receive_timeout_{0};
};

// --- FakeSink ----------------------------------------------------------------

class FakeSink : public kafka::EventSink {
 public:
  // A produced record, copied.
  struct Record {
    enum class State { kInFlight, kAcked, kFailed, kRefused };
    std::string topic, key, payload, id;
    bool key_is_null = false;
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
    uint64_t opaque = 0;
    State state = State::kInFlight;
    // The value of the last header `name`: nullopt if absent, "(null)" if null.
    std::optional<std::string> Header(std::string_view name) const;
  };

  // Every record in flight is acknowledged at the next Poll(), Send() or
  // Flush(), after the reports the test queued.
  bool auto_ack = true;
  // Produce() answers kQueueFull while this many records are in flight (and
  // fails, Unavailable, once it has answered so for FakeSource::kPatience: a
  // broken test fails instead of hanging).
  size_t capacity = std::numeric_limits<size_t>::max();
  // Produce() refuses the records this says so of (as too large: the
  // message says so whatever the refusal).
  std::function<std::optional<kafka::RecordRefusal>(const outbox::Event&)> refuse_on_produce;
  // Called at every Poll(), Send() or Flush(), before the reports are handed
  // over (it may queue some): delivery reports that come in while the
  // streamer waits without a stream.
  std::function<void()> before_reports;

  // Every Send(): when, and how many records had been produced by then.
  struct SendCall {
    std::chrono::steady_clock::time_point at;
    size_t records;
  };
  std::vector<SendCall> sends;

  // Delivery reports to hand over at the next Poll(), Send() or Flush(), in
  // this order, for the record produced `index`-th (from 0).
  void Ack(size_t index) { reports_.push_back({index, Report::kAck, {}}); }
  void Fail(size_t index) { reports_.push_back({index, Report::kFail, {}}); }
  void Refuse(size_t index, kafka::RecordRefusal refusal) {
    reports_.push_back({index, Report::kRefuse, refusal});
  }

  // kafka::EventSink.
  void set_delivery_handler(kafka::DeliveryHandler* handler) override { handler_ = handler; }
  Result<kafka::ProduceResult> Produce(const outbox::Event& event, int64_t timestamp_ms,
                                       uint64_t opaque) override;
  void Poll(int timeout_ms) override;
  void Send() override {
    sends.push_back({std::chrono::steady_clock::now(), records_.size()});
    Poll(0);
  }
  int Flush(std::chrono::milliseconds timeout) override;
  int wakeup_fd() const override { return -1; }
  Status fatal_error() const override { return Status::Ok(); }
  int outq_len() const override;

  const std::vector<Record>& records() const { return records_; }
  // The ids of the records produced to `topic`, in order.
  std::vector<std::string> IdsOn(std::string_view topic) const;
  kafka::DeliveryHandler* handler() const { return handler_; }
  // How often Produce() answered kQueueFull.
  int queue_full_answers() const { return queue_full_answers_; }

 private:
  struct Report {
    size_t index;
    enum Kind { kAck, kFail, kRefuse } kind;
    kafka::RecordRefusal refusal;
  };
  // Hands over the queued reports (and, with auto_ack, acks the rest);
  // returns how many.
  int Deliver();

  kafka::DeliveryHandler* handler_ = nullptr;
  std::vector<Record> records_;
  std::deque<Report> reports_;
  int queue_full_answers_ = 0;
  std::optional<std::chrono::steady_clock::time_point> full_since_;
};

// --- RecordingObserver -------------------------------------------------------

class RecordingObserver : public StreamObserver {
 public:
  void EventDelivered(std::string_view, const DeliveryLatency& latency) override {
    ++delivered;
    latencies.push_back(latency);
  }
  void TransactionReceived(const CommitArrival& arrival) override { arrivals.push_back(arrival); }
  void TransactionConfirmed(double) override {}
  void PublishFailed(PublishFailure failure) override { failures.push_back(failure); }
  void BadRow(BadRowAction action, const BadRowCause& cause) override {
    bad_rows.push_back(std::string(BadRowActionName(action)) + "/" + BadRowCauseName(cause));
  }
  void BrokersDown() override {}
  void PositionReported(const StreamPosition&) override {}

  int delivered = 0;
  std::vector<DeliveryLatency> latencies;
  std::vector<CommitArrival> arrivals;
  std::vector<PublishFailure> failures;
  std::vector<std::string> bad_rows;  // "action/cause"
};

}  // namespace pgoutbox::core::testing
