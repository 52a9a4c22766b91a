#include "kafka/publisher.h"

#include <gtest/gtest.h>

#include "kafka/mock_cluster.h"

namespace pgoutbox::kafka {
namespace {

class NullHandler : public DeliveryHandler {
 public:
  void OnDelivered(uint64_t, std::string_view, std::chrono::microseconds) override {}
  void OnFailed(uint64_t, std::string_view, const Status&) override {}
};

TEST(PublisherConfigTest, ParsesKeyValue) {
  auto kv = ParseConfigEntry("sasl.jaas.config=a=b c");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->first, "sasl.jaas.config");
  EXPECT_EQ(kv->second, "a=b c");
  EXPECT_FALSE(ParseConfigEntry("novalue").ok());
  EXPECT_FALSE(ParseConfigEntry("=value").ok());
}

TEST(PublisherConfigTest, UnknownPropertyIsInvalidArgument) {
  NullHandler handler;
  auto p = Publisher::Create({"127.0.0.1:1", {{"no.such.property", "1"}}}, &handler);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(p.status().message().find("no.such.property"), std::string::npos);
}

TEST(PublisherConfigTest, UnreachableBrokersAreReported) {
  NullHandler handler;
  auto p = Publisher::Create({"127.0.0.1:1", {}}, &handler);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Status st = (*p)->CheckReachable(std::chrono::milliseconds(500));
  EXPECT_EQ(st.code(), Status::Code::kUnavailable);
  EXPECT_NE(st.message().find("127.0.0.1:1"), std::string::npos) << st.message();
}

TEST(MockSpecTest, Parses) {
  EXPECT_EQ(**ParseMockSpec("mock:3"), 3);
  EXPECT_FALSE(ParseMockSpec("kafka:9092")->has_value());
  EXPECT_FALSE(ParseMockSpec("mock:").ok());
  EXPECT_FALSE(ParseMockSpec("mock:0").ok());
  EXPECT_FALSE(ParseMockSpec("mock:x").ok());
}

TEST(MockClusterTest, IsReachable) {
  auto mock = MockCluster::Start(2);
  ASSERT_TRUE(mock.ok());
  NullHandler handler;
  auto p = Publisher::Create({(*mock)->bootstraps(), {}}, &handler);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE((*p)->CheckReachable(std::chrono::seconds(5)).ok());
}

}  // namespace
}  // namespace pgoutbox::kafka

