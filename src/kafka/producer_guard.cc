#include "kafka/producer_guard.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace pgoutbox::kafka {

namespace {

// The effective value of `key`, or `unset` when librdkafka has none (a
// topic-level property before any was set, or a string property left empty).
std::string Get(const rd_kafka_conf_t* conf, const char* key, std::string_view unset) {
  char value[512];
  size_t size = sizeof value;
  if (rd_kafka_conf_get(conf, key, value, &size) != RD_KAFKA_CONF_OK) return std::string(unset);
  return value;
}

// An integer property's value; `fallback` if it does not parse (librdkafka
// stores integers, so it always does).
int64_t GetInt(const rd_kafka_conf_t* conf, const char* key, int64_t fallback) {
  const std::string text = Get(conf, key, "");
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return fallback;
  return value;
}

Status Refuse(std::string_view key, std::string_view value, std::string_view why) {
  return Status::InvalidArgument("-X " + std::string(key) + "=" + std::string(value) +
                                 " is refused: " + std::string(why));
}

bool KeepsKeyOnOnePartition(std::string_view partitioner) {
  return partitioner == "murmur2_random" || partitioner == "murmur2" ||
         partitioner == "consistent" || partitioner == "fnv1a" || partitioner == "fnv1a_random";
}

}  // namespace

Status CheckProducerGuarantees(const rd_kafka_conf_t* conf) {
  if (const std::string v = Get(conf, "enable.idempotence", "false"); v != "true") {
    return Refuse("enable.idempotence", v,
                  "without the idempotent producer a retried batch can be stored twice or after a "
                  "later one, and events of one aggregate lose their order");
  }
  if (const std::string v = Get(conf, "acks", "-1"); v != "-1") {
    return Refuse("acks", v,
                  "only acks=all (-1) makes an acknowledged record survive the loss of its "
                  "leader; pgoutbox confirms the slot past what was acknowledged");
  }
  if (const std::string v = Get(conf, "partitioner", "consistent_random");
      !KeepsKeyOnOnePartition(v)) {
    return Refuse("partitioner", v,
                  "it does not keep every key (the empty one included) on one partition, so "
                  "events of one aggregate lose their order; use murmur2_random (the default), "
                  "murmur2, consistent, fnv1a or fnv1a_random");
  }
  if (const std::string v = Get(conf, "delivery.report.only.error", "false"); v != "false") {
    return Refuse("delivery.report.only.error", v,
                  "pgoutbox confirms the slot only on a report of success, so nothing would ever "
                  "be confirmed and the server would keep its WAL for ever");
  }
  if (const int64_t v = GetInt(conf, "max.in.flight.requests.per.connection", 0); v > 5) {
    return Refuse("max.in.flight.requests.per.connection", std::to_string(v),
                  "the broker deduplicates and orders only the last 5 batches of an idempotent "
                  "producer per partition; at most 5");
  }
  if (const int64_t v = GetInt(conf, "retries", 1); v < 1) {
    return Refuse("retries", std::to_string(v),
                  "the idempotent producer needs retries to carry a batch through a transient "
                  "broker error in order; at least 1");
  }
  if (const std::string v = Get(conf, "queuing.strategy", "fifo"); v != "fifo") {
    return Refuse("queuing.strategy", v, "only fifo sends the events in the order they commit");
  }
  if (const std::string v = Get(conf, "transactional.id", ""); !v.empty()) {
    return Refuse("transactional.id", v,
                  "pgoutbox runs no Kafka transactions and a transactional producer produces "
                  "nothing outside one; the idempotent producer with the id header to deduplicate "
                  "on is what pgoutbox offers");
  }
  const int64_t queue_kbytes = GetInt(conf, "queue.buffering.max.kbytes", 0);
  const int64_t message_max = GetInt(conf, "message.max.bytes", 0);
  if (queue_kbytes * 1024 < message_max) {
    return Refuse("queue.buffering.max.kbytes", std::to_string(queue_kbytes),
                  "the local queue (" + std::to_string(queue_kbytes * 1024) +
                      " bytes) is smaller than message.max.bytes=" + std::to_string(message_max) +
                      ": a record larger than the queue is never taken and the stream waits for "
                      "ever; raise it to at least " +
                      std::to_string((message_max + 1023) / 1024));
  }
  return Status::Ok();
}

}  // namespace pgoutbox::kafka
