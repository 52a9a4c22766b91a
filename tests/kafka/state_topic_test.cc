#include "kafka/state_topic.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka_mock.h>

#include <string>
#include <vector>

#include "kafka/mock_cluster.h"
#include "kafka/publisher.h"

namespace pgoutbox::kafka {
namespace {

using std::chrono::seconds;

class StateTopicTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mock = MockCluster::Start(1);
    ASSERT_TRUE(mock.ok()) << mock.status().ToString();
    mock_ = std::move(*mock);
    auto publisher = Publisher::Create({mock_->bootstraps(), {}});
    ASSERT_TRUE(publisher.ok()) << publisher.status().ToString();
    publisher_ = std::move(*publisher);
  }

  void CreateTopic(const std::string& topic, int partitions) {
    ASSERT_EQ(rd_kafka_mock_topic_create(mock_->cluster(), topic.c_str(), partitions, 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  // Produces (key, value) records to `topic` in order and waits for them.
  void Write(const std::string& topic,
             const std::vector<std::pair<std::string, std::string>>& records,
             int64_t timestamp_ms = 0) {
    for (const auto& [key, value] : records) {
      outbox::Event event;
      event.topic = topic;
      event.key = key;
      event.payload = value;
      auto result = publisher_->Produce(event, timestamp_ms, 1);
      ASSERT_TRUE(result.ok()) << result.status().ToString();
      ASSERT_EQ(result->outcome, ProduceOutcome::kQueued);
    }
    ASSERT_EQ(publisher_->Flush(seconds(10)), 0);
  }

  StateTopicOptions Options(const std::string& topic, const std::string& key) {
    StateTopicOptions options;
    options.kafka.brokers = mock_->bootstraps();
    options.topic = topic;
    options.key = key;
    return options;
  }

  std::unique_ptr<MockCluster> mock_;
  std::unique_ptr<Publisher> publisher_;
};

TEST_F(StateTopicTest, ATopicThatDoesNotExistHoldsNoState) {
  auto state = ReadLatestState(Options("no.such.topic", "db/slot"), seconds(10));
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_FALSE(state->has_value());
}

TEST_F(StateTopicTest, AnEmptyTopicHoldsNoState) {
  CreateTopic("state.empty", 1);
  auto state = ReadLatestState(Options("state.empty", "db/slot"), seconds(10));
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_FALSE(state->has_value());
}

TEST_F(StateTopicTest, FindsTheNewestRecordOfItsKeyAmongOthers) {
  CreateTopic("state.shared", 1);
  Write("state.shared", {{"db/slot", "one"},
                         {"db/other", "x"},
                         {"db/slot", "two"},
                         {"other/slot", "y"},
                         {"db/slot", "three"},
                         {"db/other", "z"}});
  auto state = ReadLatestState(Options("state.shared", "db/slot"), seconds(10));
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  ASSERT_TRUE(state->has_value());
  EXPECT_EQ((*state)->value, "three");
  EXPECT_EQ((*state)->offset, 4);

  auto none = ReadLatestState(Options("state.shared", "db/none"), seconds(10));
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->has_value());
}

TEST_F(StateTopicTest, TheNewestTimestampWinsAcrossPartitions) {
  CreateTopic("state.partitioned", 4);
  // The same key lands on one partition; a record written later under a
  // changed partitioning (here: explicit timestamps) is found by its time.
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  Write("state.partitioned", {{"db/slot", "older"}}, now - 60000);
  Write("state.partitioned", {{"db/slot", "newer"}}, now);
  Write("state.partitioned", {{"db/other", "other"}}, now + 1000);
  auto state = ReadLatestState(Options("state.partitioned", "db/slot"), seconds(10));
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  ASSERT_TRUE(state->has_value());
  EXPECT_EQ((*state)->value, "newer");
  EXPECT_EQ((*state)->timestamp_ms, now);
}

TEST_F(StateTopicTest, ReadsOnlyTheWindowAtTheEndOfEachPartition) {
  CreateTopic("state.window", 1);
  Write("state.window", {{"db/slot", "old"}, {"a", "1"}, {"b", "2"}, {"c", "3"}});
  StateTopicOptions options = Options("state.window", "db/slot");
  options.window = 3;
  auto state = ReadLatestState(options, seconds(10));
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_FALSE(state->has_value()) << "the key's record is 4 back, outside a window of 3";
  options.window = 4;
  state = ReadLatestState(options, seconds(10));
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  ASSERT_TRUE(state->has_value());
  EXPECT_EQ((*state)->value, "old");
}

TEST_F(StateTopicTest, UnreachableBrokersAreUnavailableWithinTheTimeout) {
  StateTopicOptions options = Options("state", "db/slot");
  options.kafka.brokers = "127.0.0.1:1";
  const auto start = std::chrono::steady_clock::now();
  auto state = ReadLatestState(options, std::chrono::milliseconds(1500));
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), Status::Code::kUnavailable) << state.status().ToString();
  EXPECT_NE(state.status().message().find("state"), std::string::npos);
}

TEST_F(StateTopicTest, AnUnknownPropertyIsInvalidArgument) {
  StateTopicOptions options = Options("state", "db/slot");
  options.kafka.config = {{"no.such.property", "1"}};
  auto state = ReadLatestState(options, seconds(2));
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(state.status().message().find("no.such.property"), std::string::npos);
}

}  // namespace
}  // namespace pgoutbox::kafka
