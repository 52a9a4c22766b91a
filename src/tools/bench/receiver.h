// Receiver: the benchmark's ceiling. A minimal logical replication client
// that reads a slot's pgoutput stream up to an end position and does nothing
// with it but count, reading in bursts: whenever the socket is empty it
// sleeps for `nap` before reading again, so the server fills the socket
// buffer meanwhile and neither side wakes up per message.
//
// It uses the same libpq replication stream as pgoutbox, so the difference
// between the two is what pgoutbox does with the events. It counts as events
// what pgoutbox publishes: Inserts, and transactional logical decoding
// messages whose prefix is `message_prefix` (pg_logical_emit_message(true,
// 'pgoutbox', ...), outbox/message_mapper.h); other messages are read and
// skipped, as pgoutbox skips them.
//
// Thread safety: one thread. Failure: a non-OK status with the server's
// message; nothing is confirmed (the benchmark drops its slots).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/defaults.h"
#include "common/status.h"
#include "common/types.h"

namespace pgoutbox::bench {

struct ReceiveOptions {
  std::string conninfo;
  std::string slot;
  std::string publication;
  Lsn end_lsn;  // stop at the first commit (or idle server position) at or past it
  std::chrono::milliseconds nap{20};
  std::string message_prefix{defaults::kMessagePrefix};  // pgoutbox's --message-prefix
};

struct ReceiveResult {
  uint64_t events = 0;          // inserts + event_messages
  uint64_t event_messages = 0;  // transactional logical messages with the prefix
  uint64_t messages = 0;        // XLogData messages
  uint64_t bytes = 0;           // pgoutput payload bytes
  double seconds = 0;           // from connecting to reaching the end position
};

Result<ReceiveResult> Receive(const ReceiveOptions& options);

}  // namespace pgoutbox::bench
