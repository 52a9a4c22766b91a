// EventSink: where the streaming loop hands its records, and where their
// delivery reports come from. kafka::Publisher is the real one (librdkafka);
// tests put a fake in its place to drive the loop without a cluster.
//
// The contract is librdkafka's producer loop (examples/producer.cpp):
// Produce() never blocks, a full local queue is backpressure (poll and try
// again), Poll() serves delivery reports, Flush() waits for what is in
// flight, fatal_error() ends the instance.
//
// Ownership: a sink borrows its DeliveryHandler, which must outlive it or be
// replaced (set_delivery_handler(nullptr)) before it goes away.
// Thread safety: one thread for every call; delivery reports are handed to
// the handler on that thread, from Poll(), Send() or Flush(), never from
// another thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "kafka/record_refusal.h"
#include "outbox/event.h"

namespace pgoutbox::kafka {

// A record the broker refused for good because of the record itself (see
// RecordRefusal), as its delivery report describes it. Views valid only
// during the OnRefused call.
//
// A refusal in a delivery report is the broker's answer to a whole batch:
// every record of the batch gets it, whichever one was at fault. The payload
// and timestamp are there so that the handler can produce each record again
// on its own (core/refused_batch.h).
struct RefusedRecord {
  std::string_view event_id;  // the Event::id it was produced with
  std::string_view topic;
  std::string_view key;
  bool key_is_null = false;
  size_t payload_size = 0;
  std::string_view payload;
  bool payload_is_null = false;
  int64_t timestamp_ms = 0;  // as produced (0: the producer's clock)
  std::vector<outbox::EventHeader> headers;
  RecordRefusal refusal = RecordRefusal::kRejected;
};

class DeliveryHandler {
 public:
  virtual ~DeliveryHandler() = default;
  // The broker acknowledged the event tagged `opaque`, produced to `topic`,
  // `in_producer` after it was produced (the producer's queue, the request
  // and the broker's answer; negative when unknown).
  virtual void OnDelivered(uint64_t opaque, std::string_view topic,
                           std::chrono::microseconds in_producer) = 0;
  // The event failed for good (`event_id`: the Event::id it was produced
  // with, whatever other headers the record holds).
  virtual void OnFailed(uint64_t opaque, std::string_view event_id, const Status& reason) = 0;
  // The event tagged `opaque` failed for good because of the record itself
  // (RecordRefusal). By default the same as OnFailed.
  virtual void OnRefused(uint64_t opaque, const RefusedRecord& record, const Status& reason) {
    OnFailed(opaque, record.event_id, reason);
  }
  // No broker can be reached right now; the sink keeps retrying.
  virtual void OnBrokersDown() {}
};

enum class ProduceOutcome {
  kQueued,     // taken; its delivery report comes later
  kQueueFull,  // the local queue is full: Poll() and try again (backpressure, not failure)
  kRefused,    // this record can never be produced (e.g. larger than message.max.bytes)
};

// What Produce() did with one record.
struct ProduceResult {
  ProduceOutcome outcome = ProduceOutcome::kQueued;
  // kRefused only: why, and the whole reason for a log line (names the topic
  // and the payload size).
  RecordRefusal refusal = RecordRefusal::kRejected;
  std::string message;
};

class EventSink {
 public:
  virtual ~EventSink() = default;

  // Where delivery reports go from now on (null: nowhere; a report that
  // arrives then is dropped, and its event is sent again after a restart
  // since it is never confirmed).
  virtual void set_delivery_handler(DeliveryHandler* handler) = 0;

  // Enqueues one record tagged `opaque` (handed back in its delivery
  // report, which names the event by event.id: a sink that reads it back
  // from the record takes the first "id" header, so that header must hold
  // event.id, as EventMapper's and DeadLetter's do). The event's views need
  // to stay valid only during the call. A non-OK result is a permanent
  // error that is not about this record (e.g. a fatal producer error): the
  // stream must stop.
  virtual Result<ProduceResult> Produce(const outbox::Event& event, int64_t timestamp_ms,
                                        uint64_t opaque) = 0;

  // Serves delivery reports and errors; waits up to `timeout_ms` for one.
  virtual void Poll(int timeout_ms) = 0;
  // Sends what was produced so far now, instead of waiting for more to
  // batch with: call it when there is nothing more to produce for the
  // moment. May serve delivery reports.
  virtual void Send() = 0;
  // Waits until every queued record is delivered or failed, or `timeout`
  // passes; serves delivery reports. Returns how many are still undelivered.
  virtual int Flush(std::chrono::milliseconds timeout) = 0;

  // A file descriptor that becomes readable when delivery reports wait to
  // be served (poll() it; Poll() drains it); -1 if there is none to wait on.
  virtual int wakeup_fd() const = 0;
  // Non-OK once the sink hit an error that ends it (e.g. the idempotent
  // producer lost its guarantees).
  virtual Status fatal_error() const = 0;
  // Records queued locally or in flight.
  virtual int outq_len() const = 0;
};

}  // namespace pgoutbox::kafka
