#include "observe/metrics.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace pgoutbox::observe {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The lines of `text` that start with `prefix`, each with its newline.
std::string LinesStartingWith(const std::string& text, const std::string& prefix) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size() - 1;
    std::string line = text.substr(pos, end - pos + 1);
    if (line.rfind(prefix, 0) == 0) out += line;
    pos = end + 1;
  }
  return out;
}

TEST(MetricsTest, FreshExpositionHasEveryFamily) {
  Metrics m;
  const std::string expected =
      "# HELP pgoutbox_events_published_total Events acknowledged by Kafka, by topic.\n"
      "# TYPE pgoutbox_events_published_total counter\n"
      "# HELP pgoutbox_transactions_total Committed transactions received from the "
      "replication stream.\n"
      "# TYPE pgoutbox_transactions_total counter\n"
      "pgoutbox_transactions_total 0\n"
      "# HELP pgoutbox_publish_errors_total Events that could not be published (failed "
      "deliveries, bad rows), by reason.\n"
      "# TYPE pgoutbox_publish_errors_total counter\n"
      "# HELP pgoutbox_bad_rows_total Rows that cannot become a record or that Kafka refuses, "
      "by --on-bad-row action (halt, dlq, skip) and reason.\n"
      "# TYPE pgoutbox_bad_rows_total counter\n"
      "# HELP pgoutbox_inflight_events Events produced to Kafka and not yet acknowledged.\n"
      "# TYPE pgoutbox_inflight_events gauge\n"
      "pgoutbox_inflight_events 0\n"
      "# HELP pgoutbox_delivery_latency_seconds Time from the transaction's commit to the "
      "broker's acknowledgement, in seconds.\n"
      "# TYPE pgoutbox_delivery_latency_seconds histogram\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"0.0005\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"0.001\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"0.0015\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"0.002\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"0.003\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"0.004\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"0.005\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"0.0075\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"0.01\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"0.015\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"0.025\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"0.05\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"0.1\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"0.25\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"0.5\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"0.75\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"1\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"1.25\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"1.5\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"2\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"2.5\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"5\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"10\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"30\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"60\"} 0\n"
      "pgoutbox_delivery_latency_seconds_bucket{le=\"+Inf\"} 0\n"
      "pgoutbox_delivery_latency_seconds_sum 0\n"
      "pgoutbox_delivery_latency_seconds_count 0\n"
      "# HELP pgoutbox_receive_lag_seconds Time from a transaction's commit to the arrival of "
      "its Commit message from the server (flush, logical decoding and sending), in seconds.\n"
      "# TYPE pgoutbox_receive_lag_seconds histogram\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"0.0005\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"0.001\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"0.0015\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"0.002\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"0.003\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"0.004\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"0.005\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"0.0075\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"0.01\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"0.015\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"0.025\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"0.05\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"0.1\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"0.25\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"0.5\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"0.75\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"1\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"1.25\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"1.5\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"2\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"2.5\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"5\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"10\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"30\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"60\"} 0\n"
      "pgoutbox_receive_lag_seconds_bucket{le=\"+Inf\"} 0\n"
      "pgoutbox_receive_lag_seconds_sum 0\n"
      "pgoutbox_receive_lag_seconds_count 0\n"
      "# HELP pgoutbox_read_delay_seconds Time from the server sending a Commit message (its "
      "clock) to its arrival in pgoutbox: the network and the wait in pgoutbox's socket buffer, in "
      "seconds.\n"
      "# TYPE pgoutbox_read_delay_seconds histogram\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"0.0005\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"0.001\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"0.0015\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"0.002\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"0.003\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"0.004\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"0.005\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"0.0075\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"0.01\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"0.015\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"0.025\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"0.05\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"0.1\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"0.25\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"0.5\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"0.75\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"1\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"1.25\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"1.5\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"2\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"2.5\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"5\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"10\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"30\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"60\"} 0\n"
      "pgoutbox_read_delay_seconds_bucket{le=\"+Inf\"} 0\n"
      "pgoutbox_read_delay_seconds_sum 0\n"
      "pgoutbox_read_delay_seconds_count 0\n"
      "# HELP pgoutbox_own_latency_seconds Time from the arrival of the transaction's Commit "
      "message to the broker's acknowledgement (pgoutbox's own share; 0 when the acknowledgement "
      "came first), in seconds.\n"
      "# TYPE pgoutbox_own_latency_seconds histogram\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"0.0005\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"0.001\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"0.0015\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"0.002\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"0.003\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"0.004\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"0.005\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"0.0075\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"0.01\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"0.015\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"0.025\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"0.05\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"0.1\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"0.25\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"0.5\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"0.75\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"1\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"1.25\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"1.5\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"2\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"2.5\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"5\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"10\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"30\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"60\"} 0\n"
      "pgoutbox_own_latency_seconds_bucket{le=\"+Inf\"} 0\n"
      "pgoutbox_own_latency_seconds_sum 0\n"
      "pgoutbox_own_latency_seconds_count 0\n"
      "# HELP pgoutbox_broker_latency_seconds Time from producing an event to the broker's "
      "acknowledgement (the producer's queue, the request and the broker), in seconds.\n"
      "# TYPE pgoutbox_broker_latency_seconds histogram\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"0.0005\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"0.001\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"0.0015\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"0.002\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"0.003\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"0.004\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"0.005\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"0.0075\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"0.01\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"0.015\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"0.025\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"0.05\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"0.1\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"0.25\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"0.5\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"0.75\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"1\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"1.25\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"1.5\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"2\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"2.5\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"5\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"10\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"30\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"60\"} 0\n"
      "pgoutbox_broker_latency_seconds_bucket{le=\"+Inf\"} 0\n"
      "pgoutbox_broker_latency_seconds_sum 0\n"
      "pgoutbox_broker_latency_seconds_count 0\n"
      "# HELP pgoutbox_confirm_lag_seconds Time from a transaction's commit to the moment its "
      "position was confirmed to the replication slot, in seconds.\n"
      "# TYPE pgoutbox_confirm_lag_seconds histogram\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"0.0005\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"0.001\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"0.0015\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"0.002\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"0.003\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"0.004\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"0.005\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"0.0075\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"0.01\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"0.015\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"0.025\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"0.05\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"0.1\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"0.25\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"0.5\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"0.75\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"1\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"1.25\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"1.5\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"2\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"2.5\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"5\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"10\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"30\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"60\"} 0\n"
      "pgoutbox_confirm_lag_seconds_bucket{le=\"+Inf\"} 0\n"
      "pgoutbox_confirm_lag_seconds_sum 0\n"
      "pgoutbox_confirm_lag_seconds_count 0\n"
      "# HELP pgoutbox_replication_lag_bytes Server WAL end minus the confirmed position, in "
      "bytes.\n"
      "# TYPE pgoutbox_replication_lag_bytes gauge\n"
      "pgoutbox_replication_lag_bytes 0\n"
      "# HELP pgoutbox_confirmed_lsn_bytes Position confirmed to the replication slot, as a "
      "byte offset in the WAL.\n"
      "# TYPE pgoutbox_confirmed_lsn_bytes gauge\n"
      "pgoutbox_confirmed_lsn_bytes 0\n"
      "# HELP pgoutbox_last_commit_timestamp_seconds Commit time of the last transaction "
      "received, in seconds since the Unix epoch.\n"
      "# TYPE pgoutbox_last_commit_timestamp_seconds gauge\n"
      "pgoutbox_last_commit_timestamp_seconds 0\n"
      "# HELP pgoutbox_cleanup_deleted_rows_total Outbox rows deleted by the cleanup.\n"
      "# TYPE pgoutbox_cleanup_deleted_rows_total counter\n"
      "pgoutbox_cleanup_deleted_rows_total 0\n"
      "# HELP pgoutbox_reconnects_total Reconnections, by target (postgres or kafka).\n"
      "# TYPE pgoutbox_reconnects_total counter\n"
      "# HELP pgoutbox_up 1 while the replication stream is connected, else 0.\n"
      "# TYPE pgoutbox_up gauge\n"
      "pgoutbox_up 0\n";
  EXPECT_EQ(m.Render(), expected);
}

