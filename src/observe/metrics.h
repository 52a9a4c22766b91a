// Metrics: the numbers pgoutbox exposes on /metrics in Prometheus text
// format (version 0.0.4), and the readiness state behind /readyz.
//
// Names and units follow Prometheus conventions:
//   pgoutbox_events_published_total{topic}      counter, events acked by Kafka
//   pgoutbox_transactions_total                 counter, commits received
//   pgoutbox_publish_errors_total{reason}       counter, deliveries failed / bad rows
//   pgoutbox_bad_rows_total{action,reason}      counter, rows that cannot become a record or
//                                               that Kafka refuses, by --on-bad-row action
//                                               (halt, dlq, skip) and reason
//   pgoutbox_inflight_events                    gauge, produced and not yet acked
//   pgoutbox_delivery_latency_seconds           histogram, commit time to broker ack (per event)
//   pgoutbox_receive_lag_seconds                histogram, commit time to the Commit message's
//                                               arrival (the server's flush, decoding and
//                                               sending; per transaction)
//   pgoutbox_read_delay_seconds                 histogram, the server sending the Commit
//                                               message (its clock) to its arrival: the
//                                               network and pgoutbox's socket buffer (per
//                                               transaction; part of the receive lag)
//   pgoutbox_own_latency_seconds                histogram, the Commit message's arrival to the
//                                               broker's ack: pgoutbox's own share (per event;
//                                               0 when the ack came first)
//   pgoutbox_broker_latency_seconds             histogram, produce call to the broker's ack:
//                                               the producer's queue, the request and the
//                                               broker (per event; part of the own share)
//   pgoutbox_confirm_lag_seconds                histogram, commit time to the moment its
//                                               position is confirmed to the server (per
//                                               transaction with events)
//   pgoutbox_replication_lag_bytes              gauge, server WAL end - confirmed
//   pgoutbox_confirmed_lsn_bytes                gauge, confirmed position as a number
//   pgoutbox_last_commit_timestamp_seconds      gauge, commit time of the last transaction
//   pgoutbox_cleanup_deleted_rows_total         counter, outbox rows deleted
//   pgoutbox_reconnects_total{target}           counter, target = postgres | kafka
//   pgoutbox_up                                 gauge, 1 while the stream is connected
//
// Thread safety: every method may be called from any thread (the streaming
// thread updates, the HTTP thread renders, the cleanup thread counts).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgoutbox::observe {

class Metrics {
 public:
  Metrics();

  void EventsPublished(std::string_view topic, uint64_t n = 1);
  void TransactionCommitted();
  void PublishError(std::string_view reason);
  void BadRow(std::string_view action, std::string_view reason);
  void SetInflightEvents(int64_t n);
  void ObserveDeliveryLatency(double seconds);
  void ObserveConfirmLag(double seconds);
  void ObserveReceiveLag(double seconds);
  // An acknowledged event's stages at once (one lock): the delivery latency,
  // the own share and, if `in_producer` >= 0, the broker latency.
  void ObserveDelivery(double since_commit, double own, double in_producer);
  // A Commit message's arrival: the receive lag and, if `read_delay` >= 0,
  // the read delay.
  void ObserveCommitArrival(double receive_lag, double read_delay);
  void SetReplicationLagBytes(int64_t bytes);
  void SetConfirmedLsn(uint64_t lsn);
  void SetLastCommitTimestamp(double unix_seconds);
  void CleanupDeleted(uint64_t rows);
  void Reconnect(std::string_view target);
  void SetUp(bool up);

  // The whole exposition, Prometheus text format.
  std::string Render() const;

  // Read back (for tests and the status line).
  uint64_t events_published_total() const;
  uint64_t transactions_total() const { return transactions_.load(); }
  uint64_t cleanup_deleted_total() const { return cleanup_deleted_.load(); }

  // Histogram bucket upper bounds in seconds (le), ascending; +Inf implied.
  // Fine in the low milliseconds, where a healthy pipeline lives, so that
  // quantiles computed from the buckets are accurate there.
  static const std::vector<double>& LatencyBuckets();

 private:
  // Counts per bucket (not cumulative; the last is +Inf), sum and count.
  struct Histogram {
    Histogram();
    void Observe(double seconds);  // negative counts as 0, NaN is ignored
    void Append(std::string* out, std::string_view name, std::string_view help) const;
    std::vector<uint64_t> counts;
    double sum = 0;
    uint64_t count = 0;
  };

  mutable std::mutex mu_;  // guards the labelled maps and the histograms
  std::map<std::string, uint64_t, std::less<>> published_by_topic_;
  std::map<std::string, uint64_t, std::less<>> errors_by_reason_;
  std::map<std::pair<std::string, std::string>, uint64_t> bad_rows_;  // (action, reason)
  std::map<std::string, uint64_t, std::less<>> reconnects_by_target_;
  Histogram delivery_latency_;
  Histogram confirm_lag_;
  Histogram receive_lag_;
  Histogram read_delay_;
  Histogram own_latency_;
  Histogram broker_latency_;
  std::atomic<uint64_t> transactions_{0};
  std::atomic<int64_t> inflight_{0};
  std::atomic<int64_t> lag_bytes_{0};
  std::atomic<uint64_t> confirmed_lsn_{0};
  std::atomic<double> last_commit_ts_{0};
  std::atomic<uint64_t> cleanup_deleted_{0};
  std::atomic<int> up_{0};
};

// Readiness: ready only while the replication stream is connected and the
// confirmed position keeps moving whenever events are in flight. Stalled
// means: events in flight and the confirmed position has not moved for longer
// than stall_timeout; the stall clock restarts whenever the position moves or
// nothing is in flight. A stall_timeout of zero turns the stall check off.
//
// Thread safety: every method may be called from any thread.
class Health {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Health(std::chrono::milliseconds stall_timeout) : stall_timeout_(stall_timeout) {}

  void SetStreaming(bool connected, std::string reason_if_not = "");
  // Called with the current in-flight count whenever the confirmed position
  // is computed; `moved` if it advanced since the last call.
  void NoteProgress(int64_t inflight_events, bool moved, Clock::time_point now = Clock::now());

  // Empty if ready, else why not (for the 503 body).
  std::string NotReadyReason(Clock::time_point now = Clock::now()) const;

 private:
  mutable std::mutex mu_;
  std::chrono::milliseconds stall_timeout_;
  bool streaming_ = false;
  std::string not_streaming_reason_ = "starting";
  int64_t inflight_ = 0;
  // True while events are in flight; the stall clock then runs from
  // waiting_since_ (the last move of the position, or when events appeared).
  bool waiting_ = false;
  Clock::time_point waiting_since_{};
};

}  // namespace pgoutbox::observe
