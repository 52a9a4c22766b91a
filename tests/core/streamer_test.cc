// The streamer: its pure timing function, and its loop driven through its two
// seams (tests/core/stream_fakes.h) without PostgreSQL or Kafka. What only
// the real server and cluster can show runs in tests/integration.
#include "core/streamer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/stream_fakes.h"
#include "outbox/pg_types.h"

namespace pgoutbox {
// Readable gtest failure output; static so each test file may have its own.
[[maybe_unused]] static void PrintTo(const Lsn& lsn, std::ostream* os) { *os << lsn.ToString(); }
}  // namespace pgoutbox

namespace pgoutbox::core {
namespace {

using std::chrono::milliseconds;

TEST(TimeUntilFeedbackTest, CountsDownToTheInterval) {
  Clock::time_point t0{};
  EXPECT_EQ(TimeUntilFeedback(t0, t0, milliseconds(1000), milliseconds(5000)), milliseconds(1000));
  EXPECT_EQ(TimeUntilFeedback(t0 + milliseconds(400), t0, milliseconds(1000), milliseconds(5000)),
            milliseconds(600));
  // Capped so stop requests are noticed.
  EXPECT_EQ(TimeUntilFeedback(t0, t0, milliseconds(1000), milliseconds(200)), milliseconds(200));
}

TEST(TimeUntilFeedbackTest, DueOrOverdueIsZero) {
  Clock::time_point t0{};
  EXPECT_EQ(TimeUntilFeedback(t0 + milliseconds(1000), t0, milliseconds(1000), milliseconds(200)),
            milliseconds(0));
  EXPECT_EQ(TimeUntilFeedback(t0 + milliseconds(5000), t0, milliseconds(1000), milliseconds(200)),
            milliseconds(0));
}

TEST(TimeUntilFeedbackTest, RoundsPartialMillisecondsUp) {
  Clock::time_point t0{};
  auto now = t0 + std::chrono::microseconds(999500);
  EXPECT_EQ(TimeUntilFeedback(now, t0, milliseconds(1000), milliseconds(200)), milliseconds(1));
}

// --- the loop, through its seams ---------------------------------------------

using testing::FakeSink;
using testing::FakeSource;
using testing::RecordingObserver;

constexpr uint32_t kOutboxOid = 16384;
constexpr Lsn kStart(0x100);  // the slot's confirmed position
constexpr const char* kTopic = "outbox.event.order";
constexpr const char* kDeadLetterTopic = "outbox.dlq";

// Transaction n (from 1) lives at n * 0x1000: its inserts from +0x10, its
// commit record at +0x800, its end at +0x900.
Lsn InsertAt(int n, int row) { return Lsn(n * 0x1000 + 0x10 * (row + 1)); }
Lsn CommitAt(int n) { return Lsn(n * 0x1000 + 0x800); }
Lsn End(int n) { return Lsn(n * 0x1000 + 0x900); }

// A row of sql/outbox.sql's table: id, aggregate_type, aggregate_id,
// event_type, topic, payload, headers, created_at.
struct Row {
  std::string id;
  std::optional<std::string> aggregate_id = "k";
  std::optional<std::string> headers = std::nullopt;
  std::string payload = R"({"n": 1})";
  // Set: not a row but a transactional logical decoding message with the
  // events' prefix and this content.
  std::optional<std::string> message = std::nullopt;
};

#define ASSERT_OK(expr)                      \
  do {                                       \
    const Status _st = (expr);               \
    ASSERT_TRUE(_st.ok()) << _st.ToString(); \
  } while (0)

Row Good(std::string id) { return Row{id, "key-" + id}; }
// Bad rows: the mapper cannot make a record of them.
Row NullKey(std::string id) { return Row{id, std::nullopt}; }
Row BadHeaders(std::string id) { return Row{id, "key-" + id, R"(["not", "an object"])"}; }
// A message event (outbox::MessageMapper) with this id and key "key-<id>".
Row Message(std::string id) {
  Row r{id};
  r.message = R"({"id": ")" + id + R"(", "aggregate_type": "order", "aggregate_id": "key-)" + id +
              R"(", "event_type": "OrderCreated", "payload": {"n": 2}})";
  return r;
}

class StreamLoopTest : public ::testing::Test {
 protected:
  StreamLoopTest() {
    options_.feedback_interval = milliseconds(5);
    options_.shutdown_timeout = milliseconds(300);
    options_.catch_up_nap = std::chrono::microseconds(0);
    options_.summary_interval = milliseconds(0);
    auto mapper = outbox::EventMapper::Create(outbox::MapperOptions{});
    EXPECT_TRUE(mapper.ok()) << mapper.status().ToString();
    mapper_ = std::move(mapper).value();
    auto message_mapper = outbox::MessageMapper::Create(outbox::MessageMapperOptions{});
    EXPECT_TRUE(message_mapper.ok()) << message_mapper.status().ToString();
    message_mapper_ = std::move(message_mapper).value();
  }

  // Runs a streamer over the script until it returns.
  Status Run() {
    Streamer streamer(options_, &sink_, mapper_.get(), &tracker_, &stop_, &observer_);
    streamer.set_message_mapper(message_mapper_.get());
    Status st = streamer.Run(&source_);
    stats_ = streamer.stats();
    return st;
  }

