// MetricsObserver: the streaming loop's reports (core::StreamObserver) turned
// into what observe exposes: Metrics (/metrics), Health's stall clock
// (/readyz) and the StreamProgress positions the server monitor reads.
//
// Every report maps onto the Metrics calls the loop made before it had an
// observer of its own, with the same labels: publish error reasons
// "bad_row", "produce_failed", "delivery_failed"; reconnect target "kafka";
// bad rows by core::BadRowActionName and core::BadRowCauseName ("dlq",
// "too_large").
//
// Ownership: borrows the metrics, health and progress objects (any may be
// null: that part is not reported), which must outlive it.
// Thread safety: called on the streaming thread; what it writes is
// thread-safe for the readers (HTTP thread, server monitor). Nothing fails.
#pragma once

#include <string_view>

#include "core/stream_observer.h"
#include "observe/metrics.h"
#include "observe/progress.h"

namespace pgoutbox::observe {

class MetricsObserver : public core::StreamObserver {
 public:
  MetricsObserver(Metrics* metrics, Health* health, StreamProgress* progress)
      : metrics_(metrics), health_(health), progress_(progress) {}

  void EventDelivered(std::string_view topic, const core::DeliveryLatency& latency) override;
  void TransactionReceived(const core::CommitArrival& arrival) override;
  void TransactionConfirmed(double confirm_lag_seconds) override;
  void PublishFailed(core::PublishFailure failure) override;
  void BadRow(core::BadRowAction action, const core::BadRowCause& cause) override;
  void BrokersDown() override;
  void PositionReported(const core::StreamPosition& position) override;

 private:
  Metrics* const metrics_;
  Health* const health_;
  StreamProgress* const progress_;
};

}  // namespace pgoutbox::observe
