#include "tools/bench/report.h"

#include <gtest/gtest.h>

namespace pgoutbox::bench {
namespace {

ReportInfo Info() {
  ReportInfo info;
  info.mode = "quick";
  info.invocation = "scripts/bench.sh --quick";
  info.commit = "abc1234";
  info.date = "2026-12-06 23:30 UTC";
  info.cpu = "2 x CPU";
  info.memory = "23.5 GiB";
  info.kernel = "Linux 6.1";
  info.postgres_version = "15.18";
  info.librdkafka_version = "2.0.2-1";
  info.backlog_events = 20000;
  info.reps = 1;
  info.rss_events = 100000;
  info.live_seconds = 10;
  info.warmup_seconds = 2;
  return info;
}

Results Sample() {
  Results r;
  r.Add("settings", "fsync", "on", "");
  r.Add("catchup_1row", "ratio", "0.8996", "ratio");
  r.Add("catchup_10row", "ratio", "0.85", "ratio");
  r.Add("rss", "pgoutbox_peak_rss_mib", "21.84", "MiB");
  for (const char* rate : {"1000", "5000"}) {
    const std::string p = std::string("live_") + rate;
    r.Add(p, "target_events_per_s", rate, "events/s");
    r.Add(p, "insert_to_consume_p99_ms", "4.5", "ms");
    r.Add(p, "confirm_lag_p99_ms", "1149", "ms");
  }
  r.Add("live_5000", "achieved_events_per_s", "4182.4", "events/s");
  return r;
}

TEST(ReportTest, EvaluatesTheTargetsOnTheRoundedFigures) {
  const std::vector<Target> t = EvaluateTargets(Sample(), Info());
  ASSERT_EQ(t.size(), 8u);
  EXPECT_EQ(t[0].label, "catch-up ratio, 1-row transactions");
  EXPECT_EQ(t[0].goal, ">= 0.90");
  EXPECT_EQ(t[0].result, "0.90");  // 0.8996 shows as 0.90, which meets 0.90
  EXPECT_EQ(t[0].met, "yes");
  EXPECT_EQ(t[1].met, "**no**");
  EXPECT_EQ(t[2].label, "insert-to-consume p99 at 5000 ev/s");
  EXPECT_EQ(t[2].result, "4.50 ms (load reached only 4182 ev/s)");
  EXPECT_EQ(t[2].met, "yes");
  EXPECT_EQ(t[3].result, "n/a ms (load reached only 4182 ev/s)");
  EXPECT_EQ(t[3].met, "n/a");
  EXPECT_EQ(t[5].label, "confirm lag p99 at 1000 ev/s");
  EXPECT_EQ(t[5].result, "1.15 s");
  EXPECT_EQ(t[5].met, "yes");
  EXPECT_EQ(t[7].label, "peak RSS, 100000-event backlog");
  EXPECT_EQ(t[7].result, "21.8 MiB (quick: not the 1M backlog)");
}

TEST(ReportTest, RecordsTheTargetsMet) {
  Results r = Sample();
  AddTargetRows(EvaluateTargets(r, Info()), &r);
  EXPECT_EQ(*r.Get("targets", "catch_up_ratio_1_row_transactions"), "1");
  EXPECT_EQ(*r.Get("targets", "catch_up_ratio_10_row_transactions"), "0");
  EXPECT_EQ(*r.Get("targets", "insert_to_consume_p99_9_at_5000_ev_s"), "0");
  EXPECT_EQ(TargetSlug("peak RSS, 1000000-event backlog"), "peak_RSS_1000000_event_backlog");
}

TEST(ReportTest, MarkdownHasEverySection) {
  Results r = Sample();
  const std::string md = RenderMarkdown(r, Info(), EvaluateTargets(r, Info()));
  for (const char* part :
       {"# pgoutbox benchmark (quick)\n", "`scripts/bench.sh --quick`", "## Targets",
        "| catch-up ratio, 1-row transactions | >= 0.90 | 0.90 | yes |", "## Catch-up throughput",
        "| 1-row transactions | n/a | n/a | n/a | 0.90 |", "## Peak RSS on a large backlog",
        "## Live latency", "10s per phase", "| pgoutbox | 1000 | n/a |",
        "| floor (Kafka only) | 5000 |", "## PostgreSQL settings", "| fsync | on |"}) {
    EXPECT_NE(md.find(part), std::string::npos) << part << "\n" << md;
  }
}

TEST(ReportTest, ChartScriptCarriesItsData) {
  const std::string gp = RenderChartScript(Sample(), Info(), "/out/chart.png");
  EXPECT_NE(gp.find("set output \"/out/chart.png\""), std::string::npos);
  EXPECT_NE(gp.find("\"1-row tx\" NaN NaN NaN\n"), std::string::npos);
  EXPECT_NE(gp.find("\"live 5000\" NaN 4.5 NaN\n"), std::string::npos);
  EXPECT_NE(gp.find("\"floor 1000\" NaN NaN NaN\n"), std::string::npos);
  EXPECT_NE(gp.find("pgoutbox benchmark (quick, abc1234, 2026-12-06 23:30 UTC)"),
            std::string::npos);
}

}  // namespace
}  // namespace pgoutbox::bench