TEST(MetricsTest, RendersSamples) {
  Metrics m;
  m.EventsPublished("orders", 3);
  m.EventsPublished("billing");
  m.EventsPublished("orders", 2);
  m.TransactionCommitted();
  m.TransactionCommitted();
  m.PublishError("null_key");
  m.BadRow("dlq", "too_large");
  m.BadRow("skip", "headers");
  m.BadRow("dlq", "too_large");
  m.SetInflightEvents(17);
  m.SetReplicationLagBytes(-5);  // the server's WAL end can trail what we confirmed
  m.SetConfirmedLsn(0x16B3748);
  m.SetLastCommitTimestamp(1700000000.25);
  m.CleanupDeleted(40);
  m.CleanupDeleted(2);
  m.Reconnect("postgres");
  m.Reconnect("kafka");
  m.Reconnect("postgres");
  m.SetUp(true);

  const std::string text = m.Render();
  EXPECT_EQ(LinesStartingWith(text, "pgoutbox_events_published_total"),
            "pgoutbox_events_published_total{topic=\"billing\"} 1\n"
            "pgoutbox_events_published_total{topic=\"orders\"} 5\n");
  EXPECT_EQ(LinesStartingWith(text, "pgoutbox_transactions_total"),
            "pgoutbox_transactions_total 2\n");
  EXPECT_EQ(LinesStartingWith(text, "pgoutbox_publish_errors_total"),
            "pgoutbox_publish_errors_total{reason=\"null_key\"} 1\n");
  EXPECT_EQ(LinesStartingWith(text, "pgoutbox_bad_rows_total"),
            "pgoutbox_bad_rows_total{action=\"dlq\",reason=\"too_large\"} 2\n"
            "pgoutbox_bad_rows_total{action=\"skip\",reason=\"headers\"} 1\n");
  EXPECT_EQ(LinesStartingWith(text, "pgoutbox_inflight_events"), "pgoutbox_inflight_events 17\n");
  EXPECT_EQ(LinesStartingWith(text, "pgoutbox_replication_lag_bytes"),
            "pgoutbox_replication_lag_bytes -5\n");
  EXPECT_EQ(LinesStartingWith(text, "pgoutbox_confirmed_lsn_bytes"),
            "pgoutbox_confirmed_lsn_bytes 23803720\n");
  EXPECT_EQ(LinesStartingWith(text, "pgoutbox_last_commit_timestamp_seconds"),
            "pgoutbox_last_commit_timestamp_seconds 1700000000.25\n");
  EXPECT_EQ(LinesStartingWith(text, "pgoutbox_cleanup_deleted_rows_total"),
            "pgoutbox_cleanup_deleted_rows_total 42\n");
  EXPECT_EQ(LinesStartingWith(text, "pgoutbox_reconnects_total"),
            "pgoutbox_reconnects_total{target=\"kafka\"} 1\n"
            "pgoutbox_reconnects_total{target=\"postgres\"} 2\n");
  EXPECT_EQ(LinesStartingWith(text, "pgoutbox_up"), "pgoutbox_up 1\n");

  EXPECT_EQ(m.events_published_total(), 6u);
  EXPECT_EQ(m.transactions_total(), 2u);
  EXPECT_EQ(m.cleanup_deleted_total(), 42u);

  m.SetUp(false);
  EXPECT_EQ(LinesStartingWith(m.Render(), "pgoutbox_up"), "pgoutbox_up 0\n");
}

