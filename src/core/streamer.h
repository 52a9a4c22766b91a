// Streamer: the loop that carries outbox inserts from the replication stream
// to Kafka and confirms the slot's position only after the broker acked
// everything up to it.
//
// Shaped like PostgreSQL's receivelog.c: receive, handle data, handle
// keepalive, compute how long to sleep, send feedback, each its own function.
// The stream is read in bursts (everything libpq has buffered) and the loop
// sleeps in poll() on both the replication socket and the Kafka wake-up fd,
// so it reacts at once to new data and to delivery reports.
//
// Backpressure: when the producer's local queue is full the streamer stops
// reading the replication stream until there is room, still sending status
// updates every feedback interval so the server does not time it out.
//
// Failure: a row that cannot become a record, a delivery that fails for
// good, a fatal producer error or a broken stream stops the loop; nothing past
// the failure is confirmed and Run() returns the reason. A stop request
// (SIGTERM) ends reading, flushes what is in flight, confirms what was acked
// and returns OK.
//
// Ownership: borrows the stream, publisher, mapper and tracker, which must
// outlive it. Thread safety: Run() on one thread; RequestStop() from any
// thread or a signal handler (it only sets an atomic flag).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "common/types.h"
#include "core/ack_tracker.h"
#include "kafka/publisher.h"
#include "outbox/mapper.h"
#include "pgoutput/messages.h"
#include "replication/stream.h"

namespace pgoutbox::core {

using Clock = std::chrono::steady_clock;

struct StreamerOptions {
  std::chrono::milliseconds feedback_interval{1000};
  // Stop once everything up to this position is delivered and confirmed.
  std::optional<Lsn> end_lsn;
  // How long a shutdown waits for in-flight events to be acknowledged.
  std::chrono::milliseconds shutdown_timeout{30000};
};

struct StreamerStats {
  uint64_t events_published = 0;  // acknowledged by the broker
  uint64_t transactions = 0;      // commits received
  uint64_t messages = 0;          // pgoutput messages received
  uint64_t ignored_changes = 0;   // updates, deletes, truncates (not events)
};

// How long the loop may sleep before the next status update is due: zero if
// it is due now, never negative, at most `max_sleep`. Pure.
std::chrono::milliseconds TimeUntilFeedback(Clock::time_point now, Clock::time_point last_sent,
                                            std::chrono::milliseconds interval,
                                            std::chrono::milliseconds max_sleep);

class Streamer : public kafka::DeliveryHandler {
 public:
  Streamer(const StreamerOptions& options, replication::ReplicationStream* stream,
           kafka::Publisher* publisher, outbox::EventMapper* mapper, AckTracker* tracker,
           const std::atomic<int>* stop_requests);

  // Streams until end_lsn is confirmed, a stop is requested (OK) or a failure.
  Status Run();

  const StreamerStats& stats() const { return stats_; }

  // kafka::DeliveryHandler (called from publisher->Poll on Run's thread).
  void OnDelivered(uint64_t opaque) override;
  void OnFailed(uint64_t opaque, std::string_view event_id, const Status& reason) override;

 private:
  Status HandleCopyMessage(const replication::CopyMessage& message);
  Status HandleXLogData(const replication::XLogData& data);
  Status HandleKeepalive(const replication::Keepalive& keepalive);
  Status HandleBegin(const pgoutput::Begin& begin);
  Status HandleCommit(const pgoutput::Commit& commit);
  Status HandleInsert(const pgoutput::Insert& insert);
  Status ProduceWithBackpressure(const outbox::Event& event);
  Status WaitForInput(std::chrono::milliseconds timeout, bool include_stream);
  Status SendFeedback(bool force);
  Status CheckFailures() const;
  Status Shutdown(Status reason);
  bool StopRequested() const { return stop_requests_->load(std::memory_order_relaxed) > 0; }

  StreamerOptions options_;
  replication::ReplicationStream* stream_;
  kafka::Publisher* publisher_;
  outbox::EventMapper* mapper_;
  AckTracker* tracker_;
  const std::atomic<int>* stop_requests_;

  pgoutput::Message message_;  // reused decode target
  outbox::Event event_;        // reused mapping target
  AckTracker::TxnId txn_ = 0;
  PgTimestamp commit_time_;
  Lsn received_;             // highest position received
  Lsn last_sent_flush_;      // last flush position reported
  Clock::time_point last_feedback_{};
  bool reply_requested_ = false;
  bool reached_end_ = false;
  bool stopping_ = false;  // a stop request interrupted backpressure
  Status delivery_failure_;
  bool warned_ignored_ = false;
  StreamerStats stats_;
};

}  // namespace pgoutbox::core
