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
  for (int64_t ms : {0LL, 1LL, 200LL, 999LL, 1000LL, 1500LL, 60000LL, 90000LL, 3600000LL, 5400000LL,
                     86400000LL, 7 * 86400000LL, 1000000000LL * 1000, 1000000000LL * 3600000}) {
    const std::string text = FormatDuration(milliseconds(ms));
    auto back = ParseDuration(text);
    ASSERT_TRUE(back.ok()) << ms << " ms printed as " << text << ": " << back.status().ToString();
    EXPECT_EQ(back->count(), ms) << text;
  }
}

}  // namespace
}  // namespace pgoutbox
