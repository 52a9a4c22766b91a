// Checks that Kafka's key partitioning is reproduced: our reference murmur2
// against Kafka's own test vectors, and librdkafka's murmur2_random
// partitioner against that reference on a mock cluster.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>

#include "support/kafka_cluster.h"

namespace pgoutbox::testing {
namespace {

TEST(Murmur2Test, MatchesKafkaTestVectors) {
  // From the Java client's UtilsTest.testMurmur2.
  EXPECT_EQ(Murmur2("21"), -973932308);
  EXPECT_EQ(Murmur2("foobar"), -790332482);
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(Murmur2("abc"), 479470107);
}

TEST(Murmur2Test, PartitionIsNonNegativeModulo) {
  // -973932308 & 0x7fffffff = 1173551340.
  EXPECT_EQ(JavaPartitionForKey("21", 6), 1173551340 % 6);
  for (int partitions = 1; partitions <= 12; ++partitions) {
    int32_t p = JavaPartitionForKey("foobar", partitions);
    EXPECT_GE(p, 0);
    EXPECT_LT(p, partitions);
  }
}

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};

std::unique_ptr<rd_kafka_t, KafkaDeleter> NewProducer(const std::string& bootstraps) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const auto& [name, value] :
       {std::pair<const char*, std::string>{"bootstrap.servers", bootstraps},
        {"partitioner", "murmur2_random"},
        {"linger.ms", "5"}}) {
    if (rd_kafka_conf_set(conf, name, value.c_str(), errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
      ADD_FAILURE() << name << ": " << errstr;
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    ADD_FAILURE() << "rd_kafka_new: " << errstr;
  }
  return std::unique_ptr<rd_kafka_t, KafkaDeleter>(rk);
}

TEST(PartitionerTest, Murmur2RandomMatchesJavaPartitioner) {
  constexpr int kPartitions = 6;
  constexpr int kKeys = 300;
  const std::string topic = "partitioned";
  auto kafka = MockKafka::Start(3);
  ASSERT_NE(kafka, nullptr);
  kafka->CreateTopic(topic, kPartitions);
  TopicConsumer consumer(kafka->bootstraps(), {topic});

  auto producer = NewProducer(kafka->bootstraps());
  ASSERT_NE(producer, nullptr);
  for (int i = 0; i < kKeys; ++i) {
    std::string key = "aggregate-" + std::to_string(i);
    std::string value = "event " + std::to_string(i);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADER("event-id", key.c_str(), -1), RD_KAFKA_V_HEADER("nothing", nullptr, 0),
        RD_KAFKA_V_END);
    ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
    rd_kafka_poll(producer.get(), 0);
  }
  ASSERT_EQ(rd_kafka_flush(producer.get(), 30000), RD_KAFKA_RESP_ERR_NO_ERROR);

  ASSERT_TRUE(consumer.WaitForCount(kKeys, std::chrono::seconds(30)))
      << "consumed " << consumer.Count() << " of " << kKeys;
  auto records = consumer.Records();
  ASSERT_EQ(records.size(), static_cast<size_t>(kKeys));
  std::map<int32_t, int> per_partition;
  for (const auto& rec : records) {
    ASSERT_TRUE(rec.key.has_value());
    EXPECT_EQ(rec.topic, topic);
    EXPECT_EQ(rec.partition, JavaPartitionForKey(*rec.key, kPartitions)) << "key " << *rec.key;
    EXPECT_EQ(rec.Header("event-id"), rec.key);
    ASSERT_EQ(rec.headers.size(), 2u);
    EXPECT_EQ(rec.headers[1].first, "nothing");
    EXPECT_EQ(rec.headers[1].second, std::nullopt);  // a null header stays null
    EXPECT_EQ(rec.value, "event " + rec.key->substr(rec.key->find('-') + 1));
    EXPECT_GT(rec.timestamp_ms, 0);
    ++per_partition[rec.partition];
  }
  // 300 keys spread over every partition: the hash is actually used.
  EXPECT_EQ(per_partition.size(), static_cast<size_t>(kPartitions));
}

}  // namespace
}  // namespace pgoutbox::testing
