#include "tools/faults/fault_collector.h"

#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <map>
#include <memory>

#include "tools/bench/latency_consumer.h"

namespace pgoutbox::faults {

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// Field text without tabs or newlines, so a line stays one record.
std::string Clean(const void* data, size_t len) {
  std::string s(static_cast<const char*>(data), data ? len : 0);
  for (char& c : s) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return s.empty() ? "-" : s;
}

}  // namespace

Result<CollectResult> Collect(const CollectOptions& options, const std::function<void()>& ready,
                              const std::function<bool()>& stop) {
  std::unique_ptr<std::FILE, FileCloser> out(std::fopen(options.out.c_str(), "w"));
  if (!out) return Status::Internal("cannot write " + options.out);
  std::vector<std::pair<std::string, int>> partitions;
  ASSIGN_OR_RETURN(bench::ConsumerPtr rk,
                   bench::StartConsumer(options.brokers, options.topics,
                                        {{"group.id", "pgoutbox-faults-collect"},
                                         {"fetch.wait.max.ms", "50"},
                                         {"reconnect.backoff.max.ms", "1000"}},
                                        &partitions));
  CollectResult result;
  for (const auto& tp : partitions) result.partitions += tp.second;
  ready();

  // Next offset to read, per partition.
  std::map<std::pair<std::string, int32_t>, int64_t> next;
  for (const auto& [topic, count] : partitions) {
    for (int32_t p = 0; p < count; ++p) next[{topic, p}] = 0;
  }
  auto last_flush = Clock::now();
  auto read_one = [&](int timeout_ms) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), timeout_ms);
    if (m == nullptr) return;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++result.consumer_errors;
      rd_kafka_message_destroy(m);
      return;
    }
    const char* topic = rd_kafka_topic_name(m->rkt);
    const void* id = nullptr;
    const void* table = nullptr;
    size_t id_len = 0, table_len = 0;
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_header_get_last(headers, "id", &id, &id_len);
      rd_kafka_header_get_last(headers, "table", &table, &table_len);
    }
    const int64_t seq = bench::ExtractIntegerField(
        std::string_view(static_cast<const char*>(m->payload), m->payload ? m->len : 0), "seq");
    std::fprintf(
        out.get(), "%lld\t%s\t%d\t%lld\t%s\t%s\t%lld\t%s\n", static_cast<long long>(NowMillis()),
        topic, m->partition, static_cast<long long>(m->offset), Clean(m->key, m->key_len).c_str(),
        Clean(id, id_len).c_str(), static_cast<long long>(seq), Clean(table, table_len).c_str());
    ++result.records;
    int64_t& n = next[{topic, m->partition}];
    n = std::max(n, m->offset + 1);
    rd_kafka_message_destroy(m);
    if (Clock::now() - last_flush >= std::chrono::seconds(1)) {
      std::fflush(out.get());
      last_flush = Clock::now();
    }
  };

  while (!stop()) read_one(100);

  // Drain: every partition up to the high watermark the brokers report now.
  const auto deadline = Clock::now() + options.drain_timeout;
  std::map<std::pair<std::string, int32_t>, int64_t> high;
  for (const auto& [tp, unused] : next) {
    for (;;) {
      int64_t lo = 0, hi = 0;
      rd_kafka_resp_err_t err =
          rd_kafka_query_watermark_offsets(rk.get(), tp.first.c_str(), tp.second, &lo, &hi, 5000);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        high[tp] = hi;
        break;
      }
      if (Clock::now() >= deadline) {
        std::fflush(out.get());
        return Status::Unavailable("watermarks of " + tp.first + "/" + std::to_string(tp.second) +
                                   ": " + rd_kafka_err2str(err));
      }
      read_one(100);
    }
  }
  auto caught_up = [&] {
    for (const auto& [tp, hi] : high) {
      if (next[tp] < hi) return false;
    }
    return true;
  };
  while (!caught_up() && Clock::now() < deadline) read_one(100);
  result.drained = caught_up();
  std::fflush(out.get());
  return result;
}

}  // namespace pgoutbox::faults
