#include "bench/latency_consumer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cmath>
#include <memory>

namespace pgoutbox::bench {

namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
};

}  // namespace

int64_t ExtractTimestampMicros(std::string_view json) {
  size_t at = json.find("\"ts\"");
  if (at == std::string_view::npos) return -1;
  at += 4;
  while (at < json.size() && (json[at] == ' ' || json[at] == ':')) ++at;
  int64_t v = 0;
  size_t digits = 0;
  while (at < json.size() && json[at] >= '0' && json[at] <= '9' && digits < 18) {
    v = v * 10 + (json[at] - '0');
    ++at;
    ++digits;
  }
  return digits == 0 ? -1 : v;
}

double Percentile(std::vector<double>* values, double p) {
  if (values->empty()) return 0;
  std::sort(values->begin(), values->end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values->size())));
  rank = std::clamp<size_t>(rank, 1, values->size());
  return (*values)[rank - 1];
}

Result<ConsumeResult> Consume(const ConsumeOptions& options, const std::function<void()>& ready) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const char* k, const std::string& v) -> Status {
    if (rd_kafka_conf_set(conf, k, v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      return Status::InvalidArgument(std::string(k) + ": " + errstr);
    }
    return Status::Ok();
  };
  for (auto [k, v] : {std::pair<const char*, std::string>{"bootstrap.servers", options.brokers},
                      {"group.id", "pgoutbox-bench"},
                      {"enable.auto.commit", "false"},
                      {"enable.partition.eof", "false"},
                      {"fetch.wait.max.ms", std::to_string(options.fetch_wait_ms)},
                      {"fetch.min.bytes", "1"},
                      {"log_level", "3"}}) {
    if (Status st = set(k, v); !st.ok()) {
      rd_kafka_conf_destroy(conf);
      return st;
    }
  }
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (raw == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("consumer: ") + errstr);
  }
  std::unique_ptr<rd_kafka_t, RdKafkaDeleter> rk(raw);
  rd_kafka_poll_set_consumer(rk.get());

  // Every partition of the topic, from the beginning.
  const struct rd_kafka_metadata* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), options.topic.c_str(), nullptr);
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk.get(), 0, rkt, &md, 10000);
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("metadata for " + options.topic + ": " + rd_kafka_err2str(err));
  }
  int partitions = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR
                       ? md->topics[0].partition_cnt
                       : 0;
  rd_kafka_metadata_destroy(md);
  if (partitions == 0) return Status::NotFound("topic " + options.topic + " has no partitions");
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, options.topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  err = rd_kafka_assign(rk.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Internal(std::string("assign: ") + rd_kafka_err2str(err));
  }
  ready();

  using Clock = std::chrono::steady_clock;
  ConsumeResult result;
  const auto started = Clock::now();
  Clock::time_point first{}, last{};
  for (;;) {
    const auto now = Clock::now();
    if (now - started >= options.timeout) break;
    if (result.records > 0 && now - last >= options.idle) break;
    if (options.expect > 0 && result.records >= options.expect) break;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
    if (m == nullptr) continue;
    const int64_t arrived = NowMicros();
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_message_destroy(m);
      continue;  // transient (the mock reports none we must act on)
    }
    last = Clock::now();
    if (result.records++ == 0) first = last;
    int64_t ts = ExtractTimestampMicros(
        std::string_view(static_cast<const char*>(m->payload), m->payload ? m->len : 0));
    rd_kafka_message_destroy(m);
    if (ts < 0) {
      ++result.missing_ts;
      continue;
    }
    if (last - first < options.skip) continue;
    result.latencies_ms.push_back(static_cast<double>(arrived - ts) / 1000.0);
  }
  return result;
}

}  // namespace pgoutbox::bench
