#include "core/send_pacer.h"

#include <algorithm>

namespace pgoutbox::core {

namespace {

// The weight of the latest span in the moving average of the rate.
constexpr double kRateWeight = 0.1;
// A span longer than this is a quiet spell: the average starts again from it.
constexpr std::chrono::seconds kQuiet{1};
// Microseconds of interval per event per second.
constexpr double kMicrosPerEventPerSecond = 1.0;

}  // namespace

SendPacer::SendPacer(std::chrono::microseconds min, std::chrono::microseconds max)
    : min_(min), max_(std::max(min, max)), interval_(min) {}

void SendPacer::Sent(Clock::time_point now) {
  const auto span = now - last_send_;
  if (last_send_ != Clock::time_point{} && span > Clock::duration::zero()) {
    const double latest =
        static_cast<double>(unsent_) / std::chrono::duration<double>(span).count();
    rate_ = span >= kQuiet ? latest : (1 - kRateWeight) * rate_ + kRateWeight * latest;
  }
  unsent_ = 0;
  last_send_ = now;
  const auto wanted =
      std::chrono::microseconds(static_cast<int64_t>(rate_ * kMicrosPerEventPerSecond));
  interval_ = std::clamp(wanted, min_, max_);
}

}  // namespace pgoutbox::core
