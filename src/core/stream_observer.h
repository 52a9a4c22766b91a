// StreamObserver: what the streaming loop reports while it runs, for
// whoever watches it (metrics, readiness, the server monitor's lag). Core
// states the events; the observe layer implements them
// (observe::MetricsObserver), so the loop does not depend on how they are
// exposed.
//
// Ownership: the Streamer borrows an observer, which must outlive it.
// Thread safety: every method is called on the streaming thread (Run() and
// ServeDeliveries()); an implementation that others read from must make
// that safe itself. Failure: the methods cannot fail; an observer must not
// throw and should return quickly (some run once per event).
#pragma once

#include <cstdint>
#include <string_view>

#include "common/types.h"
#include "core/bad_row.h"

namespace pgoutbox::core {

// Why an event could not be published (the publish error counter's reason).
enum class PublishFailure {
  kBadRow,          // the row cannot become a record, or Kafka refused it
  kProduceFailed,   // the producer did not take the record
  kDeliveryFailed,  // the broker did not acknowledge it, for good
};

// How long an acknowledged event took, in seconds, by stage.
struct DeliveryLatency {
  double since_commit = 0;  // from its transaction's commit (the server's clock) to the ack
  // From the arrival of its transaction's Commit message to the ack:
  // pgoutbox's own share (0 when the ack came first).
  double since_commit_arrival = 0;
  // From the produce call to the ack (the producer and the broker); < 0: unknown.
  double in_producer = -1;
};

// When a transaction's Commit message arrived, in seconds.
struct CommitArrival {
  double receive_lag = 0;  // from the commit to the arrival
  // From the server sending the Commit message (its clock) to the arrival:
  // the network and the wait in pgoutbox's socket buffer; < 0: unknown.
  double read_delay = -1;
  double commit_unix_seconds = 0;  // the commit time
};

// Where the stream stands, after every status update sent to the server.
struct StreamPosition {
  Lsn received;             // highest WAL position received
  Lsn confirmed;            // last position confirmed to the server
  int64_t inflight_events;  // produced and not yet acknowledged
  bool moved;               // `confirmed` advanced since the previous report
};

class StreamObserver {
 public:
  virtual ~StreamObserver() = default;

  // The broker acknowledged one event of `topic`.
  virtual void EventDelivered(std::string_view topic, const DeliveryLatency& latency) = 0;
  // A Commit message arrived.
  virtual void TransactionReceived(const CommitArrival& arrival) = 0;
  // A transaction with events was confirmed to the server,
  // `confirm_lag_seconds` after it committed.
  virtual void TransactionConfirmed(double confirm_lag_seconds) = 0;
  virtual void PublishFailed(PublishFailure failure) = 0;
  // A bad row, by --on-bad-row action and cause (BadRowActionName and
  // BadRowCauseName give their labels).
  virtual void BadRow(BadRowAction action, const BadRowCause& cause) = 0;
  // Every broker is down; the producer reconnects by itself.
  virtual void BrokersDown() = 0;
  virtual void PositionReported(const StreamPosition& position) = 0;
};

}  // namespace pgoutbox::core
