#include "tools/bench/histogram.h"

#include <gtest/gtest.h>

namespace pgoutbox::bench {
namespace {

constexpr const char* kBefore = R"(# TYPE x histogram
x_bucket{le="0.001"} 10
x_bucket{le="0.002"} 10
x_bucket{le="0.005"} 10
x_bucket{le="+Inf"} 10
x_sum 0.005
x_count 10
y_bucket{le="1"} 99
)";
constexpr const char* kAfter = R"(x_bucket{le="0.001"} 60
x_bucket{le="0.002"} 100
x_bucket{le="0.005"} 109
x_bucket{le="+Inf"} 110
x_count 110
)";

TEST(HistogramTest, QuantilesOfTheObservationsBetweenTwoScrapes) {
  auto before = ParseHistogram(kBefore, "x");
  auto after = ParseHistogram(kAfter, "x");
  ASSERT_TRUE(before.ok() && after.ok());
  auto diff = Difference(*after, *before);
  ASSERT_TRUE(diff.ok());
  ASSERT_EQ(diff->size(), 4u);
  EXPECT_EQ(diff->back().count, 100);
  // 50 in (0, 1 ms], 40 in (1, 2 ms], 9 in (2, 5 ms], 1 above.
  EXPECT_NEAR(*Quantile(*diff, 0.5), 0.001, 1e-12);
  EXPECT_NEAR(*Quantile(*diff, 0.25), 0.0005, 1e-12);
  EXPECT_NEAR(*Quantile(*diff, 0.70), 0.0015, 1e-12);
  EXPECT_NEAR(*Quantile(*diff, 0.95), 0.002 + 0.003 * 5.0 / 9.0, 1e-12);
  EXPECT_NEAR(*Quantile(*diff, 0.999), 0.005, 1e-12);  // in +Inf: the highest finite bound
}

TEST(HistogramTest, EmptyAndMissingHistograms) {
  auto before = ParseHistogram(kBefore, "x");
  ASSERT_TRUE(before.ok());
  auto none = Difference(*before, *before);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(Quantile(*none, 0.99).has_value());
  EXPECT_EQ(ParseHistogram(kBefore, "z").status().code(), Status::Code::kNotFound);
  auto y = ParseHistogram(kBefore, "y");
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(Difference(*y, *before).status().code(), Status::Code::kInvalidArgument);
}

TEST(HistogramTest, ScrapeDifferenceOfAHistogramThatMayBeAbsent) {
  auto x = ScrapeDifference(kBefore, kAfter, "x");
  ASSERT_TRUE(x.ok() && x->has_value());
  EXPECT_EQ((*x)->back().count, 100);
  // Absent from the later scrape: no figures, not an error.
  auto z = ScrapeDifference(kBefore, kAfter, "z");
  ASSERT_TRUE(z.ok());
  EXPECT_FALSE(z->has_value());
  // Absent only from the earlier one: everything observed since counts.
  auto fresh = ScrapeDifference("", kAfter, "x");
  ASSERT_TRUE(fresh.ok() && fresh->has_value());
  EXPECT_EQ((*fresh)->back().count, 110);
  EXPECT_EQ(ScrapeDifference(kBefore, "x_bucket{le=\"1\"} many\n", "x").status().code(),
            Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace pgoutbox::bench
