// Publisher: the librdkafka idempotent producer that carries events to Kafka.
//
// Every event is produced with its aggregate id as key, its headers, the
// transaction's commit time as timestamp and an opaque 64-bit tag (the
// AckTracker transaction it belongs to). Delivery reports are handed to a
// DeliveryHandler, on the thread that calls Poll(), Send() or Flush(), never
// from a librdkafka thread. It is the streaming loop's kafka::EventSink.
//
// The event id a delivery report names (in failures, dead-letter records
// and logs) is read back from the record: its *first* "id" header, never a
// later one. Every event given to Produce() must carry Event::id as its
// first "id" header; outbox::EventMapper and core::DeadLetter do, and the
// mapper drops a headers column's own "id" field, so a record has one.
//
// Defaults (user -X settings override them): enable.idempotence=true,
// acks=all, partitioner=murmur2_random (same partition as the Java client),
// max.in.flight.requests.per.connection=5, message.timeout.ms=0 (retry for
// ever through broker outages, the stream is paused by backpressure instead),
// linger.ms=5 with Send() cutting batches (see there), a bounded local queue
// so memory stays bounded.
//
// Settings that would break the delivery guarantee (enable.idempotence=false,
// acks=1, ...) are refused by Create() and ValidateConfig(): see
// kafka/producer_guard.h.
//
// Ownership: owns the rd_kafka_t and its topic handles; destroying it without
// Flush() drops whatever was not yet delivered (the slot is not confirmed past
// it, so it is sent again on restart).
// Thread safety: one thread (the streaming thread) for all calls.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"
#include "kafka/event_sink.h"
#include "kafka/record_refusal.h"
#include "outbox/event.h"

namespace pgoutbox::kafka {

struct PublisherOptions {
  std::string brokers;
  // librdkafka properties, applied in order after the defaults (-X key=value).
  std::vector<std::pair<std::string, std::string>> config;
};

// Parses "key=value" (the -X flag). InvalidArgument on a missing '=' or key.
Result<std::pair<std::string, std::string>> ParseConfigEntry(const std::string& entry);

// Checks the producer configuration (defaults, brokers, -X properties)
// without connecting anywhere. InvalidArgument with librdkafka's message, or
// with the guard's line for a setting that breaks the delivery guarantee
// (kafka/producer_guard.h).
Status ValidateConfig(const PublisherOptions& options);

// Whether librdkafka knows `key` as a global property (a mistyped key may
// hold a secret: callers redact the values of unknown keys).
bool IsKnownProperty(const std::string& key);

class Publisher : public EventSink {
 public:
  // Builds the producer. InvalidArgument for an unknown or invalid property
  // (librdkafka's message is included). `handler` (may be null, then given
  // later with set_delivery_handler) must outlive the Publisher or be
  // replaced before it goes away.
  static Result<std::unique_ptr<Publisher>> Create(const PublisherOptions& options,
                                                   DeliveryHandler* handler = nullptr);
  ~Publisher() override;
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Asks the cluster for metadata to prove the brokers can be reached.
  // Unavailable with librdkafka's reason if not within `timeout`; Cancelled
  // as soon as `*stop_requests` (if given; a signal counter) is above zero,
  // so a stop signal is never ignored while waiting for brokers.
  Status CheckReachable(std::chrono::milliseconds timeout,
                        const std::atomic<int>* stop_requests = nullptr);

  // EventSink. Produce: kRefused carries RecordRefusal and librdkafka's
  // reason; a fatal producer error is non-OK (and fatal_error() from then on).
  void set_delivery_handler(DeliveryHandler* handler) override { handler_ = handler; }
  Result<ProduceResult> Produce(const outbox::Event& event, int64_t timestamp_ms,
                                uint64_t opaque) override;
  // Serves delivery reports and errors; waits up to `timeout_ms` for one.
  void Poll(int timeout_ms) override;
  // Sends every event produced so far now, as one batch per partition,
  // instead of after linger.ms: call it when there is nothing more to
  // produce for the moment. This is how batches form from what is waiting,
  // without a timer. Blocks up to 1 ms (for the acks, which it serves; a
  // batch can still wait up to linger.ms when a broker thread wakes later
  // than that); does nothing if nothing was produced since the last call.
  void Send() override;
  // Waits until every queued event is delivered or failed, or `timeout`
  // passes; serves delivery reports. Returns how many are still undelivered.
  int Flush(std::chrono::milliseconds timeout) override;

  // A file descriptor that becomes readable when delivery reports or errors
  // wait to be served (poll() it beside the replication socket; Poll()
  // drains it).
  int wakeup_fd() const override { return wake_read_fd_; }

  // Non-OK once the producer hit a fatal error (e.g. the idempotent producer
  // lost its guarantees); the instance must then be destroyed.
  Status fatal_error() const override { return fatal_; }

  // Events queued locally or in flight.
  int outq_len() const override;

 private:
  Publisher() = default;
  static void DeliveryReport(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque);
  static void ErrorCallback(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static void LogCallback(const rd_kafka_t* rk, int level, const char* fac, const char* buf);
  rd_kafka_topic_t* Topic(std::string_view name);
  void DrainWakeup();

  struct RdKafkaDeleter {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  };
  struct TopicDeleter {
    void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
  };

  DeliveryHandler* handler_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<rd_kafka_topic_t, TopicDeleter>> topics_;
  std::string topic_scratch_;
  uint64_t unsent_ = 0;  // produced since the last Send() or Flush()
  Status fatal_;
  int wake_read_fd_ = -1;
  int wake_write_fd_ = -1;
  std::string brokers_;
  std::chrono::steady_clock::time_point last_error_log_{};
  std::unique_ptr<rd_kafka_t, RdKafkaDeleter> rk_;
};

}  // namespace pgoutbox::kafka
