// MockKafka and TopicConsumer: librdkafka's built-in mock cluster (a real
// Kafka-protocol broker on loopback) and an independent consumer that reads
// back what arrived.
//
// MockKafka owns its own rd_kafka_t handle (so the cluster outlives any
// producer) and the rd_kafka_mock_cluster_t; pgoutbox child processes reach it
// through bootstraps(). Thread safety: the fault-injection calls may be made
// from any thread.
//
// TopicConsumer assigns every partition of the given topics from the
// beginning (no consumer group) and consumes on a background thread from
// construction until destruction, so tests consume while producing (the mock
// keeps only the newest 5 MiB per partition). It keeps retrying through
// broker outages. Its accessors are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pgoutbox::testing {

class MockKafka {
 public:
  // Starts a cluster of `brokers` brokers. gtest failure + nullptr on error.
  static std::unique_ptr<MockKafka> Start(int brokers = 3);
  ~MockKafka();
  MockKafka(const MockKafka&) = delete;
  MockKafka& operator=(const MockKafka&) = delete;

  // "127.0.0.1:p1,127.0.0.1:p2,..."
  std::string bootstraps() const;
  int broker_count() const;
  // Creates a topic with a known partition count (replication factor
  // min(3, brokers)). Topics that are not created are auto-created by the mock.
  void CreateTopic(const std::string& topic, int partitions);
  // Takes every broker down (true) or brings them back up (false).
  void SetAllBrokersDown(bool down);
  // The next len(errors) Produce requests, whichever broker gets them, fail
  // with these errors, in order (rd_kafka_mock_push_request_errors_array).
  void PushProduceErrors(const std::vector<int>& errors);

 private:
  MockKafka() = default;
  struct State;
  std::unique_ptr<State> state_;
};

struct ConsumedRecord {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  int64_t timestamp_ms = -1;

  // The value of the last header named `name`, nullopt if absent or null.
  std::optional<std::string> Header(const std::string& name) const;
};

class TopicConsumer {
 public:
  // Topics must exist (CreateTopic) before the consumer starts.
  TopicConsumer(const std::string& bootstraps, const std::vector<std::string>& topics);
  ~TopicConsumer();
  TopicConsumer(const TopicConsumer&) = delete;
  TopicConsumer& operator=(const TopicConsumer&) = delete;

  // Waits until at least `count` records have arrived in total or `timeout`
  // passes; returns whether the count was reached.
  bool WaitForCount(size_t count, std::chrono::milliseconds timeout);
  // Everything consumed so far, in arrival order per partition.
  std::vector<ConsumedRecord> Records() const;
  size_t Count() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Kafka's murmur2 (the Java client's Utils.murmur2), an independent reference
// used to check which partition a key lands on:
// (Murmur2(key) & 0x7fffffff) % partitions.
int32_t Murmur2(const std::string& key);
int32_t JavaPartitionForKey(const std::string& key, int partitions);

}  // namespace pgoutbox::testing
