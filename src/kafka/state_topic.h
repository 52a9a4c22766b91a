// StateTopic: reads back pgoutbox's own records in a Kafka topic, the memory
// that lives outside the database it streams from and so survives the loss
// of that database's slot, a failover to a standby, or a different server
// appearing under the same conninfo.
//
// Each deployment writes small records under one key (see
// core/delivery_state.h for what they hold and when they are written; they
// are produced by the Publisher like events). ReadLatest finds the newest
// record of a key: it reads, in every partition of the topic, the last
// `window` records (the topic is best created with cleanup.policy=compact,
// so that the newest record of every key stays; a topic of other
// deployments' records is fine too, as long as a key's last record is within
// the window of its partition) and returns the value of the record with the
// key and the newest timestamp.
//
// A topic that does not exist yet has no records (a first start): nullopt.
//
// Ownership: ReadLatest creates and destroys a consumer of its own.
// Failure: Unavailable when the brokers cannot be reached within `timeout`;
// InvalidArgument for a configuration librdkafka refuses.
// Thread safety: any thread; no shared state.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "kafka/publisher.h"

namespace pgoutbox::kafka {

struct StateRecord {
  std::string value;
  int64_t timestamp_ms = 0;
  int32_t partition = -1;
  int64_t offset = -1;
};

struct StateTopicOptions {
  PublisherOptions kafka;  // brokers and -X properties, as for the publisher
  std::string topic;
  std::string key;
  int64_t window = 10000;  // records read from the end of each partition
};

Result<std::optional<StateRecord>> ReadLatestState(const StateTopicOptions& options,
                                                   std::chrono::milliseconds timeout);

}  // namespace pgoutbox::kafka
