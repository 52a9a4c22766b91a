// SendPacer: when the streaming loop sends the next batch of live events.
//
// A batch goes out at once after a quiet spell; under load the next one
// waits until an interval has passed since the previous one, and the
// interval grows with the event rate: 1 microsecond per event per second
// (1 ms at 1,000 events/s, 5 ms at 5,000), kept between `min` and `max`.
// At low rates each event still goes out within about a millisecond; at
// high rates each request carries several events per partition, which is
// what keeps the CPU per event, the number of requests and the broker's work
// low, for a bounded delay (`max`, 5 ms by default: librdkafka's own
// linger.ms). The rate is a moving average of the events per second between
// sends, so a single burst does not stretch the interval.
//
// Thread safety: none; one owner (the streaming loop). No I/O: the caller
// passes the time.
#pragma once

#include <chrono>
#include <cstdint>

namespace pgoutbox::core {

class SendPacer {
 public:
  using Clock = std::chrono::steady_clock;

  // max < min is treated as max == min; min zero: no wait at all.
  SendPacer(std::chrono::microseconds min, std::chrono::microseconds max);

  // `events` more events were produced since the last Sent().
  void Produced(uint64_t events = 1) { unsent_ += events; }
  // When the batch produced since the last Sent() may go out.
  Clock::time_point Due() const { return last_send_ + interval_; }
  // The batch went out at `now`: the rate and the next interval are updated.
  void Sent(Clock::time_point now);

  std::chrono::microseconds interval() const { return interval_; }
  double events_per_second() const { return rate_; }

 private:
  std::chrono::microseconds min_;
  std::chrono::microseconds max_;
  std::chrono::microseconds interval_;
  Clock::time_point last_send_{};
  uint64_t unsent_ = 0;
  double rate_ = 0;
};

}  // namespace pgoutbox::core
