#include "observe/metrics_observer.h"

#include <atomic>

namespace pgoutbox::observe {

namespace {

const char* PublishFailureLabel(core::PublishFailure failure) {
  switch (failure) {
    case core::PublishFailure::kBadRow:
      return "bad_row";
    case core::PublishFailure::kProduceFailed:
      return "produce_failed";
    case core::PublishFailure::kDeliveryFailed:
      break;
  }
  return "delivery_failed";
}

}  // namespace

void MetricsObserver::EventDelivered(std::string_view topic, double latency_seconds) {
  if (metrics_ == nullptr) return;
  metrics_->EventsPublished(topic);
  metrics_->ObserveDeliveryLatency(latency_seconds);
}

void MetricsObserver::TransactionReceived(double receive_lag_seconds, double commit_unix_seconds) {
  if (metrics_ == nullptr) return;
  metrics_->TransactionCommitted();
  metrics_->ObserveReceiveLag(receive_lag_seconds);
  metrics_->SetLastCommitTimestamp(commit_unix_seconds);
}

void MetricsObserver::TransactionConfirmed(double confirm_lag_seconds) {
  if (metrics_ != nullptr) metrics_->ObserveConfirmLag(confirm_lag_seconds);
}

void MetricsObserver::PublishFailed(core::PublishFailure failure) {
  if (metrics_ != nullptr) metrics_->PublishError(PublishFailureLabel(failure));
}

void MetricsObserver::BadRow(core::BadRowAction action, const core::BadRowCause& cause) {
  if (metrics_ != nullptr) {
    metrics_->BadRow(core::BadRowActionName(action), core::BadRowCauseName(cause));
  }
}

void MetricsObserver::BrokersDown() {
  if (metrics_ != nullptr) metrics_->Reconnect("kafka");
}

void MetricsObserver::PositionReported(const core::StreamPosition& position) {
  if (progress_ != nullptr) {
    progress_->received.store(position.received.value(), std::memory_order_relaxed);
    progress_->confirmed.store(position.confirmed.value(), std::memory_order_relaxed);
  }
  if (metrics_ != nullptr) {
    metrics_->SetInflightEvents(position.inflight_events);
    metrics_->SetConfirmedLsn(position.confirmed.value());
  }
  if (health_ != nullptr) health_->NoteProgress(position.inflight_events, position.moved);
}

}  // namespace pgoutbox::observe
