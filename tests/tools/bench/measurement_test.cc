#include "tools/bench/measurement.h"

#include <gtest/gtest.h>

namespace pgoutbox::bench {
namespace {

TEST(MeasurementTest, ParsesPgoutboxTimeStamps) {
  // 2026-12-06T23:30:57Z is 1796599857.
  EXPECT_DOUBLE_EQ(*ParseLogTime("2026-12-06T23:30:57.250+00:00 info confirmed position 0/1"),
                   1796599857.25);
  EXPECT_DOUBLE_EQ(*ParseLogTime("2026-12-06T23:30:57.250+0000 info x"), 1796599857.25);
  EXPECT_DOUBLE_EQ(*ParseLogTime("2026-12-07T00:30:57.250+01:00 info x"), 1796599857.25);
  EXPECT_DOUBLE_EQ(*ParseLogTime("2026-12-06T22:00:57.000-0130 info x"), 1796599857.0);
}

TEST(MeasurementTest, RejectsLinesWithoutATimeStamp) {
  EXPECT_FALSE(ParseLogTime(""));
  EXPECT_FALSE(ParseLogTime("info confirmed position"));
  EXPECT_FALSE(ParseLogTime("2026-12-06T23:30:57+0000 info"));  // no milliseconds
  EXPECT_FALSE(ParseLogTime("2026-12-06T23:30:57.250 info"));   // no offset
  EXPECT_FALSE(ParseLogTime("2026-12-06 23:30:57.250+0000 info"));
}

TEST(MeasurementTest, TakesTheLastMatchingLine) {
  const std::string log =
      "2026-12-06T23:30:57.000+00:00 info confirmed position 0/10\n"
      "2026-12-06T23:30:58.500+00:00 info confirmed position 0/20\n"
      "2026-12-06T23:30:59.000+00:00 info stopping\n";
  EXPECT_DOUBLE_EQ(*LastLineTime(log, "info confirmed position"), 1796599858.5);
  EXPECT_FALSE(LastLineTime(log, "no such line"));
}

TEST(MeasurementTest, FormatsFiguresPerEvent) {
  Measurement m;
  m.wall_s = 5;
  m.user_s = 0.75;
  m.sys_s = 0.25;
  m.maxrss_kb = 20480;
  m.start_unix_s = 1796599857.25;
  EXPECT_EQ(FormatMeasurement(m, 0),
            "wall_s=5 user_s=0.75 sys_s=0.25 maxrss_kb=20480 exit=0 "
            "start_unix_s=1796599857.250000\n");
  m.until_s = 4;
  EXPECT_EQ(FormatMeasurement(m, 200000),
            "wall_s=5 user_s=0.75 sys_s=0.25 maxrss_kb=20480 exit=0 "
            "start_unix_s=1796599857.250000 until_s=4 events_per_s=50000 cpu_s_per_100k=0.5 "
            "maxrss_mib=20\n");
}

}  // namespace
}  // namespace pgoutbox::bench
