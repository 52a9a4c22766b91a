#include "tools/bench/latency_consumer.h"

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

}  // namespace

void ConsumerDeleter::operator()(rd_kafka_t* rk) const {
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

int64_t ExtractIntegerField(std::string_view json, std::string_view field) {
  const std::string quoted = "\"" + std::string(field) + "\"";
  size_t at = json.find(quoted);
  if (at == std::string_view::npos) return -1;
  at += quoted.size();
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

Result<ConsumerPtr> StartConsumer(const std::string& brokers,
                                  const std::vector<std::string>& topics,
                                  const std::vector<std::pair<std::string, std::string>>& config,
                                  std::vector<std::pair<std::string, int>>* partitions) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> all = {
      {"bootstrap.servers", brokers},    {"group.id", "pgoutbox-bench"},
      {"enable.auto.commit", "false"},   {"enable.partition.eof", "false"},
      {"auto.offset.reset", "earliest"}, {"log_level", "3"}};
  all.insert(all.end(), config.begin(), config.end());
  for (const auto& [k, v] : all) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::InvalidArgument(k + ": " + errstr);
    }
  }
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (raw == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("consumer: ") + errstr);
  }
  ConsumerPtr rk(raw);
  rd_kafka_poll_set_consumer(rk.get());

  // Every partition of each topic, from the beginning.
  std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)> list(
      rd_kafka_topic_partition_list_new(8), rd_kafka_topic_partition_list_destroy);
  for (const std::string& topic : topics) {
    const struct rd_kafka_metadata* md = nullptr;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk.get(), 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("metadata for " + topic + ": " + rd_kafka_err2str(err));
    }
    int count = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR
                    ? md->topics[0].partition_cnt
                    : 0;
    rd_kafka_metadata_destroy(md);
    if (count == 0) return Status::NotFound("topic " + topic + " has no partitions");
    for (int p = 0; p < count; ++p) {
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    }
    if (partitions != nullptr) partitions->emplace_back(topic, count);
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(rk.get(), list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Internal(std::string("assign: ") + rd_kafka_err2str(err));
  }
  return rk;
}

Result<ConsumeResult> Consume(const ConsumeOptions& options, const std::function<void()>& ready) {
  ASSIGN_OR_RETURN(ConsumerPtr rk,
                   StartConsumer(options.brokers, {options.topic},
                                 {{"fetch.wait.max.ms", std::to_string(options.fetch_wait_ms)},
                                  {"fetch.min.bytes", "1"}}));
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
