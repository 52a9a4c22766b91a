// Backoff: exponential delays with jitter between reconnect attempts, from
// `initial` doubling up to `max`; each delay is drawn uniformly from the upper
// half of the current step, so many clients do not retry in lockstep.
//
// Thread safety: none; one owner.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace pgoutbox::core {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed);

  // The next delay: in [step/2, step] where step = min(max, initial * 2^n).
  std::chrono::milliseconds Next();
  // After a success: the next delay starts from `initial` again.
  void Reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace pgoutbox::core
