// MetricsObserver: each report of the streaming loop lands in the metric
// family, label, health state and progress position it did before the loop
// had an observer interface.
#include "observe/metrics_observer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace pgoutbox::observe {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(MetricsObserverTest, EachReportLandsInItsMetric) {
  Metrics metrics;
  Health health(std::chrono::seconds(60));
  StreamProgress progress;
  MetricsObserver observer(&metrics, &health, &progress);

  observer.EventDelivered("orders", {0.002, 0.0015, 0.001});
  observer.EventDelivered("orders", {0.002, 0.0015, -1});  // the producer's share unknown
  observer.TransactionReceived({0.001, 0.0004, 1700000000.5});
  observer.TransactionConfirmed(0.004);
  observer.PublishFailed(core::PublishFailure::kBadRow);
  observer.PublishFailed(core::PublishFailure::kProduceFailed);
  observer.PublishFailed(core::PublishFailure::kDeliveryFailed);
  observer.BadRow(core::BadRowAction::kDeadLetter, outbox::BadRowReason::kNullColumn);
  observer.BadRow(core::BadRowAction::kSkip, kafka::RecordRefusal::kTooLarge);
  observer.BrokersDown();
  observer.PositionReported({Lsn(2000), Lsn(1500), 7, true});

  const std::string text = metrics.Render();
  EXPECT_TRUE(Has(text, "pgoutbox_events_published_total{topic=\"orders\"} 2")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_delivery_latency_seconds_count 2")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_delivery_latency_seconds_sum 0.004")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_own_latency_seconds_count 2")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_own_latency_seconds_sum 0.003")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_broker_latency_seconds_count 1")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_broker_latency_seconds_sum 0.001")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_read_delay_seconds_count 1")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_read_delay_seconds_sum 0.0004")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_transactions_total 1")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_receive_lag_seconds_count 1")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_last_commit_timestamp_seconds 1700000000.5")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_confirm_lag_seconds_count 1")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_publish_errors_total{reason=\"bad_row\"} 1")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_publish_errors_total{reason=\"produce_failed\"} 1")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_publish_errors_total{reason=\"delivery_failed\"} 1")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_bad_rows_total{action=\"dlq\",reason=\"null_column\"} 1"))
      << text;
  EXPECT_TRUE(Has(text, "pgoutbox_bad_rows_total{action=\"skip\",reason=\"too_large\"} 1"))
      << text;
  EXPECT_TRUE(Has(text, "pgoutbox_reconnects_total{target=\"kafka\"} 1")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_inflight_events 7")) << text;
  EXPECT_TRUE(Has(text, "pgoutbox_confirmed_lsn_bytes 1500")) << text;
  EXPECT_EQ(progress.received.load(), 2000u);
  EXPECT_EQ(progress.confirmed.load(), 1500u);
}

TEST(MetricsObserverTest, PositionsFeedTheStallClock) {
  Health health(std::chrono::seconds(60));
  health.SetStreaming(true);
  MetricsObserver observer(nullptr, &health, nullptr);
  observer.PositionReported({Lsn(10), Lsn(5), 3, false});
  const auto later = Health::Clock::now() + std::chrono::seconds(120);
  EXPECT_NE(health.NotReadyReason(later).find("stalled: 3 events in flight"), std::string::npos);
  observer.PositionReported({Lsn(10), Lsn(10), 0, true});
  EXPECT_EQ(health.NotReadyReason(later), "");
}

TEST(MetricsObserverTest, ReportsWithoutTargetsDoNothing) {
  MetricsObserver observer(nullptr, nullptr, nullptr);
  observer.EventDelivered("t", {0.1, 0.1, 0.1});
  observer.TransactionReceived({0.1, 0.1, 1.0});
  observer.TransactionConfirmed(0.1);
  observer.PublishFailed(core::PublishFailure::kBadRow);
  observer.BadRow(core::BadRowAction::kSkip, outbox::BadRowReason::kTopic);
  observer.BrokersDown();
  observer.PositionReported({Lsn(1), Lsn(1), 0, false});
}

}  // namespace
}  // namespace pgoutbox::observe
