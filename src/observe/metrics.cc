#include "observe/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <utility>

#include "common/duration.h"

namespace pgoutbox::observe {

namespace {

// Escapes a label value as the text format requires: backslash, double quote
// and newline.
std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Sample values and `le` bounds. Plain decimals where they stay readable
// (0.0005, 60, 1700000000.25), the shortest round-trip form otherwise, and
// the spellings Prometheus expects for the special values.
std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return "0";  // also -0
  char buf[64];
  const double magnitude = std::fabs(v);
  std::to_chars_result r;
  if (magnitude >= 1e-6 && magnitude < 1e15) {
    r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  } else {
    r = std::to_chars(buf, buf + sizeof buf, v);
  }
  return std::string(buf, r.ptr);
}

void AppendFamily(std::string* out, std::string_view name, std::string_view type,
                  std::string_view help) {
  out->append("# HELP ").append(name).append(" ").append(help).append("\n");
  out->append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void AppendSample(std::string* out, std::string_view name, std::string_view value) {
  out->append(name).append(" ").append(value).append("\n");
}

void AppendLabelled(std::string* out, std::string_view name, std::string_view label,
                    const std::map<std::string, uint64_t, std::less<>>& samples) {
  for (const auto& [label_value, count] : samples) {
    out->append(name)
        .append("{")
        .append(label)
        .append("=\"")
        .append(EscapeLabelValue(label_value))
        .append("\"} ")
        .append(std::to_string(count))
        .append("\n");
  }
}

void Add(std::map<std::string, uint64_t, std::less<>>* counters, std::string_view key, uint64_t n) {
  auto it = counters->find(key);
  if (it == counters->end()) {
    counters->emplace(std::string(key), n);
  } else {
    it->second += n;
  }
}

}  // namespace

const std::vector<double>& Metrics::LatencyBuckets() {
  // From a fast local broker (sub-millisecond) to a broker outage that
  // pauses delivery for a minute.
  static const std::vector<double> kBuckets = {
      0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1,
      0.25,   0.5,   0.75,   1,     1.25,  1.5,   2,     2.5,    5,    10,    30,    60};
  return kBuckets;
}

Metrics::Metrics() = default;

Metrics::Histogram::Histogram() : counts(LatencyBuckets().size() + 1, 0) {}

void Metrics::Histogram::Observe(double seconds) {
  // Commit times come from the server's clock and the other end from ours,
  // so skew can make a fast one look negative: count it as instant. NaN:
  // nothing.
  if (std::isnan(seconds)) return;
  if (seconds < 0) seconds = 0;
  const std::vector<double>& bounds = LatencyBuckets();
  // `le` is inclusive: a value equal to a bound belongs to that bucket.
  size_t bucket = std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin();
  ++counts[bucket];
  sum += seconds;
  ++count;
}

void Metrics::Histogram::Append(std::string* out, std::string_view name,
                                std::string_view help) const {
  AppendFamily(out, name, "histogram", help);
  const std::vector<double>& bounds = LatencyBuckets();
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += counts[i];
    std::string le = i < bounds.size() ? FormatDouble(bounds[i]) : "+Inf";
    out->append(name)
        .append("_bucket{le=\"")
        .append(le)
        .append("\"} ")
        .append(std::to_string(cumulative))
        .append("\n");
  }
  out->append(name).append("_sum ").append(FormatDouble(sum)).append("\n");
  out->append(name).append("_count ").append(std::to_string(count)).append("\n");
}

void Metrics::EventsPublished(std::string_view topic, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  Add(&published_by_topic_, topic, n);
}

void Metrics::TransactionCommitted() { transactions_.fetch_add(1, std::memory_order_relaxed); }

void Metrics::PublishError(std::string_view reason) {
  std::lock_guard<std::mutex> lock(mu_);
  Add(&errors_by_reason_, reason, 1);
}

void Metrics::BadRow(std::string_view action, std::string_view reason) {
  std::lock_guard<std::mutex> lock(mu_);
  ++bad_rows_[{std::string(action), std::string(reason)}];
}

void Metrics::SetInflightEvents(int64_t n) { inflight_.store(n, std::memory_order_relaxed); }