namespace pgoutbox::kafka {
namespace {

class RecordingHandler : public DeliveryHandler {
 public:
  void OnDelivered(uint64_t opaque, std::string_view topic,
                   std::chrono::microseconds in_producer) override {
    latencies.push_back(in_producer);
    delivered.push_back(opaque);
    topics.emplace_back(topic);
  }
  void OnFailed(uint64_t opaque, std::string_view event_id, const Status& reason) override {
    failed.push_back(opaque);
    failed_ids.emplace_back(event_id);
    last_reason = reason;
  }
  std::vector<uint64_t> delivered, failed;
  std::vector<std::chrono::microseconds> latencies;
  std::vector<std::string> topics;
  std::vector<std::string> failed_ids;
  Status last_reason;
};

outbox::Event MakeEvent(std::string_view id) {
  outbox::Event e;
  e.id = id;
  e.key = "order-1";
  e.event_type = "created";
  e.aggregate_type = "order";
  e.topic = "orders";
  e.payload = R"({"a": 1})";
  e.headers = {{"id", id, false}, {"trace", "", true}};
  return e;
}

TEST(PublisherTest, DeliveryReportsCarryTheOpaque) {
  auto mock = MockCluster::Start(1);
  ASSERT_TRUE(mock.ok());
  RecordingHandler handler;
  auto p = Publisher::Create({(*mock)->bootstraps(), {}}, &handler);
  ASSERT_TRUE(p.ok());
  for (uint64_t i = 0; i < 10; ++i) {
    auto r = (*p)->Produce(MakeEvent("e" + std::to_string(i)), 1700000000000, i % 3);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->outcome, ProduceOutcome::kQueued);
  }
  EXPECT_EQ((*p)->Flush(std::chrono::seconds(10)), 0);
  ASSERT_EQ(handler.delivered.size(), 10u);
  EXPECT_TRUE(handler.failed.empty());
  std::vector<uint64_t> expected;
  for (uint64_t i = 0; i < 10; ++i) expected.push_back(i % 3);
  EXPECT_EQ(handler.delivered, expected);  // one partition: in order
  EXPECT_EQ(handler.topics, std::vector<std::string>(10, "orders"));
}

TEST(PublisherTest, SendDoesNotWaitForLinger) {
  auto mock = MockCluster::Start(1);
  ASSERT_TRUE(mock.ok());
  RecordingHandler handler;
  // A linger far longer than the test: only Send() can get the events out.
  auto p = Publisher::Create({(*mock)->bootstraps(), {{"linger.ms", "60000"}}}, &handler);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE((*p)->CheckReachable(std::chrono::seconds(5)).ok());
  for (int round = 0; round < 3; ++round) {
    for (uint64_t i = 0; i < 5; ++i) {
      ASSERT_TRUE((*p)->Produce(MakeEvent("e" + std::to_string(i)), 1700000000000, i).ok());
    }
    (*p)->Poll(300);
    EXPECT_EQ(handler.delivered.size(), round * 5u) << "sent before Send()";
    (*p)->Send();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (handler.delivered.size() < (round + 1) * 5u &&
           std::chrono::steady_clock::now() < deadline) {
      (*p)->Poll(10);
    }
    EXPECT_EQ(handler.delivered.size(), (round + 1) * 5u) << "round " << round;
  }
  EXPECT_EQ((*p)->outq_len(), 0);
}

TEST(PublisherTest, PermanentFailureNamesTheEvent) {
  auto mock = MockCluster::Start(1);
  ASSERT_TRUE(mock.ok());
  RecordingHandler handler;
  auto p = Publisher::Create({(*mock)->bootstraps(), {{"message.timeout.ms", "1000"}}}, &handler);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE((*p)->CheckReachable(std::chrono::seconds(5)).ok());
  rd_kafka_mock_broker_set_down((*mock)->cluster(), 1);
  std::string id = "6f1c1e1e-0000-4000-8000-000000000001";
  ASSERT_TRUE((*p)->Produce(MakeEvent(id), 1700000000000, 42).ok());
  (*p)->Flush(std::chrono::seconds(10));
  ASSERT_EQ(handler.failed.size(), 1u);
  EXPECT_EQ(handler.failed[0], 42u);
  EXPECT_EQ(handler.failed_ids[0], id);
  EXPECT_NE(handler.last_reason.message().find("orders"), std::string::npos)
      << handler.last_reason.message();
}

// The id a report names is the record's first "id" header, the one its
// producer put there as Event::id: a later header of that name (which the
// mapper never lets through, see EventMapper) cannot rename the event, in a
// failure or in a refusal.
TEST(PublisherTest, ReportsNameTheEventByItsFirstIdHeader) {
  auto mock = MockCluster::Start(1);
  ASSERT_TRUE(mock.ok());
  RecordingHandler handler;
  auto p = Publisher::Create({(*mock)->bootstraps(), {}}, &handler);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE((*p)->CheckReachable(std::chrono::seconds(5)).ok());
  constexpr int16_t kProduceApiKey = 0;
  rd_kafka_mock_push_request_errors((*mock)->cluster(), kProduceApiKey, 1,
                                    RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  outbox::Event event = MakeEvent("e1");
  event.headers.push_back({"id", "later", false});
  ASSERT_TRUE((*p)->Produce(event, 1700000000000, 7).ok());
  (*p)->Flush(std::chrono::seconds(10));
  ASSERT_EQ(handler.failed.size(), 1u);
  EXPECT_EQ(handler.failed_ids[0], "e1");
}

TEST(PublisherTest, FullQueueIsBackpressureNotFailure) {
  auto mock = MockCluster::Start(1);
  ASSERT_TRUE(mock.ok());
  RecordingHandler handler;
  auto p =
      Publisher::Create({(*mock)->bootstraps(), {{"queue.buffering.max.messages", "5"}}}, &handler);
  ASSERT_TRUE(p.ok());
  rd_kafka_mock_broker_set_down((*mock)->cluster(), 1);
  int queued = 0;
  bool full = false;
  for (int i = 0; i < 20 && !full; ++i) {
    auto r = (*p)->Produce(MakeEvent("e"), 1700000000000, 1);
    ASSERT_TRUE(r.ok());
    if (r->outcome == ProduceOutcome::kQueueFull) {
      full = true;
    } else {
      ++queued;
    }
  }
  EXPECT_TRUE(full);
  EXPECT_EQ(queued, 5);
  rd_kafka_mock_broker_set_up((*mock)->cluster(), 1);
  EXPECT_EQ((*p)->Flush(std::chrono::seconds(20)), 0);
  EXPECT_EQ(handler.delivered.size(), 5u);
  EXPECT_TRUE(handler.failed.empty());
}

TEST(PublisherTest, DeliveryHandlerCanBeGivenAfterCreation) {
  auto mock = MockCluster::Start(1);
  ASSERT_TRUE(mock.ok());
  auto p = Publisher::Create({(*mock)->bootstraps(), {}});
  ASSERT_TRUE(p.ok());
  RecordingHandler handler;
  (*p)->set_delivery_handler(&handler);
  auto r = (*p)->Produce(MakeEvent("e1"), 1700000000000, 7);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->outcome, ProduceOutcome::kQueued);
  EXPECT_EQ((*p)->Flush(std::chrono::seconds(10)), 0);
  EXPECT_EQ(handler.delivered, std::vector<uint64_t>{7});
}

TEST(PublisherTest, ARecordTooLargeIsRefusedWithItsReason) {
  RecordingHandler handler;
  // Refused by the producer itself, before any broker is asked.
  auto p = Publisher::Create({"127.0.0.1:1", {{"message.max.bytes", "1000"}}}, &handler);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  outbox::Event event = MakeEvent("e1");
  const std::string payload(5000, 'x');
  event.payload = payload;
  auto r = (*p)->Produce(event, 1700000000000, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->outcome, ProduceOutcome::kRefused);
  EXPECT_EQ(r->refusal, RecordRefusal::kTooLarge);
  EXPECT_NE(r->message.find("\"orders\""), std::string::npos) << r->message;
  EXPECT_NE(r->message.find("5000 bytes"), std::string::npos) << r->message;
  // The next record is not affected by the refusal before it.
  auto next = (*p)->Produce(MakeEvent("e2"), 1700000000000, 2);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->outcome, ProduceOutcome::kQueued);
  EXPECT_TRUE(next->message.empty());
  // A refused record was never queued: no delivery report comes for it.
  (*p)->Poll(100);
  EXPECT_TRUE(handler.failed.empty());
  EXPECT_TRUE(handler.delivered.empty());
}

