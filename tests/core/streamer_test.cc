// The streamer's pure parts. Its loop runs against a real PostgreSQL and the
// mock Kafka cluster in tests/integration.
#include "core/streamer.h"

#include <gtest/gtest.h>

namespace pgoutbox::core {
namespace {

using std::chrono::milliseconds;

TEST(TimeUntilFeedbackTest, CountsDownToTheInterval) {
  Clock::time_point t0{};
  EXPECT_EQ(TimeUntilFeedback(t0, t0, milliseconds(1000), milliseconds(5000)), milliseconds(1000));
  EXPECT_EQ(TimeUntilFeedback(t0 + milliseconds(400), t0, milliseconds(1000), milliseconds(5000)),
            milliseconds(600));
  // Capped so stop requests are noticed.
  EXPECT_EQ(TimeUntilFeedback(t0, t0, milliseconds(1000), milliseconds(200)), milliseconds(200));
}

TEST(TimeUntilFeedbackTest, DueOrOverdueIsZero) {
  Clock::time_point t0{};
  EXPECT_EQ(TimeUntilFeedback(t0 + milliseconds(1000), t0, milliseconds(1000), milliseconds(200)),
            milliseconds(0));
  EXPECT_EQ(TimeUntilFeedback(t0 + milliseconds(5000), t0, milliseconds(1000), milliseconds(200)),
            milliseconds(0));
}

TEST(TimeUntilFeedbackTest, RoundsPartialMillisecondsUp) {
  Clock::time_point t0{};
  auto now = t0 + std::chrono::microseconds(999500);
  EXPECT_EQ(TimeUntilFeedback(now, t0, milliseconds(1000), milliseconds(200)), milliseconds(1));
}

}  // namespace
}  // namespace pgoutbox::core
