// Receiver: the benchmark's ceiling. A minimal logical replication client
// that reads a slot's pgoutput stream up to an end position and does nothing
// with it but count, reading in bursts: whenever the socket is empty it
// sleeps for `nap` before reading again, so the server fills the socket
// buffer meanwhile and neither side wakes up per message.
//
// It uses the same libpq replication stream as pgoutbox, so the difference
// between the two is what pgoutbox does with the events.
//
// Thread safety: one thread. Failure: a non-OK status with the server's
// message; nothing is confirmed (the benchmark drops its slots).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "common/types.h"

namespace pgoutbox::bench {

struct ReceiveOptions {
  std::string conninfo;
  std::string slot;
  std::string publication;
  Lsn end_lsn;  // stop at the first commit (or idle server position) at or past it
  std::chrono::milliseconds nap{20};
};

struct ReceiveResult {
  uint64_t events = 0;    // pgoutput Insert messages
  uint64_t messages = 0;  // XLogData messages
  uint64_t bytes = 0;     // pgoutput payload bytes
  double seconds = 0;     // from connecting to reaching the end position
};

Result<ReceiveResult> Receive(const ReceiveOptions& options);

}  // namespace pgoutbox::bench
