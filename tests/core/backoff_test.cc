#include "core/backoff.h"

#include <gtest/gtest.h>

namespace pgoutbox::core {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, DoublesWithJitterUpToTheCap) {
  Backoff b(milliseconds(1000), milliseconds(30000), 42);
  const int64_t steps[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
  for (int64_t step : steps) {
    int64_t d = b.Next().count();
    EXPECT_GE(d, step / 2) << step;
    EXPECT_LE(d, step) << step;
  }
  EXPECT_EQ(b.attempts(), 8);
  b.Reset();
  EXPECT_LE(b.Next().count(), 1000);
}

TEST(BackoffTest, JitterSpreadsClients) {
  // Two clients that fail together do not retry together.
  Backoff a(milliseconds(1000), milliseconds(30000), 1);
  Backoff c(milliseconds(1000), milliseconds(30000), 2);
  int same = 0;
  for (int i = 0; i < 10; ++i) same += a.Next() == c.Next();
  EXPECT_LT(same, 3);
}

}  // namespace
}  // namespace pgoutbox::core