TEST(RecordRefusalTest, OnlyErrorsAboutTheRecordAreRefusals) {
  EXPECT_EQ(RefusalOf(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE), RecordRefusal::kTooLarge);
  EXPECT_EQ(RefusalOf(RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE), RecordRefusal::kTooLarge);
  EXPECT_EQ(RefusalOf(RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION), RecordRefusal::kTopic);
  EXPECT_EQ(RefusalOf(RD_KAFKA_RESP_ERR_INVALID_RECORD), RecordRefusal::kRejected);
  // Corruption on the way (CORRUPT_MESSAGE) is about the batch, and a
  // record that meets it alone is not a bad row.
  EXPECT_EQ(RefusalOf(RD_KAFKA_RESP_ERR_INVALID_MSG), RecordRefusal::kCorrupted);
  EXPECT_FALSE(IsAboutTheRecord(RecordRefusal::kCorrupted));
  EXPECT_TRUE(IsAboutTheRecord(RecordRefusal::kTooLarge));
  EXPECT_TRUE(IsAboutTheRecord(RecordRefusal::kRejected));
  EXPECT_EQ(RefusalOf(RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP), RecordRefusal::kRejected);
  EXPECT_EQ(RefusalOf(RD_KAFKA_RESP_ERR__QUEUE_FULL), std::nullopt);
  EXPECT_EQ(RefusalOf(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), std::nullopt);
  EXPECT_EQ(RefusalOf(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION), std::nullopt);
  EXPECT_EQ(RefusalOf(RD_KAFKA_RESP_ERR__FATAL), std::nullopt);
}

TEST(RecordRefusalTest, NamesAreTheMetricLabels) {
  EXPECT_STREQ(RecordRefusalName(RecordRefusal::kTooLarge), "too_large");
  EXPECT_STREQ(RecordRefusalName(RecordRefusal::kTopic), "topic");
  EXPECT_STREQ(RecordRefusalName(RecordRefusal::kRejected), "rejected");
}

}  // namespace
}  // namespace pgoutbox::kafka
