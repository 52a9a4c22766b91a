// Streamer: the loop that carries outbox inserts from the replication stream
// to Kafka and confirms the slot's position only after the broker acked
// everything up to it.
//
// Shaped like PostgreSQL's receivelog.c: receive, handle data, handle
// keepalive, compute how long to sleep, send feedback, each its own function.
// The stream is read in bursts (everything libpq has buffered) and the loop
// sleeps in poll() on both the replication socket and the Kafka wake-up fd,
// so it reacts at once to new data and to delivery reports. What it produced
// goes out as one batch (EventSink::Send()) once the stream has nothing more
// buffered, paced by core::SendPacer (StreamerOptions::min_send_interval and
// max_send_interval); while it waits to send, only delivery reports wake it.
//
// Message events: with a message mapper (set_message_mapper), a logical
// decoding message with the events' prefix is mapped by
// outbox::MessageMapper and produced like a row of its transaction, in the
// order the server sent it. A non-transactional one is a bad row
// (outbox::BadRowReason::kNonTransactional); it arrives between
// transactions, so its dead-letter record is a transaction of its own,
// confirmed past the message once acknowledged. Other messages (the
// heartbeat's) only tell the position, like a keepalive.
//
// Backpressure: when the producer's local queue is full the streamer stops
// reading the replication stream until there is room, still sending status
// updates every feedback interval so the server does not time it out.
//
// Bad rows: a row that cannot become a record (EventMapper::bad_row_reason)
// or that Kafka refuses for good because of the record itself
// (kafka::RecordRefusal: refused when produced, or refused when it was
// produced again alone after the broker refused its batch, see
// core/refused_batch.h; reading pauses meanwhile) is handled by
// StreamerOptions::on_bad_row: halt (the
// default) stops the loop like any failure; skip logs one warning and goes
// on; dead-letter produces a record describing the row (core::DeadLetter) to
// the dead-letter topic, acknowledged like an event of its transaction before
// the position moves past it. The rows around a bad one keep their order.
//
// The two sides of the loop are interfaces: it reads from a
// replication::MessageSource (ReplicationStream) and produces to a
// kafka::EventSink (kafka::Publisher), whose delivery reports it receives as
// the sink's DeliveryHandler from construction to destruction.
//
// A dead connection: the source's receive_timeout() bounds how long the
// server may stay silent while the loop reads the stream. At half of it a
// status update asks the server for a reply (a live server answers with a
// keepalive at once); at all of it Run() returns Unavailable and the caller
// reconnects. The time the loop does not read the stream (backpressure)
// does not count as silence.
//
// Reconnects: after a reconnect the server sends again everything after the
// slot's confirmed position, also the transactions already produced and in
// flight or acknowledged but not yet confirmed. Those (their commit before
// the end of the last transaction received whole) are not produced again:
// fewer duplicates, and a key's events stay in order.
//
// Failure: a bad row under halt, a delivery that fails for
// good or a fatal producer error stops the loop; nothing past the failure is
// confirmed and Run() returns the reason. A broken stream returns Unavailable
// at once, without waiting for the events in flight: the caller reconnects
// and calls Run() again with the same tracker and sink, and the events
// in flight keep being acknowledged. A stop request (SIGTERM) ends reading,
// flushes what is in flight, confirms what was acked and returns OK.
//
// Ownership: borrows the sink, mapper, tracker and observer, which must
// outlive it, and the source for the duration of Run(). Thread safety: Run()
// and ServeDeliveries() on one thread; the stop counter is set by a signal
// handler.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "common/defaults.h"
#include "common/status.h"
#include "common/types.h"
#include "core/ack_tracker.h"
#include "core/bad_row.h"
#include "core/dead_letter.h"
#include "core/refused_batch.h"
#include "core/send_pacer.h"
#include "core/state_keeper.h"
#include "core/stream_observer.h"
#include "kafka/event_sink.h"
#include "outbox/mapper.h"
#include "outbox/message_mapper.h"
#include "pgoutput/messages.h"
#include "replication/message_source.h"

