#include "kafka/state_topic.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string_view>

namespace pgoutbox::kafka {

namespace {

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};
using ConsumerPtr = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};

void LogCallback(const rd_kafka_t*, int, const char* fac, const char* buf) {
  // Connection failures reach the caller as Unavailable; producer-only -X
  // properties are reported as ignored by a consumer: all of it at debug.
  spdlog::debug("kafka state reader: {}: {}", fac, buf);
}

Result<ConsumerPtr> MakeConsumer(const PublisherOptions& options) {
  std::unique_ptr<rd_kafka_conf_t, ConfDeleter> conf(rd_kafka_conf_new());
  char errstr[512];
  auto set = [&](const std::string& k, const std::string& v, bool user) -> Status {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      return Status::InvalidArgument(user ? "-X " + k + ": " + errstr : k + ": " + errstr);
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(set("bootstrap.servers", options.brokers, false));
  for (const auto& [k, v] : options.config) RETURN_IF_ERROR(set(k, v, true));
  // Settings of this reader that the user's properties do not change.
  RETURN_IF_ERROR(set("group.id", "pgoutbox-state-reader", false));
  RETURN_IF_ERROR(set("enable.auto.commit", "false", false));
  RETURN_IF_ERROR(set("enable.auto.offset.store", "false", false));
  RETURN_IF_ERROR(set("enable.partition.eof", "true", false));
  RETURN_IF_ERROR(set("allow.auto.create.topics", "false", false));
  rd_kafka_conf_set_log_cb(conf.get(), &LogCallback);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) {
    return Status::InvalidArgument(std::string("cannot create the Kafka state reader: ") + errstr);
  }
  conf.release();  // rd_kafka_new took it
  return ConsumerPtr(rk);
}

int TimeLeft(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

}  // namespace

Result<std::optional<StateRecord>> ReadLatestState(const StateTopicOptions& options,
                                                   std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  ASSIGN_OR_RETURN(ConsumerPtr consumer, MakeConsumer(options.kafka));
  rd_kafka_t* rk = consumer.get();
  const std::string where = "Kafka topic " + options.topic;

  // The topic's partitions; a topic that does not exist holds no state.
  std::unique_ptr<rd_kafka_topic_t, TopicDeleter> rkt(
      rd_kafka_topic_new(rk, options.topic.c_str(), nullptr));
  const rd_kafka_metadata_t* raw = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt.get(), &raw, TimeLeft(deadline));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("cannot read the metadata of " + where + ": " +
                               rd_kafka_err2str(err));
  }
  std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter> metadata(raw);
  if (metadata->topic_cnt != 1) {
    return Status::Internal("metadata of " + where + " names " +
                            std::to_string(metadata->topic_cnt) + " topics");
  }
  const rd_kafka_metadata_topic_t& topic = metadata->topics[0];
  if (topic.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) return std::optional<StateRecord>();
  if (topic.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("cannot read " + where + ": " + rd_kafka_err2str(topic.err));
  }

  // From the end of every partition, `window` records back.
  std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter> assignment(
      rd_kafka_topic_partition_list_new(topic.partition_cnt));
  std::map<int32_t, int64_t> ends;  // partition -> high watermark, while not reached
  for (int i = 0; i < topic.partition_cnt; ++i) {
    const int32_t partition = topic.partitions[i].id;
    int64_t low = 0, high = 0;
    err = rd_kafka_query_watermark_offsets(rk, options.topic.c_str(), partition, &low, &high,
                                           TimeLeft(deadline));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("cannot read the offsets of " + where + " partition " +
                                 std::to_string(partition) + ": " + rd_kafka_err2str(err));
    }
    if (high <= low) continue;
    rd_kafka_topic_partition_list_add(assignment.get(), options.topic.c_str(), partition)->offset =
        std::max(low, high - options.window);
    ends[partition] = high;
  }
  if (ends.empty()) return std::optional<StateRecord>();
  err = rd_kafka_assign(rk, assignment.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Internal("cannot assign " + where + ": " + rd_kafka_err2str(err));
  }

  std::optional<StateRecord> latest;
  while (!ends.empty()) {
    const int left = TimeLeft(deadline);
    if (left == 0) {
      return Status::Unavailable("timed out reading " + where + " (" + std::to_string(ends.size()) +
                                 " partition(s) not read to the end)");
    }
    std::unique_ptr<rd_kafka_message_t, MessageDeleter> msg(
        rd_kafka_consumer_poll(rk, std::min(left, 100)));
    if (!msg) continue;
    const int32_t partition = msg->partition;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ends.erase(partition);
      continue;
    }
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::debug("reading {}: {}", where, rd_kafka_message_errstr(msg.get()));
      continue;
    }
    const std::string_view key(static_cast<const char*>(msg->key), msg->key_len);
    if (msg->key != nullptr && key == options.key) {
      const int64_t timestamp = rd_kafka_message_timestamp(msg.get(), nullptr);
      if (!latest || timestamp >= latest->timestamp_ms) {
        latest = StateRecord{
            std::string(static_cast<const char*>(msg->payload), msg->payload ? msg->len : 0),
            timestamp, partition, msg->offset};
      }
    }
    auto end = ends.find(partition);
    if (end != ends.end() && msg->offset + 1 >= end->second) ends.erase(end);
  }
  return latest;
}

}  // namespace pgoutbox::kafka
