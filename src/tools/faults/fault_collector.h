// FaultCollector: the fault suite's independent consumer (`pgoutbox-bench
// collect`). Its own librdkafka consumer, sharing no code path with pgoutbox:
// it reads every partition of the given topics from the beginning for the
// whole run and writes one tab-separated line per record:
//
//   arrival_ms  topic  partition  offset  key  id  seq  table
//
// (arrival in Unix milliseconds; id and table from the "id" and "table"
// headers, key, id and table "-" if absent or empty; seq from the payload,
// -1 if absent), the input of FaultCheck. It keeps reading through
// broker outages. When asked to stop it drains: it asks the brokers for each
// partition's high watermark and reads up to it, so the file ends with
// everything the brokers hold.
//
// The mock cluster keeps only the newest 5 MiB of a partition: reading while
// the run writes is what keeps every record in view (FaultCheck reports
// offsets that were never read).
//
// Thread safety: one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgoutbox::faults {

struct CollectOptions {
  std::string brokers;
  std::vector<std::string> topics;
  std::string out;  // the records file (truncated)
  std::chrono::milliseconds drain_timeout{120000};
};

struct CollectResult {
  uint64_t records = 0;
  uint64_t consumer_errors = 0;  // error events from librdkafka (e.g. brokers down)
  int partitions = 0;
  bool drained = false;  // reached every high watermark before drain_timeout
};

// Calls `ready` once every partition is assigned, reads until `stop()`
// returns true, then drains.
Result<CollectResult> Collect(const CollectOptions& options, const std::function<void()>& ready,
                              const std::function<bool()>& stop);

}  // namespace pgoutbox::faults