namespace pgoutbox::core {

using Clock = std::chrono::steady_clock;

struct StreamerOptions {
  std::chrono::milliseconds feedback_interval = defaults::kFeedbackInterval;
  // Stop once everything up to this position is delivered and confirmed.
  std::optional<Lsn> end_lsn;
  // How long a shutdown waits for in-flight events to be acknowledged.
  std::chrono::milliseconds shutdown_timeout = defaults::kShutdownTimeout;
  // While catching up on a backlog (the transactions received committed
  // more than a second ago), sleep this long whenever the socket is empty
  // instead of waking up for each message the server sends: the stream is
  // then read, decoded and produced in bursts, with far fewer wake-ups on
  // both sides and larger Kafka batches. Live streams are never delayed:
  // a keepalive, or a commit younger than a second, or two naps that find
  // nothing new end catching up. Zero disables it.
  std::chrono::microseconds catch_up_nap{20000};
  // The time between two batches sent at once (EventSink::Send()), from
  // min_send_interval up to max_send_interval as the event rate grows
  // (core/send_pacer.h: 1 ms at 1,000 events/s, 5 ms at 5,000). An event
  // arriving after a quiet spell goes out at once; under load the events of
  // the interval go out together, as one request per partition, instead of
  // a request per few events: those requests' CPU (here and in the broker)
  // is what delays everyone on a busy machine. Not applied while catching up
  // (catch_up_nap gathers the batches then). min_send_interval zero: a batch
  // whenever the stream has nothing more buffered.
  std::chrono::microseconds min_send_interval{1000};
  std::chrono::microseconds max_send_interval{5000};
  BadRowAction on_bad_row = BadRowAction::kHalt;
  // Where kDeadLetter sends bad rows (core::DeadLetter describes the records).
  std::string dead_letter_topic{defaults::kDeadLetterTopic};
  // How often an info line sums up what happened since the previous one
  // (events and transactions published, confirmed position, WAL behind the
  // server, events in flight); only when something changed. Zero disables it.
  std::chrono::milliseconds summary_interval = defaults::kLogSummaryInterval;
  // Where the delivery state is written, when the streamer is given a
  // StateKeeper: whenever it is due, after a status update.
  std::string state_topic{defaults::kStateTopic};
};

struct StreamerStats {
  uint64_t events_published = 0;  // acknowledged by the broker
  uint64_t transactions = 0;      // commits received
  uint64_t messages = 0;          // pgoutput messages received
  uint64_t ignored_changes = 0;   // updates, deletes, truncates (not events)
  uint64_t message_events = 0;    // messages with the events' prefix produced
  uint64_t bad_rows = 0;          // rows skipped or dead-lettered
  // Transactions the server sent again after a reconnect that had already
  // been produced (in flight or acknowledged, not yet confirmed): skipped.
  uint64_t resent_skipped = 0;
};

// How long the loop may sleep before the next status update is due: zero if
// it is due now, never negative, at most `max_sleep`. Pure.
std::chrono::milliseconds TimeUntilFeedback(Clock::time_point now, Clock::time_point last_sent,
                                            std::chrono::milliseconds interval,
                                            std::chrono::milliseconds max_sleep);

class Streamer : public kafka::DeliveryHandler {
 public:
  // Becomes `sink`'s delivery handler until destroyed.
  Streamer(const StreamerOptions& options, kafka::EventSink* sink, outbox::EventMapper* mapper,
           AckTracker* tracker, const std::atomic<int>* stop_requests,
           StreamObserver* observer = nullptr, StateKeeper* state_keeper = nullptr);
  ~Streamer() override;

  // The tag of state records in the sink (never an AckTracker transaction).
  static constexpr uint64_t kStateTag = UINT64_MAX;
  Streamer(const Streamer&) = delete;
  Streamer& operator=(const Streamer&) = delete;

  // Streams from `source` until end_lsn is confirmed or a stop is requested
  // (OK), the stream breaks (Unavailable: reconnect and call again), or a
  // failure that a reconnect cannot heal (any other error). Never
  // InvalidArgument: once streaming, what stops it is the data, the server
  // or Kafka, not the command line (a bad row under halt is Aborted, a table
  // that stopped fitting the mapping FailedPrecondition).
  Status Run(replication::MessageSource* source);

  // Before Run() on a new stream: the slot's confirmed position as read once
  // the stream was started (AckTracker::SlotPosition), so that the first
  // status update and the reported progress start from where the slot
  // stands, not from where it stood when this process started (a hot
  // standby's takeover).
  void SlotConfirmedAt(Lsn slot_confirmed);

