// StreamProgress: the positions the streaming thread publishes for other
// threads (the server monitor's lag metric and catch-up log line).
//
// Thread safety: atomics; written by the streaming thread, read by any.
#pragma once

#include <atomic>
#include <cstdint>

namespace pgoutbox::observe {

struct StreamProgress {
  std::atomic<uint64_t> received{0};   // highest WAL position received
  std::atomic<uint64_t> confirmed{0};  // last position confirmed to the server
};

}  // namespace pgoutbox::observe
