#include "tools/bench/latency_consumer.h"

#include <gtest/gtest.h>

namespace pgoutbox::bench {
namespace {

TEST(LatencyConsumerTest, ExtractsTheTimestampField) {
  EXPECT_EQ(ExtractTimestampMicros(R"({"ts": 1764000000123456, "note": "x"})"), 1764000000123456);
  EXPECT_EQ(ExtractTimestampMicros(R"({"a":1,"ts":42})"), 42);
  EXPECT_EQ(ExtractTimestampMicros(R"({"note": "no timestamp"})"), -1);
  EXPECT_EQ(ExtractTimestampMicros(R"({"ts": "soon"})"), -1);
}

TEST(LatencyConsumerTest, ExtractsAnyIntegerField) {
  EXPECT_EQ(ExtractIntegerField(R"({"fate": "c0c0", "seq": 17, "note": "x"})", "seq"), 17);
  EXPECT_EQ(ExtractIntegerField(R"({"seq":0})", "seq"), 0);
  EXPECT_EQ(ExtractIntegerField(R"({"sequence": 5})", "seq"), -1);
  EXPECT_EQ(ExtractIntegerField(R"({"seq": null})", "seq"), -1);
}

TEST(LatencyConsumerTest, NearestRankPercentiles) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);
  EXPECT_EQ(Percentile(&v, 50), 50);
  EXPECT_EQ(Percentile(&v, 99), 99);
  EXPECT_EQ(Percentile(&v, 99.9), 100);
  EXPECT_EQ(Percentile(&v, 100), 100);
  std::vector<double> empty;
  EXPECT_EQ(Percentile(&empty, 99), 0);
}

}  // namespace
}  // namespace pgoutbox::bench