  // Before Run() on a stream from another server or timeline (a promoted
  // standby whose slot followed the old primary's): the slot's position
  // there becomes the confirmed position, even if it is behind the one
  // confirmed on the old server, whose WAL past the promotion point is not
  // this server's. REQUIRES: nothing in flight (Drain()).
  void RebaseOnSlot(Lsn slot_confirmed);

  // Without a stream: serves delivery reports until every event in flight
  // (and every dead-letter record) is acknowledged, however long the brokers
  // take; OK then. A delivery failure or fatal producer error is returned; a
  // stop request ends the wait like FlushWithoutStream().
  Status Drain();

  // Between streams (while reconnecting): serves delivery reports for up to
  // `timeout`, so the events in flight keep being acknowledged. Returns a
  // delivery failure or fatal producer error if one happened.
  Status ServeDeliveries(std::chrono::milliseconds timeout);

  // Without a stream (stopped while reconnecting): waits up to the shutdown
  // timeout for the events in flight. Returns non-OK if some were not acked.
  Status FlushWithoutStream();

  const StreamerStats& stats() const { return stats_; }

  // Before Run(): logical decoding messages with `mapper`'s prefix are
  // events (outbox::MessageMapper), produced in commit order with the
  // table's rows of their transaction; borrowed, must outlive the streamer.
  // Without one (the default) no message is an event.
  void set_message_mapper(outbox::MessageMapper* mapper) { message_mapper_ = mapper; }

  // kafka::DeliveryHandler (called from the sink's Poll, Send or Flush on
  // Run's thread).
  void OnDelivered(uint64_t opaque, std::string_view topic,
                   std::chrono::microseconds in_producer) override;
  void OnFailed(uint64_t opaque, std::string_view event_id, const Status& reason) override;
  void OnRefused(uint64_t opaque, const kafka::RefusedRecord& record,
                 const Status& reason) override;
  void OnBrokersDown() override;

 private:
  Status RunLoop();
  Status HandleCopyMessage(const replication::CopyMessage& message);
  Status HandleXLogData(const replication::XLogData& data);
  Status HandleKeepalive(const replication::Keepalive& keepalive);
  Status HandleBegin(const pgoutput::Begin& begin);
  Status HandleCommit(const pgoutput::Commit& commit);
  Status HandleInsert(const pgoutput::Insert& insert, Lsn lsn);
  // A message with the events' prefix (message_mapper_).
  Status HandleMessageEvent(const pgoutput::LogicalMessage& message);
  // What a bad row is: an insert or a message (exactly one set), and where.
  struct BadRowSource {
    const pgoutput::Insert* insert = nullptr;
    const pgoutput::LogicalMessage* message = nullptr;
    Lsn lsn;
  };
  // Produces event_, just mapped from `source`, as one more event of the
  // open transaction; a record Kafka refuses is a bad row.
  Status ProduceMapped(const BadRowSource& source);
  // A bad row, by policy: of the open transaction, or (a non-transactional
  // message) between transactions. `payload_size`: the size of the payload
  // Kafka refused (see DeadLetter::FromRow).
  Status HandleBadRow(const BadRowSource& source, const BadRowCause& cause, const Status& error,
                      size_t payload_size);
  // Produces `event` as one more event of the open transaction, waiting
  // while the local queue is full. The outcome is kQueued, or kRefused when
  // Kafka refuses the record itself (nothing was produced).
  Result<kafka::ProduceResult> ProduceWithBackpressure(const outbox::Event& event);
  // A record refused on its own (produced alone, or refused when produced),
  // by the bad-row policy.
  void HandleRefusedRecord(uint64_t opaque, const kafka::RefusedRecord& record,
                           const Status& reason);
  // Produces the oldest record of a refused batch alone, once nothing else
  // is in flight (core/refused_batch.h).
  void RetryRefused();
  // Produces the dead-letter records of refused deliveries (OnRefused), each
  // carrying its original event's tag; those that do not fit in the queue
  // stay pending. A refusal of a dead-letter record becomes a delivery failure.
  void ProducePendingDeadLetters();
  // An event was queued for Kafka: it goes out with the next batch.
  void MarkUnsent();
  // Whether what was produced may go out now: nothing waits, or the pacer's
  // interval has passed, or the loop is catching up (no pacing then).
  bool SendIsDue() const;
  // Until the batch is due (or feedback is due): sleeps, waking only for
  // delivery reports, which it serves. The stream is not read meanwhile.
  Status WaitToSend();
  void CountBadRow(const BadRowCause& cause);
  // Sleeps until the Kafka wake-up fd (and with `include_stream` the
  // replication socket, then read) is readable, or `timeout` passes.
  Status WaitForInput(Clock::duration timeout, bool include_stream);
  static void Nap(Clock::duration duration);
  // Sends a status update when it is due (or at once with `force`);
  // `request_reply` asks the server to answer with a keepalive.
  Status SendFeedback(bool force, bool request_reply = false);
  // The server's silence while the stream is read: asks for a keepalive at
  // half the source's receive timeout; Unavailable past all of it.
  Status CheckServerSilence();
  Status HandleLogicalMessage(const pgoutput::LogicalMessage& message);
  Status CheckFailures() const;
  Status Shutdown(Status reason);
  void PublishProgress(bool moved);
  // Produces the delivery state if the keeper says one is due.
  void WriteStateIfDue(Clock::time_point now);
  // The periodic info line (StreamerOptions::summary_interval), if due;
  // checked whenever a status update goes to the server.
  void MaybeLogSummary(Clock::time_point now);
  bool StopRequested() const { return stop_requests_->load(std::memory_order_relaxed) > 0; }

