// RateProducer: the latency floor. Produces outbox-like records straight to
// Kafka at a fixed rate with pgoutbox's own Publisher (same librdkafka
// settings: idempotent, acks=all, linger.ms=5; -X changes them), each value
// carrying "ts", the epoch microseconds when it was produced, so
// LatencyConsumer measures what the broker and the consumer alone cost.
//
// Thread safety: one thread. Failure: non-OK status if the producer cannot
// be built or a record fails.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace pgoutbox::bench {

struct ProduceOptions {
  std::string brokers;
  std::string topic;
  double rate = 1000;  // records per second
  std::chrono::milliseconds duration{10000};
  // Extra librdkafka properties after pgoutbox's defaults (-X key=value).
  std::vector<std::pair<std::string, std::string>> config;
};

struct ProduceResult {
  uint64_t produced = 0;  // acknowledged by the broker
  double seconds = 0;
};

Result<ProduceResult> ProduceAtRate(const ProduceOptions& options);

}  // namespace pgoutbox::bench
