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

void MetricsObserver::EventDelivered(std::string_view topic, const core::DeliveryLatency& latency) {
  if (metrics_ == nullptr) return;
  metrics_->EventsPublished(topic);
  metrics_->ObserveDelivery(latency.since_commit, latency.since_commit_arrival,
                            latency.in_producer);
}

void MetricsObserver::TransactionReceived(const core::CommitArrival& arrival) {
  if (metrics_ == nullptr) return;
  metrics_->TransactionCommitted();
  metrics_->ObserveCommitArrival(arrival.receive_lag, arrival.read_delay);
  metrics_->SetLastCommitTimestamp(arrival.commit_unix_seconds);
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
