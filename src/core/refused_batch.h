// RefusedBatch: the records of batches Kafka refused, produced again one at
// a time, so that only a record refused on its own counts as a bad row.
//
// A refusal in a delivery report (kafka::RecordRefusal: MSG_SIZE_TOO_LARGE,
// RECORD_LIST_TOO_LARGE, INVALID_RECORD, INVALID_TIMESTAMP, ...) is the
// broker's answer to a whole record batch: librdkafka fails every record of
// the batch with it, the good ones of other keys included. Taking each for a
// bad row would, under --on-bad-row skip, acknowledge events that were never
// stored, and under dlq send good events to the dead-letter topic without
// their payload. So the streamer keeps each refused record here (a copy:
// the report's memory is librdkafka's) and, once nothing else is in flight,
// produces the oldest one alone and waits for its report before the next:
// delivered, it is acknowledged like any event; refused again, alone, it is
// a bad row for the policy to handle.
//
// Order: a record delivered on its retry comes after whatever of its
// partition was delivered meanwhile, so an event of a refused batch can
// arrive after later events of its key (the price of not halting).
//
// Memory: one copy per refused record, until it is delivered or judged.
// Thread safety: none; the streaming thread owns it.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "kafka/event_sink.h"
#include "outbox/event.h"

namespace pgoutbox::core {

class RefusedBatch {
 public:
  // A record refused in a delivery report, with its tag and the reason.
  void Add(uint64_t opaque, const kafka::RefusedRecord& record, const Status& reason);

  bool empty() const { return records_.empty(); }
  size_t size() const { return records_.size(); }
  // Whether the oldest record was produced alone and its report is awaited.
  bool retrying() const { return retrying_; }

  // The oldest record, to produce alone (views valid until Pop()).
  outbox::Event event() const;
  int64_t timestamp_ms() const { return records_.front().timestamp_ms; }
  uint64_t opaque() const { return records_.front().opaque; }
  // It, as the report of a refusal alone describes it (views valid until
  // Pop()), and the reason of the batch refusal it came with.
  kafka::RefusedRecord refused() const;
  const Status& batch_reason() const { return records_.front().reason; }

  // The oldest record was produced alone; its report is awaited.
  void Produced() { retrying_ = true; }
  // Its report came (delivered, refused alone, or failed): the next one.
  void Pop();

 private:
  struct Record {
    uint64_t opaque = 0;
    std::string id, topic, key, payload;
    bool key_is_null = false, payload_is_null = false;
    int64_t timestamp_ms = 0;
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
    kafka::RecordRefusal refusal = kafka::RecordRefusal::kRejected;
    Status reason;
  };
  std::deque<Record> records_;
  bool retrying_ = false;
};

}  // namespace pgoutbox::core
