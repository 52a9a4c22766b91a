#include "tools/faults/fault_plan.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace pgoutbox::faults {
namespace {

PlanOptions Options(uint64_t seed) {
  PlanOptions o;
  o.seed = seed;
  o.duration_ms = 300000;
  o.kills = 24;
  o.outage_s = 30;
  o.error_percent = 10;
  o.errors_from = 8;
  o.errors_to = 16;
  return o;
}

TEST(FaultPlanTest, TheSameSeedGivesTheSamePlan) {
  EXPECT_EQ(FormatPlan(PlanFaults(Options(7))), FormatPlan(PlanFaults(Options(7))));
  EXPECT_NE(FormatPlan(PlanFaults(Options(7))), FormatPlan(PlanFaults(Options(8))));
}

TEST(FaultPlanTest, PlacesEveryFaultInsideTheWorkload) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    const PlanOptions o = Options(seed);
    const FaultPlan p = PlanFaults(o);
    ASSERT_EQ(p.kill_at_ms.size(), 24u);
    ASSERT_EQ(p.kill_pause_ms.size(), 24u);
    EXPECT_TRUE(std::is_sorted(p.kill_at_ms.begin(), p.kill_at_ms.end()));
    for (int64_t t : p.kill_at_ms) EXPECT_TRUE(t >= 3000 && t <= o.duration_ms);
    for (int64_t t : p.kill_pause_ms) EXPECT_TRUE(t >= 200 && t <= 3000);
    EXPECT_TRUE(p.outage_at_ms >= 30000 && p.outage_at_ms <= 240000);
    // 300 s leave room: the restarts stay 20 s away from the outage and each other.
    const int64_t outage_end = p.outage_at_ms + 30000;
    for (int64_t t : {p.pg_fast_at_ms, p.pg_immediate_at_ms}) {
      EXPECT_TRUE(t < p.outage_at_ms - 20000 || t > outage_end + 20000) << seed;
    }
    EXPECT_GT(std::abs(p.pg_fast_at_ms - p.pg_immediate_at_ms), 20000) << seed;
  }
}

TEST(FaultPlanTest, DescribesAndFormatsThePlan) {
  PlanOptions o = Options(1);
  o.kills = 2;
  o.errors_from = 1;
  o.errors_to = 2;
  const FaultPlan p = PlanFaults(o);
  const std::string line = FormatPlan(p);
  EXPECT_EQ(line.rfind("outage_at=", 0), 0u);
  EXPECT_NE(line.find(" kill_at=" + std::to_string(p.kill_at_ms[0]) + "," +
                      std::to_string(p.kill_at_ms[1]) + " "),
            std::string::npos);
  const std::string text = DescribePlan(o, p);
  EXPECT_NE(text.find("seed 1, planned workload 300000 ms"), std::string::npos);
  EXPECT_NE(text.find("produce errors 10% from SIGKILL #1 to #2\n"), std::string::npos);
  EXPECT_NE(text.find("SIGKILL #2 at "), std::string::npos);
  o.kills = 0;
  EXPECT_EQ(FormatPlan(PlanFaults(o)).find("kill_at= kill_pause=\n") != std::string::npos, true);
}

}  // namespace
}  // namespace pgoutbox::faults
