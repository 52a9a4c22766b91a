// The producer settings that break the delivery guarantee are refused with
// one line naming the property (kafka/producer_guard.h); the ones that only
// trade speed are not.
#include "kafka/producer_guard.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kafka/publisher.h"

namespace pgoutbox::kafka {
namespace {

using Properties = std::vector<std::pair<std::string, std::string>>;

Status Validate(Properties properties) {
  return ValidateConfig({"127.0.0.1:1", std::move(properties)});
}

// Refused with exactly `line`: InvalidArgument, one line.
void ExpectRefused(Properties properties, const std::string& line) {
  Status st = Validate(properties);
  ASSERT_FALSE(st.ok()) << "accepted: " << properties.front().first;
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(st.message().find('\n'), std::string::npos) << st.message();
  EXPECT_EQ(st.message().rfind(line, 0), 0u) << st.message();
}

TEST(ProducerGuardTest, DefaultsAreAccepted) { EXPECT_TRUE(Validate({}).ok()); }

TEST(ProducerGuardTest, IdempotenceOffIsRefused) {
  ExpectRefused({{"enable.idempotence", "false"}},
                "-X enable.idempotence=false is refused: without the idempotent producer");
}

TEST(ProducerGuardTest, AcksOtherThanAllAreRefused) {
  ExpectRefused({{"acks", "1"}}, "-X acks=1 is refused: only acks=all");
  ExpectRefused({{"acks", "0"}}, "-X acks=0 is refused: only acks=all");
  ExpectRefused({{"request.required.acks", "2"}}, "-X acks=2 is refused");
  EXPECT_TRUE(Validate({{"acks", "all"}}).ok());
  EXPECT_TRUE(Validate({{"acks", "-1"}}).ok());
}

TEST(ProducerGuardTest, PartitionersThatSpreadAKeyAreRefused) {
  ExpectRefused({{"partitioner", "random"}},
                "-X partitioner=random is refused: it does not keep every key");
  ExpectRefused({{"partitioner", "consistent_random"}},
                "-X partitioner=consistent_random is refused: it does not keep every key");
  for (const char* keeps : {"murmur2_random", "murmur2", "consistent", "fnv1a", "fnv1a_random"}) {
    EXPECT_TRUE(Validate({{"partitioner", keeps}}).ok()) << keeps;
  }
}

TEST(ProducerGuardTest, OnlyErrorReportsAreRefused) {
  ExpectRefused({{"delivery.report.only.error", "true"}},
                "-X delivery.report.only.error=true is refused: pgoutbox confirms the slot only "
                "on a report of success");
}

TEST(ProducerGuardTest, MoreThanFiveInFlightAreRefused) {
  ExpectRefused({{"max.in.flight.requests.per.connection", "6"}},
                "-X max.in.flight.requests.per.connection=6 is refused: the broker deduplicates");
  ExpectRefused({{"max.in.flight", "1000000"}},
                "-X max.in.flight.requests.per.connection=1000000 is refused");
  EXPECT_TRUE(Validate({{"max.in.flight.requests.per.connection", "1"}}).ok());
  EXPECT_TRUE(Validate({{"max.in.flight.requests.per.connection", "5"}}).ok());
}

TEST(ProducerGuardTest, NoRetriesAreRefused) {
  ExpectRefused({{"retries", "0"}}, "-X retries=0 is refused: the idempotent producer needs");
  ExpectRefused({{"message.send.max.retries", "0"}}, "-X retries=0 is refused");
  EXPECT_TRUE(Validate({{"retries", "3"}}).ok());  // a failed event stops the stream
}

TEST(ProducerGuardTest, LifoQueuingIsRefused) {
  ExpectRefused({{"queuing.strategy", "lifo"}}, "-X queuing.strategy=lifo is refused: only fifo");
}

TEST(ProducerGuardTest, TransactionalIdIsRefused) {
  ExpectRefused({{"transactional.id", "outbox-1"}},
                "-X transactional.id=outbox-1 is refused: pgoutbox runs no Kafka transactions");
}

TEST(ProducerGuardTest, QueueSmallerThanARecordIsRefused) {
  ExpectRefused({{"queue.buffering.max.kbytes", "512"}},
                "-X queue.buffering.max.kbytes=512 is refused: the local queue (524288 bytes) is "
                "smaller than message.max.bytes=1000000");
  ExpectRefused({{"message.max.bytes", "20000000"}},
                "-X queue.buffering.max.kbytes=16384 is refused: the local queue (16777216 bytes) "
                "is smaller than message.max.bytes=20000000");
  EXPECT_TRUE(Validate({{"queue.buffering.max.kbytes", "977"}}).ok());  // 1,000,448 bytes
  EXPECT_TRUE(
      Validate({{"message.max.bytes", "20000000"}, {"queue.buffering.max.kbytes", "19532"}}).ok());
}

TEST(ProducerGuardTest, TheLastValueOfAPropertyIsJudged) {
  EXPECT_TRUE(Validate({{"acks", "1"}, {"acks", "all"}}).ok());
  ExpectRefused({{"acks", "all"}, {"acks", "1"}}, "-X acks=1 is refused");
}

TEST(ProducerGuardTest, SpeedSettingsAreAccepted) {
  EXPECT_TRUE(Validate({{"linger.ms", "50"},
                        {"batch.size", "65536"},
                        {"batch.num.messages", "500"},
                        {"compression.type", "zstd"},
                        {"message.timeout.ms", "30000"},
                        {"enable.gapless.guarantee", "true"}})
                  .ok());
  EXPECT_TRUE(Validate({{"linger.ms", "0"}}).ok());
  EXPECT_TRUE(Validate({{"batch.size", "1"}}).ok());
  EXPECT_TRUE(Validate({{"compression.type", "lz4"}}).ok());
}

// The guard judges the built configuration, librdkafka's own defaults
// included: a bare configuration has consistent_random and ~1,000,000
// requests in flight.
TEST(ProducerGuardTest, LibrdkafkaDefaultsAreJudgedLikeValuesGiven) {
  struct ConfDeleter {
    void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
  };
  std::unique_ptr<rd_kafka_conf_t, ConfDeleter> conf(rd_kafka_conf_new());
  char errstr[512];
  ASSERT_EQ(rd_kafka_conf_set(conf.get(), "enable.idempotence", "true", errstr, sizeof errstr),
            RD_KAFKA_CONF_OK);
  Status st = CheckProducerGuarantees(conf.get());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind("-X partitioner=consistent_random is refused", 0), 0u)
      << st.message();
}

// Publisher::Create refuses what ValidateConfig refuses.
TEST(ProducerGuardTest, CreateRefusesToo) {
  auto p = Publisher::Create({"127.0.0.1:1", {{"enable.idempotence", "false"}}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(p.status().message().find("enable.idempotence"), std::string::npos);
}

}  // namespace
}  // namespace pgoutbox::kafka
