#include "common/duration.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace pgoutbox {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

TEST(DurationTest, ParsesUnits) {
  EXPECT_EQ(*ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(*ParseDuration("1s"), milliseconds(1000));
  EXPECT_EQ(*ParseDuration("30"), milliseconds(30000));
  EXPECT_EQ(*ParseDuration("5m"), milliseconds(300000));
  EXPECT_EQ(*ParseDuration("24h"), milliseconds(86400000));
  EXPECT_EQ(*ParseDuration("1d"), milliseconds(86400000));
  EXPECT_EQ(*ParseDuration("0"), milliseconds(0));
}

TEST(DurationTest, RejectsGarbage) {
  for (const char* bad : {"", "s", "-1s", "1.5s", "1w", "1 s", "abc", "99999999999999999999"}) {
    auto d = ParseDuration(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument);
    }
  }
}

// Nothing a clock cannot hold: 10^9 hours would overflow a steady_clock
// time point (nanoseconds) and poll()'s int of milliseconds.
TEST(DurationTest, RefusesWhatOverflowsTheClock) {
  EXPECT_EQ(*ParseDuration("36500d"), kMaxDuration);
  for (const char* bad : {"36501d", "1000000000h", "1000000000d", "876001h", "99999999999999999999",
                          "18446744073709551616ms"}) {
    auto d = ParseDuration(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(d.status().message().find("is too long (at most 36500d)"), std::string::npos)
        << d.status().message();
  }
  // The limit is safe to add to any clock reading.
  const auto later = std::chrono::steady_clock::now() + kMaxDuration;
  EXPECT_GT(later, std::chrono::steady_clock::now());
  EXPECT_GT(std::chrono::system_clock::now() + kMaxDuration, std::chrono::system_clock::now());
}

// Durations handed on as an int of milliseconds stop at INT_MAX ms.
TEST(DurationTest, RefusesWhatOverflowsAnIntOfMilliseconds) {
  EXPECT_EQ(*ParseDuration("2147483647ms", kMaxIntMillis), kMaxIntMillis);
  EXPECT_EQ(*ParseDuration("24d", kMaxIntMillis), 24 * 24h);
  for (const char* bad : {"2147483648ms", "25d", "600h", "1000000000h"}) {
    auto d = ParseDuration(bad, kMaxIntMillis);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_NE(d.status().message().find("is too long (at most 24d)"), std::string::npos)
        << d.status().message();
  }
  // Below a day the limit is written in seconds.
  auto d = ParseDuration("2m", 90s);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("(at most 90s)"), std::string::npos) << d.status().message();
  // A unit that does not exist is still not a duration, however many digits.
  d = ParseDuration("99999999999999999999w");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("is not a duration"), std::string::npos);
}

TEST(DurationTest, FormatsWithTheLargestExactUnit) {
  EXPECT_EQ(FormatDuration(24h), "24h");
  EXPECT_EQ(FormatDuration(90min), "90m");
  EXPECT_EQ(FormatDuration(60s), "1m");
  EXPECT_EQ(FormatDuration(30s), "30s");
  EXPECT_EQ(FormatDuration(1500ms), "1500ms");
  EXPECT_EQ(FormatDuration(0ms), "0s");
}

// The start-up line echoes durations the way they are written, and every
// duration it prints reads back as the same value.
TEST(DurationTest, FormattedDurationsParseBack) {
  for (int64_t ms :
       {0LL, 1LL, 200LL, 999LL, 1000LL, 1500LL, 60000LL, 90000LL, 3600000LL, 5400000LL, 86400000LL,
        7 * 86400000LL, 1000000000LL * 1000, static_cast<long long>(kMaxDuration.count()),
        static_cast<long long>(kMaxIntMillis.count())}) {
    const std::string text = FormatDuration(milliseconds(ms));
    auto back = ParseDuration(text);
    ASSERT_TRUE(back.ok()) << ms << " ms printed as " << text << ": " << back.status().ToString();
    EXPECT_EQ(back->count(), ms) << text;
  }
}

}  // namespace
}  // namespace pgoutbox
