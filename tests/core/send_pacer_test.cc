#include "core/send_pacer.h"

#include <gtest/gtest.h>

#include <chrono>

namespace pgoutbox::core {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using Clock = SendPacer::Clock;

// Sends `batches` batches, one every `span`, each of `events` events.
Clock::time_point Steady(SendPacer& pacer, Clock::time_point t, Clock::duration span, int events,
                         int batches) {
  for (int i = 0; i < batches; ++i) {
    t += span;
    pacer.Produced(events);
    pacer.Sent(t);
  }
  return t;
}

TEST(SendPacerTest, TheFirstBatchIsDueAtOnceAndTheNextAfterTheMinimum) {
  SendPacer pacer(milliseconds(1), milliseconds(5));
  const Clock::time_point t0 = Clock::now();
  EXPECT_LE(pacer.Due(), t0);
  pacer.Produced();
  pacer.Sent(t0);
  EXPECT_EQ(pacer.Due(), t0 + milliseconds(1));
}

TEST(SendPacerTest, TheIntervalGrowsWithTheRateUpToTheMaximum) {
  SendPacer pacer(milliseconds(1), milliseconds(5));
  Clock::time_point t = Clock::now();
  pacer.Sent(t);
  // 1,000 events/s (one per millisecond): 1 ms.
  t = Steady(pacer, t, milliseconds(1), 1, 200);
  EXPECT_NEAR(pacer.events_per_second(), 1000, 1);
  EXPECT_EQ(pacer.interval(), milliseconds(1));
  // 3,000 events/s: 3 ms.
  t = Steady(pacer, t, milliseconds(2), 6, 200);
  EXPECT_NEAR(pacer.events_per_second(), 3000, 1);
  EXPECT_NEAR(pacer.interval().count(), 3000, 2);
  EXPECT_EQ(pacer.Due(), t + pacer.interval());
  // 20,000 events/s: the maximum.
  t = Steady(pacer, t, milliseconds(5), 100, 200);
  EXPECT_EQ(pacer.interval(), milliseconds(5));
  // A few hundred events per second: the minimum again.
  Steady(pacer, t, milliseconds(4), 1, 200);
  EXPECT_EQ(pacer.interval(), milliseconds(1));
}

TEST(SendPacerTest, OneBurstDoesNotStretchTheIntervalToTheMaximum) {
  SendPacer pacer(milliseconds(1), milliseconds(5));
  Clock::time_point t = Clock::now();
  pacer.Sent(t);
  t = Steady(pacer, t, milliseconds(1), 1, 200);
  // 20 events in one millisecond, once: far below the 20,000/s it stands for.
  Steady(pacer, t, milliseconds(1), 20, 1);
  EXPECT_LT(pacer.interval(), milliseconds(5));
  EXPECT_GT(pacer.interval(), milliseconds(1));
}

TEST(SendPacerTest, AQuietSpellStartsTheRateAfresh) {
  SendPacer pacer(milliseconds(1), milliseconds(5));
  Clock::time_point t = Clock::now();
  pacer.Sent(t);
  t = Steady(pacer, t, milliseconds(5), 100, 20);
  ASSERT_EQ(pacer.interval(), milliseconds(5));
  // One event after two quiet seconds: sent at once, the next one soon.
  t += std::chrono::seconds(2);
  EXPECT_LE(pacer.Due(), t);
  pacer.Produced();
  pacer.Sent(t);
  EXPECT_EQ(pacer.interval(), milliseconds(1));
}

TEST(SendPacerTest, AMaximumBelowTheMinimumIsTheMinimum) {
  SendPacer pacer(milliseconds(2), microseconds(500));
  Clock::time_point t = Clock::now();
  pacer.Sent(t);
  Steady(pacer, t, milliseconds(1), 50, 20);
  EXPECT_EQ(pacer.interval(), milliseconds(2));
}

TEST(SendPacerTest, ZeroMinimumAndMaximumNeverWait) {
  SendPacer pacer(microseconds(0), microseconds(0));
  Clock::time_point t = Clock::now();
  pacer.Sent(t);
  t = Steady(pacer, t, milliseconds(1), 50, 20);
  EXPECT_EQ(pacer.Due(), t);
}

}  // namespace
}  // namespace pgoutbox::core