void Metrics::ObserveDeliveryLatency(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  delivery_latency_.Observe(seconds);
}

void Metrics::ObserveReceiveLag(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  receive_lag_.Observe(seconds);
}

void Metrics::ObserveDelivery(double since_commit, double own, double in_producer) {
  std::lock_guard<std::mutex> lock(mu_);
  delivery_latency_.Observe(since_commit);
  own_latency_.Observe(own);
  if (in_producer >= 0) broker_latency_.Observe(in_producer);
}

void Metrics::ObserveCommitArrival(double receive_lag, double read_delay) {
  std::lock_guard<std::mutex> lock(mu_);
  receive_lag_.Observe(receive_lag);
  if (read_delay >= 0) read_delay_.Observe(read_delay);
}

void Metrics::ObserveConfirmLag(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  confirm_lag_.Observe(seconds);
}

void Metrics::SetReplicationLagBytes(int64_t bytes) {
  lag_bytes_.store(bytes, std::memory_order_relaxed);
}

void Metrics::SetConfirmedLsn(uint64_t lsn) {
  confirmed_lsn_.store(lsn, std::memory_order_relaxed);
}

void Metrics::SetLastCommitTimestamp(double unix_seconds) {
  last_commit_ts_.store(unix_seconds, std::memory_order_relaxed);
}

void Metrics::CleanupDeleted(uint64_t rows) {
  cleanup_deleted_.fetch_add(rows, std::memory_order_relaxed);
}

void Metrics::Reconnect(std::string_view target) {
  std::lock_guard<std::mutex> lock(mu_);
  Add(&reconnects_by_target_, target, 1);
}

void Metrics::SetUp(bool up) { up_.store(up ? 1 : 0, std::memory_order_relaxed); }

uint64_t Metrics::events_published_total() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = 0;
  for (const auto& [topic, count] : published_by_topic_) total += count;
  return total;
}