  // Adds transaction `n` with `rows` to the script (the first one also
  // brings the outbox's Relation message, as the server sends it).
  void Transaction(int n, const std::vector<Row>& rows) {
    const PgTimestamp now =
        PgTimestamp::FromUnixMicros(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
    source_.AddXLogData(Lsn(n * 0x1000), testing::BeginMessage(CommitAt(n), now, 700 + n));
    if (!relation_sent_) {
      relation_sent_ = true;
      source_.AddXLogData(Lsn(n * 0x1000), testing::RelationMessage(
                                               kOutboxOid, "public", "outbox",
                                               {{"id", outbox::pg_type::kUuid},
                                                {"aggregate_type", outbox::pg_type::kText},
                                                {"aggregate_id", outbox::pg_type::kText},
                                                {"event_type", outbox::pg_type::kText},
                                                {"topic", outbox::pg_type::kText},
                                                {"payload", outbox::pg_type::kJsonb},
                                                {"headers", outbox::pg_type::kJsonb},
                                                {"created_at", outbox::pg_type::kTimestamptz}}));
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      if (r.message) {
        source_.AddXLogData(InsertAt(n, static_cast<int>(i)),
                            testing::LogicalMessageMessage(true, InsertAt(n, static_cast<int>(i)),
                                                           "pgoutbox", *r.message));
        continue;
      }
      source_.AddXLogData(
          InsertAt(n, static_cast<int>(i)),
          testing::InsertMessage(
              kOutboxOid, {r.id, "order", r.aggregate_id, "OrderCreated", std::nullopt, r.payload,
                           r.headers, "2026-01-02 03:04:05+00"}));
    }
    source_.AddXLogData(CommitAt(n), testing::CommitMessage(CommitAt(n), End(n), now));
  }

  // Holds the script until `count` records were produced.
  void WaitForRecords(size_t count) {
    source_.WaitUntil(std::to_string(count) + " records",
                      [this, count] { return sink_.records().size() >= count; });
  }

  StreamerOptions options_;
  std::unique_ptr<outbox::EventMapper> mapper_;
  std::unique_ptr<outbox::MessageMapper> message_mapper_;
  AckTracker tracker_{kStart};
  std::atomic<int> stop_{0};
  FakeSource source_;
  FakeSink sink_;
  RecordingObserver observer_;
  StreamerStats stats_;
  bool relation_sent_ = false;
};

TEST_F(StreamLoopTest, StreamerIsTheSinksDeliveryHandlerWhileItLives) {
  {
    Streamer streamer(options_, &sink_, mapper_.get(), &tracker_, &stop_, &observer_);
    EXPECT_EQ(sink_.handler(), &streamer);
  }
  EXPECT_EQ(sink_.handler(), nullptr);
}

TEST_F(StreamLoopTest, EndLsnEndsTheRunOnceEverythingUpToItIsConfirmed) {
  options_.end_lsn = End(3);
  Transaction(1, {Good("a1"), Good("a2")});
  Transaction(2, {Good("b1")});
  Transaction(3, {Good("c1")});
  Transaction(4, {Good("d1")});  // past the end: never read

  ASSERT_OK(Run());
  EXPECT_EQ(sink_.IdsOn(kTopic), (std::vector<std::string>{"a1", "a2", "b1", "c1"}));
  EXPECT_EQ(sink_.outq_len(), 0);
  EXPECT_EQ(tracker_.confirmable(), End(3));
  EXPECT_EQ(source_.last_flushed(), End(3));
  EXPECT_EQ(source_.highest_flushed(), End(3));
  EXPECT_TRUE(source_.finished());
  EXPECT_EQ(stats_.events_published, 4u);
  EXPECT_EQ(stats_.transactions, 3u);
  // Each record as produced: key, headers, the transaction's tag.
  const FakeSink::Record& a1 = sink_.records()[0];
  EXPECT_EQ(a1.key, "key-a1");
  EXPECT_EQ(a1.payload, R"({"n": 1})");
  EXPECT_EQ(a1.Header("id"), "a1");
  EXPECT_EQ(a1.Header("event_type"), "OrderCreated");
  EXPECT_EQ(sink_.records()[1].opaque, a1.opaque);
  EXPECT_NE(sink_.records()[2].opaque, a1.opaque);
}

TEST_F(StreamLoopTest, EndLsnWaitsForTheAcksBeforeReturning) {
  options_.end_lsn = End(1);
  sink_.auto_ack = false;
  Transaction(1, {Good("a1")});
  // The end is reached at the commit; the ack comes 5 status updates later.
  int updates_in_flight = 0;
  source_.on_status = [&](const replication::StatusUpdate& update) {
    EXPECT_LE(update.flushed, End(1));
    if (sink_.outq_len() == 1 && ++updates_in_flight == 5) sink_.Ack(0);
  };
  ASSERT_OK(Run());
  EXPECT_EQ(updates_in_flight, 5);
  EXPECT_EQ(tracker_.confirmable(), End(1));
  EXPECT_EQ(source_.last_flushed(), End(1));
}

// Each ack reports its stages: from the commit, from the arrival of the
// Commit message (pgoutbox's own share: here the ack comes 30 ms after it),
// and the producer's own latency as the sink reported it.
TEST_F(StreamLoopTest, EachAckReportsTheTimeSinceItsCommitArrived) {
  options_.end_lsn = End(1);
  sink_.auto_ack = false;
  Transaction(1, {Good("a1")});
  int updates = 0;
  source_.on_status = [&](const replication::StatusUpdate&) {
    if (sink_.outq_len() == 1 && !tracker_.has_open_transaction() && ++updates == 2) {
      std::this_thread::sleep_for(milliseconds(30));
      sink_.Ack(0);
    }
  };
  ASSERT_OK(Run());
  ASSERT_EQ(observer_.latencies.size(), 1u);
  const DeliveryLatency& latency = observer_.latencies[0];
  EXPECT_GE(latency.since_commit_arrival, 0.030);
  EXPECT_LT(latency.since_commit_arrival, 5.0);
  EXPECT_GE(latency.since_commit, latency.since_commit_arrival);
  EXPECT_DOUBLE_EQ(latency.in_producer, 0.00025);
  ASSERT_EQ(observer_.arrivals.size(), 1u);
  EXPECT_GE(observer_.arrivals[0].read_delay, 0.0);
  EXPECT_LT(observer_.arrivals[0].read_delay, 5.0);
}

// A batch is sent at once after a quiet spell; the next one not before
// min_send_interval has passed, whatever arrived meanwhile.
TEST_F(StreamLoopTest, BatchesGoOutAtMostOncePerMinSendInterval) {
  options_.min_send_interval = milliseconds(150);
  const auto started = std::chrono::steady_clock::now();
  Transaction(1, {Good("a1")});
  source_.WaitUntil("the first batch sent", [&] { return sink_.sends.size() >= 1; });
  Transaction(2, {Good("b1")});
  Transaction(3, {Good("c1")});
  source_.WaitUntil("the second batch sent", [&] { return sink_.sends.size() >= 2; });
  source_.Then([&] { stop_ = 1; });
  ASSERT_OK(Run());
  ASSERT_GE(sink_.sends.size(), 2u);
  EXPECT_EQ(sink_.sends[0].records, 1u);
  EXPECT_LT(sink_.sends[0].at - started, milliseconds(100));  // at once
  EXPECT_EQ(sink_.sends[1].records, 3u);                      // both later transactions, together
  EXPECT_GE(sink_.sends[1].at - sink_.sends[0].at, milliseconds(150));
  EXPECT_EQ(sink_.IdsOn(kTopic), (std::vector<std::string>{"a1", "b1", "c1"}));
}

// While a batch waits for its interval the loop does not wake for the
// stream: what the server sends meanwhile is read when the interval ends,
// and goes out in that batch.
TEST_F(StreamLoopTest, WhileABatchWaitsTheStreamIsReadOnlyWhenItIsDue) {
  options_.min_send_interval = milliseconds(150);
  std::optional<std::chrono::steady_clock::time_point> second_read, third_read;
  Transaction(1, {Good("a1")});
  source_.WaitUntil("the first batch sent", [&] { return sink_.sends.size() >= 1; });
  source_.Then([&] { second_read = std::chrono::steady_clock::now(); });
  Transaction(2, {Good("b1")});
  // The next transaction reaches the socket 5 ms later.
  source_.WaitUntil("5 ms later", [&] {
    return std::chrono::steady_clock::now() - *second_read >= milliseconds(5);
  });
  source_.Then([&] { third_read = std::chrono::steady_clock::now(); });
  Transaction(3, {Good("c1")});
  source_.WaitUntil("the second batch sent", [&] { return sink_.sends.size() >= 2; });
  source_.Then([&] { stop_ = 1; });
  ASSERT_OK(Run());
  ASSERT_GE(sink_.sends.size(), 2u);
  ASSERT_TRUE(second_read && third_read);
  EXPECT_LT(*second_read - sink_.sends[0].at, milliseconds(100));  // nothing waited then
  EXPECT_GE(*third_read - sink_.sends[0].at, milliseconds(150));   // read when due
  EXPECT_EQ(sink_.sends[1].records, 3u);
  EXPECT_EQ(sink_.IdsOn(kTopic), (std::vector<std::string>{"a1", "b1", "c1"}));
}

TEST_F(StreamLoopTest, WithoutAMinSendIntervalEachDrainedStreamIsABatch) {
  options_.min_send_interval = milliseconds(0);
  Transaction(1, {Good("a1")});
  source_.WaitUntil("the first batch sent", [&] { return sink_.sends.size() >= 1; });
  Transaction(2, {Good("b1")});
  source_.WaitUntil("the second batch sent", [&] { return sink_.sends.size() >= 2; });
  source_.Then([&] { stop_ = 1; });
  ASSERT_OK(Run());
  ASSERT_GE(sink_.sends.size(), 2u);
  EXPECT_EQ(sink_.sends[1].records, 2u);
  EXPECT_LT(sink_.sends[1].at - sink_.sends[0].at, milliseconds(150));
}

TEST_F(StreamLoopTest, FeedbackGoesOnWhileTheSinkIsFull) {
  options_.end_lsn = End(1);
  sink_.capacity = 1;
  sink_.auto_ack = false;
  Transaction(1, {Good("a1"), Good("a2"), Good("a3")});
  // While the sink is full the loop stops reading but keeps telling the
  // server where it stands, one update per feedback interval.
  int updates_while_full = 0;
  std::optional<int> read_when_full;
  source_.on_status = [&](const replication::StatusUpdate& update) {
    if (sink_.queue_full_answers() == 0 || sink_.auto_ack) return;
    EXPECT_EQ(update.flushed, kStart);
    if (!read_when_full) read_when_full = source_.messages_read();
    EXPECT_EQ(source_.messages_read(), *read_when_full) << "read the stream while full";
    if (++updates_while_full == 5) sink_.auto_ack = true;  // room again
  };
  ASSERT_OK(Run());
  EXPECT_EQ(updates_while_full, 5);
  EXPECT_EQ(sink_.IdsOn(kTopic), (std::vector<std::string>{"a1", "a2", "a3"}));
  EXPECT_EQ(tracker_.confirmable(), End(1));
  EXPECT_EQ(source_.last_flushed(), End(1));
}

// A server that goes silent: at half the receive timeout a status update
// asks for a keepalive; at all of it the run ends Unavailable (the caller
// reconnects), long before the fake's own patience.
TEST_F(StreamLoopTest, ASilentServerBreaksTheStreamAfterTheReceiveTimeout) {
  source_.set_receive_timeout(milliseconds(600));
  Transaction(1, {Good("a1")});
  const auto start = Clock::now();
  Status st = Run();
  const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  EXPECT_EQ(st.code(), Status::Code::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find("no message from the server for 0.6 s (receive timeout 600ms"),
            std::string::npos)
      << st.message();
  EXPECT_GE(took, milliseconds(600));
  EXPECT_LT(took, milliseconds(1500));
  int pings = 0;
  for (const auto& update : source_.status_updates()) pings += update.reply_requested ? 1 : 0;
  EXPECT_EQ(pings, 1);
  EXPECT_EQ(sink_.IdsOn(kTopic), (std::vector<std::string>{"a1"}));
}

// A live server answers the request with a keepalive: the stream goes on
// however long it has nothing to send.
TEST_F(StreamLoopTest, KeepalivesAskedForKeepAnIdleStreamAlive) {
  source_.set_receive_timeout(milliseconds(400));
  Transaction(1, {Good("a1")});
  const auto start = Clock::now();
  int pings = 0;
  source_.on_status = [&](const replication::StatusUpdate& update) {
    if (update.reply_requested) {
      ++pings;
      source_.Add(testing::KeepaliveFrame(End(1)));
    }
    if (Clock::now() - start > milliseconds(2000)) stop_ = 1;
  };
  ASSERT_OK(Run());
  EXPECT_GE(pings, 4);
  EXPECT_EQ(tracker_.confirmable(), End(1));
}

// While the Kafka queue is full the stream is not read: that time is no
// silence of the server's, and the loop does not give up right after.
TEST_F(StreamLoopTest, TheTimeNotReadingIsNotSilence) {
  source_.set_receive_timeout(milliseconds(600));
  sink_.capacity = 1;
  sink_.auto_ack = false;
  Transaction(1, {Good("a1"), Good("a2")});
  // The sink stays full for 1 s (longer than the receive timeout), then the
  // server is quiet for 300 ms more before the commit arrives.
  const auto start = Clock::now();
  std::optional<Clock::time_point> room;
  sink_.before_reports = [&] {
    if (!room && Clock::now() - start > milliseconds(1000)) {
      room = Clock::now();
      sink_.auto_ack = true;
    }
  };
  source_.WaitUntil("300 ms after the queue had room again",
                    [&] { return room && Clock::now() - *room > milliseconds(300); });
  source_.Then([&] { stop_ = 1; });
  ASSERT_OK(Run());
  EXPECT_EQ(sink_.IdsOn(kTopic), (std::vector<std::string>{"a1", "a2"}));
}

TEST_F(StreamLoopTest, HaltStopsAtTheBadRowAndConfirmsNothingPastIt) {
  options_.on_bad_row = BadRowAction::kHalt;
  Transaction(1, {Good("a1")});
  Transaction(2, {Good("b1"), NullKey("b2")});
  Transaction(3, {Good("c1")});

  Status st = Run();
  EXPECT_EQ(st.code(), Status::Code::kAborted) << st.ToString();
  EXPECT_NE(st.message().find("b2"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("NULL"), std::string::npos) << st.message();
  for (const std::string& id : sink_.IdsOn(kTopic)) {
    EXPECT_NE(id, "b2");
    EXPECT_NE(id, "c1") << "a row after the bad one";
  }
  EXPECT_TRUE(sink_.IdsOn(kDeadLetterTopic).empty());
  EXPECT_EQ(tracker_.confirmable(), End(1));
  EXPECT_EQ(source_.highest_flushed(), End(1));
  EXPECT_EQ(observer_.bad_rows, std::vector<std::string>{"halt/null_column"});
}

TEST_F(StreamLoopTest, SkipConfirmsPastTheBadRowAndPublishesTheRest) {
  options_.on_bad_row = BadRowAction::kSkip;
  options_.end_lsn = End(3);
  Transaction(1, {Good("a1")});
  Transaction(2, {Good("b1"), NullKey("b2"), Good("b3")});
  Transaction(3, {Good("c1")});

  ASSERT_OK(Run());
  EXPECT_EQ(sink_.IdsOn(kTopic), (std::vector<std::string>{"a1", "b1", "b3", "c1"}));
  EXPECT_TRUE(sink_.IdsOn(kDeadLetterTopic).empty());
  EXPECT_EQ(tracker_.confirmable(), End(3));
  EXPECT_EQ(stats_.bad_rows, 1u);
  EXPECT_EQ(observer_.bad_rows, std::vector<std::string>{"skip/null_column"});
}

TEST_F(StreamLoopTest, DeadLetterIsProducedAndConfirmedOnlyAfterItsAck) {
  options_.on_bad_row = BadRowAction::kDeadLetter;
  options_.end_lsn = Lsn(0x5000);
  sink_.auto_ack = false;
  Transaction(1, {Good("a1"), BadHeaders("a2")});
  Transaction(2, {Good("b1")});
  WaitForRecords(3);  // a1, a2's dead-letter record, b1
  source_.Then([&] {
    sink_.Ack(0);
    sink_.Ack(2);
  });
  source_.WaitForStatusUpdates(3);
  source_.Then([&] {
    // Everything but the dead-letter record is acked: nothing moves.
    EXPECT_EQ(tracker_.confirmable(), kStart);
    EXPECT_EQ(source_.highest_flushed(), kStart);
    sink_.Ack(1);
  });
  source_.WaitUntil("the position to move", [&] { return source_.last_flushed() == End(2); });
  source_.Add(testing::KeepaliveFrame(Lsn(0x5000)));

  ASSERT_OK(Run());
  EXPECT_EQ(tracker_.confirmable(), Lsn(0x5000));
  EXPECT_EQ(sink_.IdsOn(kTopic), (std::vector<std::string>{"a1", "b1"}));
  ASSERT_EQ(sink_.IdsOn(kDeadLetterTopic), std::vector<std::string>{"a2"});
  const FakeSink::Record& dead = sink_.records()[1];
  EXPECT_EQ(dead.opaque, sink_.records()[0].opaque) << "an event of the bad row's transaction";
  EXPECT_EQ(dead.key, "key-a2");
  EXPECT_EQ(dead.Header("table"), "public.outbox");
  EXPECT_EQ(dead.Header("lsn"), InsertAt(1, 1).ToString());
  EXPECT_EQ(dead.Header("id"), "a2");
  EXPECT_NE(dead.Header("error").value_or("").find("a2"), std::string::npos);
  EXPECT_NE(dead.payload.find(R"("id":"a2")"), std::string::npos) << dead.payload;
  EXPECT_NE(dead.payload.find(R"("payload":"{\"n\": 1}")"), std::string::npos) << dead.payload;
  EXPECT_EQ(stats_.bad_rows, 1u);
  EXPECT_EQ(observer_.bad_rows, std::vector<std::string>{"dlq/headers"});
}

TEST_F(StreamLoopTest, RecordRefusedWhenProducedIsDeadLetteredWithoutItsPayload) {
  options_.on_bad_row = BadRowAction::kDeadLetter;
  options_.end_lsn = End(1);
  sink_.refuse_on_produce = [](const outbox::Event& event) -> std::optional<kafka::RecordRefusal> {
    if (event.id == "a2" && event.topic == kTopic) return kafka::RecordRefusal::kTooLarge;
    return std::nullopt;
  };
  Transaction(1, {Good("a1"), Good("a2"), Good("a3")});

  ASSERT_OK(Run());
  EXPECT_EQ(sink_.IdsOn(kTopic), (std::vector<std::string>{"a1", "a3"}));
  ASSERT_EQ(sink_.IdsOn(kDeadLetterTopic), std::vector<std::string>{"a2"});
  const FakeSink::Record& dead = sink_.records()[1];
  EXPECT_EQ(dead.payload.find(R"("payload":)"), std::string::npos) << dead.payload;
  EXPECT_NE(dead.payload.find(R"("payload_size":8)"), std::string::npos) << dead.payload;
  EXPECT_NE(dead.Header("error").value_or("").find("too large"), std::string::npos);
  EXPECT_EQ(tracker_.confirmable(), End(1));
  EXPECT_EQ(observer_.bad_rows, std::vector<std::string>{"dlq/too_large"});
}

TEST_F(StreamLoopTest, ADeadLetterRecordRefusedTooStopsTheStream) {
  options_.on_bad_row = BadRowAction::kDeadLetter;
  sink_.refuse_on_produce = [](const outbox::Event& event) -> std::optional<kafka::RecordRefusal> {
    if (event.id == "b1") return kafka::RecordRefusal::kTooLarge;
    return std::nullopt;
  };
  Transaction(1, {Good("a1")});
  Transaction(2, {Good("b1")});
  Transaction(3, {Good("c1")});

  Status st = Run();
  EXPECT_EQ(st.code(), Status::Code::kAborted) << st.ToString();
  EXPECT_NE(st.message().find("its dead-letter record was refused too"), std::string::npos)
      << st.message();
  EXPECT_EQ(sink_.IdsOn(kTopic), std::vector<std::string>{"a1"});
  EXPECT_TRUE(sink_.IdsOn(kDeadLetterTopic).empty());
  EXPECT_EQ(tracker_.confirmable(), End(1));
}

TEST_F(StreamLoopTest, RecordRefusedInItsDeliveryReportIsDeadLetteredUnderItsTag) {
  options_.on_bad_row = BadRowAction::kDeadLetter;
  options_.end_lsn = Lsn(0x5000);
  sink_.auto_ack = false;
  Transaction(1, {Good("a1")});
  Transaction(2, {Good("b1")});
  WaitForRecords(2);
  source_.Then([&] {
    sink_.Refuse(0, kafka::RecordRefusal::kTooLarge);  // a1's batch
    sink_.Ack(1);
  });
  // a1 is produced again alone (the stream is not read meanwhile) and
  // refused alone.
  sink_.before_reports = [&] {
    if (sink_.records().size() == 3 &&
        sink_.records()[2].state == FakeSink::Record::State::kInFlight) {
      sink_.Refuse(2, kafka::RecordRefusal::kTooLarge);
    }
  };
  WaitForRecords(4);  // the dead-letter record of a1
  source_.WaitForStatusUpdates(2);
  source_.Then([&] {
    EXPECT_EQ(tracker_.confirmable(), kStart) << "confirmed before the dead-letter record's ack";
    sink_.Ack(3);
  });
  source_.WaitUntil("the position to move", [&] { return source_.last_flushed() == End(2); });
  source_.Add(testing::KeepaliveFrame(Lsn(0x5000)));

  ASSERT_OK(Run());
  EXPECT_EQ(tracker_.confirmable(), Lsn(0x5000));
  ASSERT_EQ(sink_.IdsOn(kDeadLetterTopic), std::vector<std::string>{"a1"});
  EXPECT_EQ(sink_.records()[2].topic, kTopic);
  EXPECT_EQ(sink_.records()[2].id, "a1");
  EXPECT_EQ(sink_.records()[2].payload, sink_.records()[0].payload);
  const FakeSink::Record& dead = sink_.records()[3];
  EXPECT_EQ(dead.opaque, sink_.records()[0].opaque);
  EXPECT_EQ(dead.key, "key-a1");
  EXPECT_NE(dead.payload.find(R"("topic":"outbox.event.order")"), std::string::npos)
      << dead.payload;
  EXPECT_NE(dead.payload.find(R"("payload_size":8)"), std::string::npos) << dead.payload;
  EXPECT_EQ(dead.Header("table"), "public.outbox");
  EXPECT_EQ(observer_.bad_rows, std::vector<std::string>{"dlq/too_large"});
}

// A headers column with its own "id" (and "event_type") field: the records
// carry pgoutbox's headers only, and a refused and a failed delivery, the
// dead-letter record and the observer's counts name the rows' real ids.
TEST_F(StreamLoopTest, FailuresNameTheRowsIdWhateverItsHeadersColumnHolds) {
  options_.on_bad_row = BadRowAction::kDeadLetter;
  sink_.auto_ack = false;
  const std::string forged = R"({"id": "forged", "event_type": "Forged", "trace": "t1"})";
  Transaction(1, {Row{"a1", "key-a1", forged}});
  Transaction(2, {Row{"b1", "key-b1", forged}});
  WaitForRecords(2);
  source_.Then([&] {
    sink_.Refuse(0, kafka::RecordRefusal::kTooLarge);  // a1's batch
    sink_.Ack(1);
  });
  // a1 is produced again alone (the stream is not read meanwhile) and
  // refused alone.
  sink_.before_reports = [&] {
    if (sink_.records().size() == 3 &&
        sink_.records()[2].state == FakeSink::Record::State::kInFlight) {
      sink_.Refuse(2, kafka::RecordRefusal::kTooLarge);
    }
  };
  WaitForRecords(4);  // a1's dead-letter record
  Transaction(3, {Row{"c1", "key-c1", forged}});
  WaitForRecords(5);
  source_.Then([&] {
    sink_.Ack(3);
    sink_.Fail(4);
  });

  Status st = Run();
  EXPECT_EQ(st.code(), Status::Code::kAborted) << st.ToString();
  EXPECT_NE(st.message().find("event c1 was not delivered"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("forged"), std::string::npos) << st.message();
  for (const FakeSink::Record& r : sink_.records()) {
    if (r.topic != kTopic) continue;
    int ids = 0;
    for (const auto& [name, value] : r.headers) ids += name == "id" ? 1 : 0;
    EXPECT_EQ(ids, 1) << r.id;
    EXPECT_EQ(r.Header("id"), r.id);
    EXPECT_EQ(r.Header("event_type"), "OrderCreated");
    EXPECT_EQ(r.Header("trace"), "t1");
  }
  ASSERT_EQ(sink_.IdsOn(kDeadLetterTopic), std::vector<std::string>{"a1"});
  const FakeSink::Record& dead = sink_.records()[3];
  EXPECT_EQ(dead.Header("id"), "a1");
  EXPECT_EQ(dead.Header("error").value_or("").rfind("event a1: ", 0), 0u)
      << dead.Header("error").value_or("(none)");
  // The refused record's headers, as the dead-letter value shows them.
  EXPECT_NE(dead.payload.find(R"("headers":{"id":"a1","event_type":"OrderCreated",)"
                              R"("aggregate_type":"order","table":"public.outbox","trace":"t1"})"),
            std::string::npos)
      << dead.payload;
  EXPECT_EQ(dead.payload.find("forged"), std::string::npos) << dead.payload;
  EXPECT_EQ(observer_.bad_rows, std::vector<std::string>{"dlq/too_large"});
  EXPECT_EQ(std::count(observer_.failures.begin(), observer_.failures.end(),
                       PublishFailure::kDeliveryFailed),
            1);
  EXPECT_EQ(mapper_->dropped_headers("id"), 3u);
}

TEST_F(StreamLoopTest, FailedDeliveryHoldsThePositionDespiteLaterAcks) {
  sink_.auto_ack = false;
  Transaction(1, {Good("a1")});
  Transaction(2, {Good("b1")});
  Transaction(3, {Good("c1")});
  WaitForRecords(3);
  source_.Then([&] {
    sink_.Ack(0);
    sink_.Ack(2);  // c1 before b1's failure
    sink_.Fail(1);
  });

  Status st = Run();
  EXPECT_EQ(st.code(), Status::Code::kAborted) << st.ToString();
  EXPECT_NE(st.message().find("b1 was not delivered"), std::string::npos) << st.message();
  EXPECT_EQ(tracker_.confirmable(), End(1));
  EXPECT_EQ(source_.highest_flushed(), End(1));
  EXPECT_EQ(source_.last_flushed(), End(1));
  EXPECT_NE(std::find(observer_.failures.begin(), observer_.failures.end(),
                      PublishFailure::kDeliveryFailed),
            observer_.failures.end());
}

TEST_F(StreamLoopTest, StopWithEventsInFlightGivesUpAfterTheShutdownTimeout) {
  options_.shutdown_timeout = milliseconds(150);
  sink_.auto_ack = false;
  Transaction(1, {Good("a1")});
  Transaction(2, {Good("b1")});
  WaitForRecords(2);
  source_.Then([&] { sink_.Ack(0); });  // b1 is never acked
  source_.WaitUntil("a1's transaction to be confirmed",
                    [&] { return source_.last_flushed() == End(1); });
  source_.Then([&] { stop_ = 1; });

  const auto started = std::chrono::steady_clock::now();
  Status st = Run();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(st.code(), Status::Code::kAborted) << st.ToString();
  EXPECT_NE(st.message().find("1 event not acknowledged"), std::string::npos) << st.message();
  EXPECT_GE(took, options_.shutdown_timeout);
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_EQ(tracker_.confirmable(), End(1));
  EXPECT_EQ(source_.highest_flushed(), End(1));
  EXPECT_EQ(source_.last_flushed(), End(1));
  EXPECT_TRUE(source_.finished());
  EXPECT_EQ(sink_.outq_len(), 1);
}

TEST_F(StreamLoopTest, ABrokenStreamReturnsUnavailableAndKeepsTheEventsInFlight) {
  sink_.auto_ack = false;
  Transaction(1, {Good("a1")});
  WaitForRecords(1);
  // An open transaction when the stream breaks is never confirmed.
  source_.AddXLogData(Lsn(0x2000), testing::BeginMessage(CommitAt(2), PgTimestamp(), 702));
  source_.Break();

  Status st = Run();
  EXPECT_EQ(st.code(), Status::Code::kUnavailable) << st.ToString();
  EXPECT_FALSE(tracker_.has_open_transaction());
  EXPECT_EQ(sink_.outq_len(), 1);
  EXPECT_EQ(tracker_.confirmable(), kStart);
}

// A hot standby takes over: the slot moved on while it waited, and the
// supervisor hands over the slot's position before the stream starts. The
// very first status update, and every one after, carries that position, not
// the start-up one.
TEST_F(StreamLoopTest, TheFirstStatusUpdateCarriesTheSlotPositionReadAtConnect) {
  options_.end_lsn = End(1);
  const Lsn taken_over(0x800);  // kStart < 0x800 < End(1)
  Transaction(1, {Good("a1")});
  Streamer streamer(options_, &sink_, mapper_.get(), &tracker_, &stop_, &observer_);
  streamer.SlotConfirmedAt(taken_over);
  ASSERT_OK(streamer.Run(&source_));
  ASSERT_FALSE(source_.status_updates().empty());
  EXPECT_EQ(source_.status_updates().front().flushed, taken_over);
  for (const auto& update : source_.status_updates()) EXPECT_GE(update.flushed, taken_over);
  EXPECT_EQ(source_.last_flushed(), End(1));
}

// After a reconnect with events still in flight, a slot position read at
// connect never confirms past them.
TEST_F(StreamLoopTest, ASlotPositionAtReconnectWaitsForTheEventsInFlight) {
  sink_.auto_ack = false;
  Transaction(1, {Good("a1")});
  WaitForRecords(1);
  source_.Break();
  Streamer streamer(options_, &sink_, mapper_.get(), &tracker_, &stop_, &observer_);
  ASSERT_EQ(streamer.Run(&source_).code(), Status::Code::kUnavailable);
  streamer.SlotConfirmedAt(Lsn(End(1).value() + 0x100));
  EXPECT_EQ(tracker_.confirmable(), kStart);
  sink_.Ack(0);
  ASSERT_OK(streamer.ServeDeliveries(milliseconds(10)));
  EXPECT_EQ(tracker_.confirmable(), Lsn(End(1).value() + 0x100));
}

// --- without a stream: Drain(), RebaseOnSlot() ---------------------------------

// The stream broke with three events in flight; Drain() serves delivery
// reports until the last one comes in, however many polls that takes.
TEST_F(StreamLoopTest, DrainWaitsUntilEveryEventInFlightIsAcknowledged) {
  sink_.auto_ack = false;
  Transaction(1, {Good("a1"), Good("a2")});
  Transaction(2, {Good("b1")});
  WaitForRecords(3);
  source_.Break();
  Streamer streamer(options_, &sink_, mapper_.get(), &tracker_, &stop_, &observer_);
  ASSERT_EQ(streamer.Run(&source_).code(), Status::Code::kUnavailable);
  ASSERT_EQ(sink_.outq_len(), 3);

  int polls = 0;
  int in_flight_at_last_ack = -1;
  sink_.before_reports = [&] {
    ++polls;
    if (polls == 2) sink_.Ack(2);
    if (polls == 3) sink_.Ack(0);
    if (polls == 5) {
      in_flight_at_last_ack = sink_.outq_len();
      sink_.Ack(1);
    }
  };
  ASSERT_OK(streamer.Drain());
  EXPECT_GE(polls, 5) << "returned before the last ack";
  EXPECT_EQ(in_flight_at_last_ack, 1);
  EXPECT_EQ(sink_.outq_len(), 0);
  EXPECT_EQ(tracker_.inflight_events(), 0u);
  EXPECT_EQ(tracker_.confirmable(), End(2));
  EXPECT_EQ(stop_.load(), 0);
}

TEST_F(StreamLoopTest, DrainWaitsForTheDeadLetterRecordOfARefusedDelivery) {
  options_.on_bad_row = BadRowAction::kDeadLetter;
  sink_.auto_ack = false;
  Transaction(1, {Good("a1")});
  WaitForRecords(1);
  source_.Break();
  Streamer streamer(options_, &sink_, mapper_.get(), &tracker_, &stop_, &observer_);
  ASSERT_EQ(streamer.Run(&source_).code(), Status::Code::kUnavailable);

  int polls = 0;
  bool refused_alone = false, acked = false;
  sink_.before_reports = [&] {
    ++polls;
    if (polls == 1) sink_.Refuse(0, kafka::RecordRefusal::kTooLarge);  // its batch
    // Produced again alone during the drain, and refused alone.
    if (!refused_alone && sink_.records().size() == 2) {
      sink_.Refuse(1, kafka::RecordRefusal::kTooLarge);
      refused_alone = true;
    }
    // The dead-letter record, produced during the drain, acked a while later.
    if (!acked && polls >= 6 && sink_.records().size() == 3) {
      sink_.Ack(2);
      acked = true;
    }
  };
  ASSERT_OK(streamer.Drain());
  EXPECT_GE(polls, 6);
  EXPECT_EQ(sink_.records()[1].id, "a1");
  EXPECT_EQ(sink_.records()[1].topic, kTopic);
  ASSERT_EQ(sink_.IdsOn(kDeadLetterTopic), std::vector<std::string>{"a1"});
  EXPECT_EQ(sink_.records()[2].state, FakeSink::Record::State::kAcked);
  EXPECT_EQ(tracker_.confirmable(), End(1));
}

TEST_F(StreamLoopTest, DrainReturnsADeliveryFailure) {
  sink_.auto_ack = false;
  Transaction(1, {Good("a1")});
  Transaction(2, {Good("b1")});
  WaitForRecords(2);
  source_.Break();
  Streamer streamer(options_, &sink_, mapper_.get(), &tracker_, &stop_, &observer_);
  ASSERT_EQ(streamer.Run(&source_).code(), Status::Code::kUnavailable);
  sink_.Ack(0);
  sink_.Fail(1);
  Status st = streamer.Drain();
  EXPECT_EQ(st.code(), Status::Code::kAborted) << st.ToString();
  EXPECT_NE(st.message().find("b1"), std::string::npos) << st.message();
  EXPECT_EQ(tracker_.confirmable(), End(1));
}

TEST_F(StreamLoopTest, AStopRequestEndsTheDrainWithWhatIsStillInFlight) {
  sink_.auto_ack = false;
  Transaction(1, {Good("a1")});
  WaitForRecords(1);
  source_.Break();
  Streamer streamer(options_, &sink_, mapper_.get(), &tracker_, &stop_, &observer_);
  ASSERT_EQ(streamer.Run(&source_).code(), Status::Code::kUnavailable);
  int polls = 0;
  sink_.before_reports = [&] {
    if (++polls == 3) stop_ = 1;
  };
  const auto started = std::chrono::steady_clock::now();
  Status st = streamer.Drain();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  EXPECT_EQ(st.code(), Status::Code::kAborted) << st.ToString();
  EXPECT_NE(st.message().find("1 event not acknowledged"), std::string::npos) << st.message();
  EXPECT_EQ(tracker_.confirmable(), kStart);
}

// A promotion: the new primary's slot stands behind the position confirmed
// on the old one. After Drain() and RebaseOnSlot(), the first status update
// to the new server carries the slot's position there, not the old one.
TEST_F(StreamLoopTest, AfterARebaseTheFirstStatusUpdateCarriesTheLowerSlotPosition) {
  Transaction(1, {Good("a1")});
  Transaction(2, {Good("b1")});
  source_.WaitUntil("everything confirmed", [&] { return source_.last_flushed() == End(2); });
  source_.Break();
  Streamer streamer(options_, &sink_, mapper_.get(), &tracker_, &stop_, &observer_);
  ASSERT_EQ(streamer.Run(&source_).code(), Status::Code::kUnavailable);
  ASSERT_EQ(tracker_.confirmable(), End(2));
  ASSERT_OK(streamer.Drain());

  const Lsn promoted(0x1A00);  // End(1) < promoted < End(2)
  streamer.RebaseOnSlot(promoted);
  EXPECT_EQ(tracker_.confirmable(), promoted);

  source_ = FakeSource();
  relation_sent_ = false;
  Transaction(3, {Good("c1")});
  source_.WaitUntil("c1 confirmed", [&] { return source_.last_flushed() == End(3); });
  source_.Break();
  ASSERT_EQ(streamer.Run(&source_).code(), Status::Code::kUnavailable);
  ASSERT_FALSE(source_.status_updates().empty());
  EXPECT_EQ(source_.status_updates().front().flushed, promoted);
  EXPECT_EQ(source_.status_updates().front().written, promoted)
      << "nothing received from the old server counts on the new one";
  for (const auto& update : source_.status_updates()) {
    EXPECT_GE(update.flushed, promoted);
    EXPECT_LE(update.flushed, End(3));
  }
  EXPECT_EQ(source_.last_flushed(), End(3));
  EXPECT_EQ(sink_.IdsOn(kTopic), (std::vector<std::string>{"a1", "b1", "c1"}));
}

// Message events travel with the rows of their transaction, in order, and
// the position moves past them only once every one of them is acknowledged.
TEST_F(StreamLoopTest, MessageEventsGoOutInCommitOrderWithTheRows) {
  options_.end_lsn = Lsn(0x5000);
  sink_.auto_ack = false;
  Transaction(1, {Good("a1"), Message("m1"), Good("a2")});
  Transaction(2, {Message("m2")});
  WaitForRecords(4);
  source_.Then([&] {
    sink_.Ack(0);
    sink_.Ack(2);
    sink_.Ack(3);
  });
  source_.WaitForStatusUpdates(3);
  source_.Then([&] {
    EXPECT_EQ(source_.highest_flushed(), kStart) << "m1 is not acknowledged yet";
    sink_.Ack(1);
  });
  source_.WaitUntil("the position to move", [&] { return source_.last_flushed() == End(2); });
  source_.Add(testing::KeepaliveFrame(Lsn(0x5000)));
  ASSERT_OK(Run());
  EXPECT_EQ(sink_.IdsOn(kTopic), (std::vector<std::string>{"a1", "m1", "a2", "m2"}));
  const FakeSink::Record& m1 = sink_.records()[1];
  EXPECT_EQ(m1.key, "key-m1");
  EXPECT_EQ(m1.payload, R"({"n": 2})");
  EXPECT_EQ(m1.Header("event_type"), "OrderCreated");
  EXPECT_EQ(m1.opaque, sink_.records()[0].opaque) << "an event of its transaction";
  EXPECT_EQ(stats_.message_events, 2u);
  EXPECT_EQ(stats_.events_published, 4u);
}

// Messages with another prefix (the heartbeat's among them) are not events;
// without a message mapper no message is.
TEST_F(StreamLoopTest, MessagesWithAnotherPrefixAreNotEvents) {
  options_.end_lsn = End(2);
  Transaction(1, {Good("a1")});
  source_.AddXLogData(
      Lsn(0x1A00), testing::LogicalMessageMessage(false, Lsn(0x1A00), "pgoutbox.heartbeat", "x"));
  source_.AddXLogData(Lsn(0x1B00),
                      testing::LogicalMessageMessage(true, Lsn(0x1B00), "other", "{}"));
  Transaction(2, {Good("b1")});
  ASSERT_OK(Run());
  EXPECT_EQ(sink_.IdsOn(kTopic), (std::vector<std::string>{"a1", "b1"}));
  EXPECT_TRUE(observer_.bad_rows.empty());
}

// A non-transactional message with the events' prefix is sent by the server
// even if its transaction rolls back: a bad row by policy, never an event.
class NonTransactionalMessageTest : public StreamLoopTest,
                                    public ::testing::WithParamInterface<BadRowAction> {};

TEST_P(NonTransactionalMessageTest, IsABadRowByPolicy) {
  const BadRowAction action = GetParam();
  const std::string content =
      R"({"aggregate_type": "order", "aggregate_id": "k", "event_type": "t", "payload": {}})";
  options_.on_bad_row = action;
  options_.end_lsn = End(2);
  Transaction(1, {Good("a1")});
  source_.AddXLogData(Lsn(0x1A00),
                      testing::LogicalMessageMessage(false, Lsn(0x1A00), "pgoutbox", content));
  Transaction(2, {Good("b1")});
  const Status st = Run();
  EXPECT_EQ(observer_.bad_rows,
            std::vector<std::string>{std::string(BadRowActionName(action)) + "/non_transactional"});
  if (action == BadRowAction::kHalt) {
    EXPECT_EQ(st.code(), Status::Code::kAborted) << st.ToString();
    EXPECT_NE(st.message().find("not transactional"), std::string::npos) << st.ToString();
    EXPECT_LT(source_.highest_flushed(), Lsn(0x1A00));
    return;
  }
  ASSERT_OK(st);
  EXPECT_EQ(sink_.IdsOn(kTopic), (std::vector<std::string>{"a1", "b1"}));
  EXPECT_EQ(source_.last_flushed(), End(2));
  if (action == BadRowAction::kSkip) {
    EXPECT_TRUE(sink_.IdsOn(kDeadLetterTopic).empty());
    return;
  }
  ASSERT_EQ(sink_.records().size(), 3u);
  const FakeSink::Record& dead = sink_.records()[1];
  EXPECT_EQ(dead.topic, kDeadLetterTopic);
  EXPECT_EQ(dead.payload, content);
  EXPECT_EQ(dead.Header("message_prefix"), "pgoutbox");
  EXPECT_EQ(dead.Header("lsn"), Lsn(0x1A00).ToString());
  EXPECT_FALSE(dead.Header("table").has_value());
  EXPECT_TRUE(dead.key_is_null);
}

INSTANTIATE_TEST_SUITE_P(Actions, NonTransactionalMessageTest,
                         ::testing::Values(BadRowAction::kHalt, BadRowAction::kSkip,
                                           BadRowAction::kDeadLetter),
                         [](const auto& info) {
                           return std::string(BadRowActionName(info.param));
                         });

// A dead-lettered non-transactional message holds the position before it
// until its record is acknowledged.
TEST_F(StreamLoopTest, DeadLetteredMessageIsConfirmedOnlyAfterItsAck) {
  options_.on_bad_row = BadRowAction::kDeadLetter;
  options_.end_lsn = Lsn(0x5000);
  sink_.auto_ack = false;
  Transaction(1, {Good("a1")});
  source_.AddXLogData(Lsn(0x1A00),
                      testing::LogicalMessageMessage(false, Lsn(0x1A00), "pgoutbox", "not json"));
  Transaction(2, {Good("b1")});
  WaitForRecords(3);
  source_.Then([&] {
    sink_.Ack(0);
    sink_.Ack(2);
  });
  source_.WaitUntil("a1 confirmed", [&] { return source_.last_flushed() == End(1); });
  source_.WaitForStatusUpdates(3);
  source_.Then([&] {
    EXPECT_LT(source_.highest_flushed(), Lsn(0x1A00)) << "the dead letter is not acked";
    sink_.Ack(1);
  });
  source_.WaitUntil("the position to move", [&] { return source_.last_flushed() == End(2); });
  source_.Add(testing::KeepaliveFrame(Lsn(0x5000)));
  ASSERT_OK(Run());
  EXPECT_EQ(observer_.bad_rows, std::vector<std::string>{"dlq/non_transactional"});
}

}  // namespace
}  // namespace pgoutbox::core