TEST(MetricsTest, EscapesLabelValues) {
  Metrics m;
  m.EventsPublished("a\\b\"c\nd");
  m.PublishError("delivery failed: \"Broker: Message size too large\"");
  const std::string text = m.Render();
  EXPECT_EQ(LinesStartingWith(text, "pgoutbox_events_published_total{"),
            "pgoutbox_events_published_total{topic=\"a\\\\b\\\"c\\nd\"} 1\n");
  EXPECT_EQ(LinesStartingWith(text, "pgoutbox_publish_errors_total{"),
            "pgoutbox_publish_errors_total{reason=\"delivery failed: \\\"Broker: Message size "
            "too large\\\"\"} 1\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Metrics m;
  m.ObserveDeliveryLatency(0.0003);  // le 0.0005
  m.ObserveDeliveryLatency(0.001);   // on a bound: le 0.001 (le is inclusive)
  m.ObserveDeliveryLatency(0.003);   // le 0.003
  m.ObserveDeliveryLatency(0.003);   // le 0.003
  m.ObserveDeliveryLatency(2);       // le 2
  m.ObserveDeliveryLatency(60);      // le 60
  m.ObserveDeliveryLatency(61.5);    // +Inf only
  const std::string text = m.Render();
  EXPECT_EQ(LinesStartingWith(text, "pgoutbox_delivery_latency_seconds"),
            "pgoutbox_delivery_latency_seconds_bucket{le=\"0.0005\"} 1\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"0.001\"} 2\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"0.0015\"} 2\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"0.002\"} 2\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"0.003\"} 4\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"0.004\"} 4\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"0.005\"} 4\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"0.0075\"} 4\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"0.01\"} 4\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"0.015\"} 4\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"0.025\"} 4\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"0.05\"} 4\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"0.1\"} 4\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"0.25\"} 4\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"0.5\"} 4\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"0.75\"} 4\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"1\"} 4\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"1.25\"} 4\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"1.5\"} 4\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"2\"} 5\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"2.5\"} 5\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"5\"} 5\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"10\"} 5\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"30\"} 5\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"60\"} 6\n"
            "pgoutbox_delivery_latency_seconds_bucket{le=\"+Inf\"} 7\n"
            "pgoutbox_delivery_latency_seconds_sum 123.5073\n"
            "pgoutbox_delivery_latency_seconds_count 7\n");
}

TEST(MetricsTest, ConfirmAndReceiveLagAreHistogramsOfTheirOwn) {
  Metrics m;
  m.ObserveConfirmLag(0.8);
  m.ObserveConfirmLag(1.2);
  m.ObserveConfirmLag(-1);  // skew: instant
  m.ObserveDeliveryLatency(0.002);
  m.ObserveReceiveLag(0.004);
  const std::string text = m.Render();
  EXPECT_NE(text.find("# TYPE pgoutbox_confirm_lag_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("pgoutbox_receive_lag_seconds_bucket{le=\"0.004\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("pgoutbox_receive_lag_seconds_bucket{le=\"0.003\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("pgoutbox_confirm_lag_seconds_bucket{le=\"0.0005\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("pgoutbox_confirm_lag_seconds_bucket{le=\"0.75\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("pgoutbox_confirm_lag_seconds_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("pgoutbox_confirm_lag_seconds_bucket{le=\"1.25\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("pgoutbox_confirm_lag_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(text.find("pgoutbox_delivery_latency_seconds_count 1\n"), std::string::npos);
}

TEST(MetricsTest, HistogramClampsNegativeAndIgnoresNaN) {
  Metrics m;
  m.ObserveDeliveryLatency(-0.2);  // clock skew between the server and us
  m.ObserveDeliveryLatency(std::numeric_limits<double>::quiet_NaN());
  const std::string text = m.Render();
  EXPECT_NE(text.find("pgoutbox_delivery_latency_seconds_bucket{le=\"0.0005\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("pgoutbox_delivery_latency_seconds_sum 0\n"), std::string::npos);
  EXPECT_NE(text.find("pgoutbox_delivery_latency_seconds_count 1\n"), std::string::npos);
}

TEST(MetricsTest, LatencyBucketsAscendFromHalfAMillisecondToAMinute) {
  const std::vector<double>& b = Metrics::LatencyBuckets();
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(b.front(), 0.0005);
  EXPECT_DOUBLE_EQ(b.back(), 60);
  for (size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
}

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  Metrics m;
  constexpr int kThreads = 8;
  constexpr int kIterations = 5000;
  std::atomic<bool> done{false};
  std::thread renderer([&] {
    while (!done.load()) {
      std::string text = m.Render();
      ASSERT_NE(text.find("# TYPE pgoutbox_up gauge\n"), std::string::npos);
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&m, t] {
      const std::string topic = "topic-" + std::to_string(t % 3);
      for (int i = 0; i < kIterations; ++i) {
        m.EventsPublished(topic);
        m.TransactionCommitted();
        m.ObserveDeliveryLatency(0.002);
        m.CleanupDeleted(1);
        if (i % 100 == 0) m.Reconnect(t % 2 == 0 ? "postgres" : "kafka");
        m.SetInflightEvents(i);
      }
    });
  }
  for (std::thread& w : writers) w.join();
  done.store(true);
  renderer.join();

  constexpr uint64_t kTotal = uint64_t{kThreads} * kIterations;
  EXPECT_EQ(m.events_published_total(), kTotal);
  EXPECT_EQ(m.transactions_total(), kTotal);
  EXPECT_EQ(m.cleanup_deleted_total(), kTotal);
  const std::string text = m.Render();
  EXPECT_NE(text.find("pgoutbox_delivery_latency_seconds_count " + std::to_string(kTotal) + "\n"),
            std::string::npos);
  EXPECT_NE(text.find("pgoutbox_delivery_latency_seconds_bucket{le=\"+Inf\"} " +
                      std::to_string(kTotal) + "\n"),
            std::string::npos);
  EXPECT_NE(text.find("pgoutbox_reconnects_total{target=\"kafka\"} 200\n"), std::string::npos);
  EXPECT_NE(text.find("pgoutbox_reconnects_total{target=\"postgres\"} 200\n"), std::string::npos);
}

// Health, with time passed in explicitly.
class HealthTest : public ::testing::Test {
 protected:
  Health::Clock::time_point t0_ = Health::Clock::time_point() + std::chrono::hours(1);
  Health health_{seconds(60)};
};

TEST_F(HealthTest, NotReadyUntilStreaming) {
  EXPECT_EQ(health_.NotReadyReason(t0_), "replication stream not connected: starting");
  health_.SetStreaming(true);
  EXPECT_EQ(health_.NotReadyReason(t0_), "");
  health_.SetStreaming(false, "server closed the connection unexpectedly");
  EXPECT_EQ(health_.NotReadyReason(t0_),
            "replication stream not connected: server closed the connection unexpectedly");
  health_.SetStreaming(false);
  EXPECT_EQ(health_.NotReadyReason(t0_), "replication stream not connected");
  health_.SetStreaming(true);
  EXPECT_EQ(health_.NotReadyReason(t0_), "");
}

TEST_F(HealthTest, StallsWhenInflightAndPositionDoesNotMove) {
  health_.SetStreaming(true);
  health_.NoteProgress(10, false, t0_);
  health_.NoteProgress(1234, false, t0_ + seconds(30));      // still waiting since t0
  EXPECT_EQ(health_.NotReadyReason(t0_ + seconds(60)), "");  // not longer than the timeout yet
  EXPECT_EQ(health_.NotReadyReason(t0_ + seconds(75)),
            "stalled: 1234 events in flight and the confirmed position has not moved for 75 s "
            "(--stall-timeout 1m)");
}

TEST_F(HealthTest, MovingPositionRestartsTheStallClock) {
  health_.SetStreaming(true);
  health_.NoteProgress(5, false, t0_);
  health_.NoteProgress(5, true, t0_ + seconds(50));
  EXPECT_EQ(health_.NotReadyReason(t0_ + seconds(100)), "");
  EXPECT_EQ(health_.NotReadyReason(t0_ + seconds(111)),
            "stalled: 5 events in flight and the confirmed position has not moved for 61 s "
            "(--stall-timeout 1m)");
  health_.NoteProgress(3, true, t0_ + seconds(112));
  EXPECT_EQ(health_.NotReadyReason(t0_ + seconds(112)), "");
}

TEST_F(HealthTest, NothingInFlightIsNeverStalled) {
  health_.SetStreaming(true);
  health_.NoteProgress(5, false, t0_);
  EXPECT_NE(health_.NotReadyReason(t0_ + seconds(61)), "");
  health_.NoteProgress(0, false, t0_ + seconds(62));  // drained: clock stops
  EXPECT_EQ(health_.NotReadyReason(t0_ + seconds(600)), "");
  // New events start a fresh clock.
  health_.NoteProgress(2, false, t0_ + seconds(600));
  EXPECT_EQ(health_.NotReadyReason(t0_ + seconds(650)), "");
  EXPECT_EQ(health_.NotReadyReason(t0_ + seconds(661)),
            "stalled: 2 events in flight and the confirmed position has not moved for 61 s "
            "(--stall-timeout 1m)");
}

TEST_F(HealthTest, NotStreamingWinsOverStalled) {
  health_.SetStreaming(true);
  health_.NoteProgress(5, false, t0_);
  health_.SetStreaming(false, "connection lost");
  EXPECT_EQ(health_.NotReadyReason(t0_ + seconds(120)),
            "replication stream not connected: connection lost");
}

TEST(HealthTimeoutTest, SubSecondTimeoutAndDisabledCheck) {
  auto t0 = Health::Clock::time_point() + std::chrono::hours(1);
  Health fast(milliseconds(1500));
  fast.SetStreaming(true);
  fast.NoteProgress(1, false, t0);
  EXPECT_EQ(fast.NotReadyReason(t0 + milliseconds(1500)), "");
  EXPECT_EQ(fast.NotReadyReason(t0 + seconds(2)),
            "stalled: 1 events in flight and the confirmed position has not moved for 2 s "
            "(--stall-timeout 1500ms)");

  Health off(milliseconds(0));
  off.SetStreaming(true);
  off.NoteProgress(1, false, t0);
  EXPECT_EQ(off.NotReadyReason(t0 + std::chrono::hours(24)), "");
}

}  // namespace
}  // namespace pgoutbox::observe
