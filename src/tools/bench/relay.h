// Relay: the benchmark's comparison for live latency. A deliberately naive
// outbox relay, shaped like the one a team would write by hand in an
// afternoon: one libpq replication connection, one loop that waits on its
// socket, and for every insert of the outbox table one produce call on an
// idempotent librdkafka producer followed by rd_kafka_poll(rk, 0).
//
// What it shares with pgoutbox is only what does not depend on the I/O loop:
// the pgoutput decoder, the replication framing helpers and the
// outbox::EventMapper (so its records are pgoutbox's: key = aggregate id, the
// same headers, the topic from a template). What it does not share is what
// the comparison is about: it uses libpq and librdkafka's C API directly, not
// replication::ReplicationStream or kafka::Publisher, and it has no
// batching, no backpressure, no reconnects and no dead-letter handling.
//
// Delivery: it confirms (standby status update, write = flush = apply) the
// commit end LSN of the latest transaction all of whose records, and those
// of every transaction before it, were acknowledged; it sends a status update
// at least every `status_interval` and whenever the server asks for one. A
// record that fails for good (librdkafka's delivery report) ends the run with
// an error, nothing confirmed past it.
//
// It streams the canonical outbox table (sql/outbox.sql: public.outbox with
// its headers and topic columns) from a slot the caller created, until
// `stop` returns true (checked at least every 100 ms) or, with `end_lsn`,
// until everything up to that position is confirmed. Then it flushes the
// producer (up to 30 s), confirms what was acknowledged and disconnects.
//
// Thread safety: one thread; delivery reports are served on it, from
// rd_kafka_poll() and rd_kafka_flush(). Failure: a non-OK status with libpq's
// or librdkafka's message.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/defaults.h"
#include "common/status.h"
#include "common/types.h"

namespace pgoutbox::bench {

// The relay's topic template by default: a topic of its own, so that it can
// run beside pgoutbox on the same rows.
inline constexpr std::string_view kRelayTopicTemplate = "relay.{aggregate_type}";

struct RelayOptions {
  std::string conninfo;  // a normal conninfo; replication=database is added
  std::string slot;      // a pgoutput slot that exists
  std::string publication;
  std::string brokers;
  std::string topic_template{kRelayTopicTemplate};
  // librdkafka properties applied after the relay's own
  // (enable.idempotence=true, acks=all, linger.ms=5).
  std::vector<std::pair<std::string, std::string>> config;
  Lsn end_lsn;  // invalid (0/0): run until stopped
  std::chrono::milliseconds status_interval{defaults::kFeedbackInterval};
};

struct RelayResult {
  uint64_t events = 0;  // inserts produced
  uint64_t acked = 0;   // of them, acknowledged by the broker
  Lsn confirmed;        // the last position confirmed to the server
  double seconds = 0;   // from connecting to disconnecting
};

// Streams until `stop()` is true or `end_lsn` is confirmed. `ready` is
// called once, when the server has accepted START_REPLICATION.
Result<RelayResult> Relay(const RelayOptions& options, const std::function<void()>& ready,
                          const std::function<bool()>& stop);

}  // namespace pgoutbox::bench
