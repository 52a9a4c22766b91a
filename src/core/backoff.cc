#include "core/backoff.h"

#include <algorithm>

namespace pgoutbox::core {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed)
    : initial_(initial), max_(std::max(initial, max)), rng_(seed) {}

std::chrono::milliseconds Backoff::Next() {
  int64_t step = initial_.count();
  for (int i = 0; i < attempt_ && step < max_.count(); ++i) step *= 2;
  step = std::min<int64_t>(step, max_.count());
  ++attempt_;
  std::uniform_int_distribution<int64_t> half(step / 2, step);
  return std::chrono::milliseconds(half(rng_));
}

}  // namespace pgoutbox::core
