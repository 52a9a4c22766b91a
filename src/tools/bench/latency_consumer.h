// LatencyConsumer: an independent Kafka consumer that measures how long each
// record took from its creation to its arrival here.
//
// Every record's value is JSON with a "ts" field: epoch microseconds when it
// was made (the outbox insert's clock_timestamp(), or the floor producer's
// clock). The consumer assigns every partition of the topic from the
// beginning (no group), polls one record at a time (batch consumption would
// add its own wait) and keeps arrival - ts per record.
//
// Thread safety: one thread. Failure: non-OK status with librdkafka's reason.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace pgoutbox::bench {

struct ConsumerDeleter {
  void operator()(rd_kafka_t* rk) const;  // closes, then destroys
};
using ConsumerPtr = std::unique_ptr<rd_kafka_t, ConsumerDeleter>;

// A consumer with no group commits, assigned every partition of each of
// `topics` from the beginning; `config` is applied after the defaults.
// Stores the (topic, partition count) pairs in `partitions` if not null.
// Fails if a topic has no partitions or a property is rejected.
Result<ConsumerPtr> StartConsumer(const std::string& brokers,
                                  const std::vector<std::string>& topics,
                                  const std::vector<std::pair<std::string, std::string>>& config,
                                  std::vector<std::pair<std::string, int>>* partitions = nullptr);

struct ConsumeOptions {
  std::string brokers;
  std::string topic;
  uint64_t expect = 0;                       // stop after this many records (0: no limit)
  std::chrono::milliseconds timeout{60000};  // stop after this long in total
  std::chrono::milliseconds idle{3000};      // stop this long after the last record
  std::chrono::milliseconds skip{0};         // drop samples this soon after the first record
  // fetch.wait.max.ms: the broker holds an empty fetch this long. The mock
  // cluster answers a fetch with one batch per partition, so a short wait is
  // what lets the consumer keep up with many small batches.
  int fetch_wait_ms = 1;
};

struct ConsumeResult {
  uint64_t records = 0;              // every record received
  uint64_t missing_ts = 0;           // records without a usable "ts"
  std::vector<double> latencies_ms;  // kept samples, unsorted
};

// Calls `ready` once every partition is assigned, then consumes.
Result<ConsumeResult> Consume(const ConsumeOptions& options, const std::function<void()>& ready);

// The value of the top-level field `field` of a JSON object when it is a
// non-negative integer; -1 if absent or not such a number. A light scan for
// the payloads this tool writes, not a JSON parser.
int64_t ExtractIntegerField(std::string_view json, std::string_view field);

// The "ts" field of a JSON object as an integer; -1 if absent or malformed.
inline int64_t ExtractTimestampMicros(std::string_view json) {
  return ExtractIntegerField(json, "ts");
}

// Nearest-rank percentile (0 < p <= 100) of `values`, which it sorts; 0 if
// empty.
double Percentile(std::vector<double>* values, double p);

}  // namespace pgoutbox::bench