std::string Metrics::Render() const {
  // Copy what the mutex guards, then format without holding it, so a scrape
  // never holds up the streaming thread for longer than the copy.
  std::map<std::string, uint64_t, std::less<>> published, errors, reconnects;
  Histogram delivery_latency, receive_lag, confirm_lag, read_delay, own_latency, broker_latency;
  std::map<std::pair<std::string, std::string>, uint64_t> bad_rows;
  {
    std::lock_guard<std::mutex> lock(mu_);
    published = published_by_topic_;
    errors = errors_by_reason_;
    bad_rows = bad_rows_;
    reconnects = reconnects_by_target_;
    delivery_latency = delivery_latency_;
    receive_lag = receive_lag_;
    confirm_lag = confirm_lag_;
    read_delay = read_delay_;
    own_latency = own_latency_;
    broker_latency = broker_latency_;
  }

  std::string out;
  out.reserve(4096);

  AppendFamily(&out, "pgoutbox_events_published_total", "counter",
               "Events acknowledged by Kafka, by topic.");
  AppendLabelled(&out, "pgoutbox_events_published_total", "topic", published);

  AppendFamily(&out, "pgoutbox_transactions_total", "counter",
               "Committed transactions received from the replication stream.");
  AppendSample(&out, "pgoutbox_transactions_total", std::to_string(transactions_.load()));

  AppendFamily(&out, "pgoutbox_publish_errors_total", "counter",
               "Events that could not be published (failed deliveries, bad rows), by reason.");
  AppendLabelled(&out, "pgoutbox_publish_errors_total", "reason", errors);

  AppendFamily(&out, "pgoutbox_bad_rows_total", "counter",
               "Rows that cannot become a record or that Kafka refuses, by --on-bad-row action "
               "(halt, dlq, skip) and reason.");
  for (const auto& [labels, count] : bad_rows) {
    out.append("pgoutbox_bad_rows_total{action=\"")
        .append(EscapeLabelValue(labels.first))
        .append("\",reason=\"")
        .append(EscapeLabelValue(labels.second))
        .append("\"} ")
        .append(std::to_string(count))
        .append("\n");
  }

  AppendFamily(&out, "pgoutbox_inflight_events", "gauge",
               "Events produced to Kafka and not yet acknowledged.");
  AppendSample(&out, "pgoutbox_inflight_events", std::to_string(inflight_.load()));

  delivery_latency.Append(
      &out, "pgoutbox_delivery_latency_seconds",
      "Time from the transaction's commit to the broker's acknowledgement, in seconds.");
  receive_lag.Append(&out, "pgoutbox_receive_lag_seconds",
                     "Time from a transaction's commit to the arrival of its Commit message from "
                     "the server (flush, logical decoding and sending), in seconds.");
  read_delay.Append(&out, "pgoutbox_read_delay_seconds",
                    "Time from the server sending a Commit message (its clock) to its arrival in "
                    "pgoutbox: the network and the wait in pgoutbox's socket buffer, in seconds.");
  own_latency.Append(&out, "pgoutbox_own_latency_seconds",
                     "Time from the arrival of the transaction's Commit message to the broker's "
                     "acknowledgement (pgoutbox's own share; 0 when the acknowledgement came "
                     "first), in seconds.");
  broker_latency.Append(&out, "pgoutbox_broker_latency_seconds",
                        "Time from producing an event to the broker's acknowledgement (the "
                        "producer's queue, the request and the broker), in seconds.");
  confirm_lag.Append(&out, "pgoutbox_confirm_lag_seconds",
                     "Time from a transaction's commit to the moment its position was confirmed "
                     "to the replication slot, in seconds.");

  AppendFamily(&out, "pgoutbox_replication_lag_bytes", "gauge",
               "Server WAL end minus the confirmed position, in bytes.");
  AppendSample(&out, "pgoutbox_replication_lag_bytes", std::to_string(lag_bytes_.load()));

  AppendFamily(&out, "pgoutbox_confirmed_lsn_bytes", "gauge",
               "Position confirmed to the replication slot, as a byte offset in the WAL.");
  AppendSample(&out, "pgoutbox_confirmed_lsn_bytes", std::to_string(confirmed_lsn_.load()));

  AppendFamily(&out, "pgoutbox_last_commit_timestamp_seconds", "gauge",
               "Commit time of the last transaction received, in seconds since the Unix epoch.");
  AppendSample(&out, "pgoutbox_last_commit_timestamp_seconds",
               FormatDouble(last_commit_ts_.load()));

  AppendFamily(&out, "pgoutbox_cleanup_deleted_rows_total", "counter",
               "Outbox rows deleted by the cleanup.");
  AppendSample(&out, "pgoutbox_cleanup_deleted_rows_total",
               std::to_string(cleanup_deleted_.load()));

  AppendFamily(&out, "pgoutbox_reconnects_total", "counter",
               "Reconnections, by target (postgres or kafka).");
  AppendLabelled(&out, "pgoutbox_reconnects_total", "target", reconnects);

  AppendFamily(&out, "pgoutbox_up", "gauge",
               "1 while the replication stream is connected, else 0.");
  AppendSample(&out, "pgoutbox_up", std::to_string(up_.load()));

  return out;
}

void Health::SetStreaming(bool connected, std::string reason_if_not) {
  std::lock_guard<std::mutex> lock(mu_);
  streaming_ = connected;
  not_streaming_reason_ = connected ? std::string() : std::move(reason_if_not);
}

void Health::NoteProgress(int64_t inflight_events, bool moved, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  inflight_ = inflight_events;
  if (inflight_events <= 0) {
    waiting_ = false;
  } else if (moved || !waiting_) {
    waiting_ = true;
    waiting_since_ = now;
  }
}

std::string Health::NotReadyReason(Clock::time_point now) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!streaming_) {
    std::string reason = "replication stream not connected";
    if (!not_streaming_reason_.empty()) reason += ": " + not_streaming_reason_;
    return reason;
  }
  if (waiting_ && stall_timeout_.count() > 0 && now - waiting_since_ > stall_timeout_) {
    auto still = std::chrono::duration_cast<std::chrono::seconds>(now - waiting_since_);
    return "stalled: " + std::to_string(inflight_) +
           " events in flight and the confirmed position has not moved for " +
           std::to_string(still.count()) + " s (--stall-timeout " + FormatDuration(stall_timeout_) +
           ")";
  }
  return "";
}

}  // namespace pgoutbox::observe