  StreamerOptions options_;
  kafka::EventSink* sink_;
  outbox::EventMapper* mapper_;
  outbox::MessageMapper* message_mapper_ = nullptr;  // null: no message is an event
  AckTracker* tracker_;
  const std::atomic<int>* stop_requests_;
  StreamObserver* observer_;   // may be null
  StateKeeper* state_keeper_;  // may be null: no state is written
  std::string state_value_;    // the state record being produced
  const DeadLetterTarget dead_letter_target_;
  replication::MessageSource* stream_ = nullptr;  // during Run() only

  pgoutput::Message message_;         // reused decode target
  pgoutput::Message insert_message_;  // reused decode target for Inserts
  outbox::Event event_;               // reused mapping target
  AckTracker::TxnId txn_ = 0;
  PgTimestamp commit_time_;
  Lsn received_;         // highest position received
  Lsn last_sent_flush_;  // last flush position reported
  Clock::time_point last_feedback_{};
  bool reply_requested_ = false;
  // The source's receive timeout (zero: none), when the server was last
  // heard from (or the loop last started listening again), and whether a
  // keepalive was asked for since.
  std::chrono::milliseconds receive_timeout_{0};
  Clock::time_point last_heard_{};
  bool ping_sent_ = false;
  // Whether events were produced since the last batch was sent (MarkUnsent()),
  // and when the next one may go (min_send_interval, max_send_interval).
  bool unsent_ = false;
  SendPacer pacer_;
  bool reached_end_ = false;
  bool stopping_ = false;  // a stop request interrupted backpressure
  Status delivery_failure_;
  bool warned_ignored_ = false;
  // Commits with events not yet confirmed (for the confirm lag; kept only
  // with an observer).
  struct UnconfirmedCommit {
    Lsn end;
    PgTimestamp commit_time;
  };
  std::deque<UnconfirmedCommit> unconfirmed_commits_;
  uint64_t events_in_txn_ = 0;
  // The end of the last transaction handed to the tracker whole (its Commit
  // received), kept across reconnects: a transaction the server sends again
  // that committed before it was produced already and is skipped. Reset on
  // another server (RebaseOnSlot).
  PgTimestamp message_send_time_;  // the send time of the XLogData being handled
  Lsn last_commit_end_;
  bool skipping_txn_ = false;           // the open transaction is such a one
  uint64_t skipped_since_connect_ = 0;  // such transactions on this connection
  // Dead-letter records of refused deliveries, waiting to be produced with
  // the tag of the event they replace.
  struct PendingDeadLetter {
    uint64_t opaque;
    DeadLetter record;
  };
  std::deque<PendingDeadLetter> pending_dead_letters_;
  // Records of batches Kafka refused, produced again one at a time.
  RefusedBatch refused_batch_;
  // The periodic summary: when the last line was written and the figures
  // it showed (nothing is written while they stay the same).
  struct Summary {
    Clock::time_point at{};
    uint64_t events = 0, transactions = 0;
    Lsn confirmed;
  };
  Summary last_summary_;
  Lsn server_wal_end_;        // the server's WAL end, from its last message
  bool catching_up_ = false;  // see StreamerOptions::catch_up_nap
  int empty_naps_ = 0;        // naps in a row that found nothing
  StreamerStats stats_;
};

}  // namespace pgoutbox::core
