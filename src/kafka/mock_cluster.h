// MockCluster: librdkafka's built-in mock Kafka cluster, started inside the
// process for `--brokers mock:N`, so demos and tests need no Kafka install.
// It is a real Kafka-protocol server on loopback (other clients such as kcat
// can connect to bootstraps()).
//
// Ownership: owns a dedicated rd_kafka_t handle that hosts the cluster, so
// the cluster outlives any producer. Thread safety: construct and destroy on
// one thread; the cluster runs on librdkafka's own threads.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

namespace pgoutbox::kafka {

// Parses "mock:N" into N (1..16); nullopt if `brokers` is not a mock spec.
// InvalidArgument for "mock:" with a bad count.
Result<std::optional<int>> ParseMockSpec(const std::string& brokers);

class MockCluster {
 public:
  static Result<std::unique_ptr<MockCluster>> Start(int brokers);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  // Creates `name` with `partitions` partitions, replicated on up to 3
  // brokers, with the leaders spread evenly (partition p led by broker
  // p % N + 1), as a Kafka cluster balances them. The mock itself picks each
  // leader at random, so that one broker may lead most of a topic: then its
  // producer thread sends for several partitions in turn, and benchmark runs
  // differ by chance. Internal if the mock refuses.
  Status CreateTopic(const std::string& name, int partitions);

  const std::string& bootstraps() const { return bootstraps_; }
  rd_kafka_mock_cluster_t* cluster() const { return cluster_; }

 private:
  MockCluster() = default;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  int brokers_ = 0;
  std::string bootstraps_;
};

}  // namespace pgoutbox::kafka
