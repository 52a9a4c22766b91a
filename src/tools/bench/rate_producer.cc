#include "tools/bench/rate_producer.h"

#include <thread>

#include "kafka/publisher.h"

namespace pgoutbox::bench {

namespace {

class Counter : public kafka::DeliveryHandler {
 public:
  void OnDelivered(uint64_t, std::string_view, std::chrono::microseconds) override { ++delivered; }
  void OnFailed(uint64_t, std::string_view, const Status& reason) override {
    if (failure.ok()) failure = reason;
  }
  uint64_t delivered = 0;
  Status failure;
};

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<ProduceResult> ProduceAtRate(const ProduceOptions& options) {
  if (options.rate <= 0) return Status::InvalidArgument("--rate must be positive");
  Counter counter;
  kafka::PublisherOptions po;
  po.brokers = options.brokers;
  po.config = options.config;
  ASSIGN_OR_RETURN(auto publisher, kafka::Publisher::Create(po, &counter));
  RETURN_IF_ERROR(publisher->CheckReachable(std::chrono::seconds(10)));

  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::duration<double>(1.0 / options.rate);
  const auto started = Clock::now();
  std::string id, key, value;
  outbox::Event event;
  event.topic = options.topic;
  event.event_type = "OrderPlaced";
  event.aggregate_type = "order";
  uint64_t n = 0;
  for (;; ++n) {
    const auto due = started + std::chrono::duration_cast<Clock::duration>(interval * n);
    if (due - started >= options.duration) break;
    // Sleep until the record is due, serving delivery reports meanwhile.
    for (auto now = Clock::now(); now < due; now = Clock::now()) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(due - now);
      if (wait.count() > 0) {
        publisher->Poll(static_cast<int>(wait.count()));
      } else {
        publisher->Poll(0);
        std::this_thread::sleep_until(due);
      }
    }
    const uint64_t aggregate = (n * 7919) % 10000 + 1;
    id = "00000000-0000-4000-8000-" + std::to_string(100000000000ULL + n);
    key = "order-" + std::to_string(aggregate);
    // Shaped and sized like the benchmark's outbox payloads.
    value = "{\"ts\": " + std::to_string(NowMicros()) +
            ", \"note\": \"leave at the door\", \"items\": [{\"qty\": 2, \"sku\": \"SKU-1042\", "
            "\"price\": 19.99}, {\"qty\": 1, \"sku\": \"SKU-2211\", \"price\": 5.49}], \"total\": "
            "45.47, \"orderId\": " +
            std::to_string(aggregate) + ", \"currency\": \"EUR\", \"customer\": {\"id\": \"c-" +
            std::to_string(aggregate) + "\", \"tier\": \"gold\", \"email\": \"customer" +
            std::to_string(aggregate) + "@example.com\"}}";
    event.id = id;
    event.key = key;
    event.payload = value;
    event.headers = {{"id", id},
                     {"event_type", event.event_type},
                     {"aggregate_type", event.aggregate_type},
                     {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
    for (;;) {
      ASSIGN_OR_RETURN(auto outcome, publisher->Produce(event, NowMicros() / 1000, n));
      if (outcome.outcome == kafka::ProduceOutcome::kQueued) break;
      publisher->Poll(10);
    }
    publisher->Poll(0);
    if (!counter.failure.ok()) return counter.failure;
  }
  if (int left = publisher->Flush(std::chrono::seconds(30)); left > 0) {
    return Status::Aborted(std::to_string(left) + " records were not acknowledged");
  }
  if (!counter.failure.ok()) return counter.failure;
  ProduceResult result;
  result.produced = counter.delivered;
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return result;
}

}  // namespace pgoutbox::bench
