// KafkaConnection: the Kafka side of `run` and `replay`. Connect() starts
// librdkafka's mock cluster in the process for `--brokers mock:N` (and logs
// its address), builds the publisher with the -X properties, and waits up to
// `timeout` for the brokers to answer.
//
// Ownership: owns the mock cluster (if any) and the publisher; the publisher
// goes first. Failure: what Publisher::Create and CheckReachable return
// (Cancelled when a stop signal ended the wait).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "kafka/mock_cluster.h"
#include "kafka/publisher.h"

namespace pgoutbox::app {

struct KafkaConnection {
  std::unique_ptr<kafka::MockCluster> mock;  // declared first: outlives the publisher
  std::unique_ptr<kafka::Publisher> publisher;

  // `handler` may be null and set later (EventSink::set_delivery_handler).
  static Result<KafkaConnection> Connect(
      const std::string& brokers, const std::vector<std::pair<std::string, std::string>>& config,
      std::chrono::milliseconds timeout, const std::atomic<int>* stop_requests,
      kafka::DeliveryHandler* handler = nullptr);
};

}  // namespace pgoutbox::app
