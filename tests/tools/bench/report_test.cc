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
  r.Add("catchup_1row", "pgoutbox_cpu_s_per_1k", "0.0057", "s");
  r.Add("catchup_10row", "ratio", "0.85", "ratio");
  r.Add("catchup_1msg", "events", "20000", "events");
  r.Add("catchup_1msg", "ceiling_events_per_s", "101234.7", "events/s");
  r.Add("catchup_1msg", "pgoutbox_events_per_s", "93456.7", "events/s");
  r.Add("catchup_1msg", "ratio", "0.923", "ratio");
  r.Add("catchup_1msg", "backlog_wal_bytes_per_event", "612.4", "bytes");
  r.Add("catchup_1msg", "stream_bytes_per_event", "655.6", "bytes");
  r.Add("catchup_10msg", "ratio", "0.811", "ratio");
  r.Add("rss", "pgoutbox_peak_rss_mib", "21.84", "MiB");
  for (const char* rate : {"1000", "5000"}) {
    const std::string p = std::string("live_") + rate;
    r.Add(p, "target_events_per_s", rate, "events/s");
    r.Add(p, "insert_to_consume_p99_ms", "4.5", "ms");
    r.Add(p, "confirm_lag_p99_ms", "1149", "ms");
  }
  r.Add("live_5000", "achieved_events_per_s", "4182.4", "events/s");
  r.Add("live_5000", "insert_to_consume_p999_ms", "25", "ms");
  r.Add("live_5000", "own_latency_p50_ms", "0.8", "ms");
  r.Add("live_5000", "own_latency_p99_ms", "1.2", "ms");
  r.Add("live_5000", "own_latency_p999_ms", "1.9", "ms");
  r.Add("live_5000", "read_delay_p50_ms", "0.1", "ms");
  r.Add("live_5000", "read_delay_p99_ms", "0.4", "ms");
  r.Add("live_5000", "read_delay_p999_ms", "0.7", "ms");
  r.Add("live_5000", "cpu_s_per_1k", "0.01712", "s");
  r.Add("live_5000", "cpu_live_to_catchup", "3.004", "ratio");  // shows as 3.00
  r.Add("relay_5000", "achieved_events_per_s", "5000", "events/s");
  r.Add("relay_5000", "insert_to_consume_p99_ms", "6", "ms");
  r.Add("relay_5000", "insert_to_consume_p999_ms", "20", "ms");
  r.Add("relay_5000", "cpu_s_per_1k", "0.0301", "s");
  return r;
}

TEST(ReportTest, EvaluatesTheTargetsOnTheRoundedFigures) {
  const std::vector<Target> t = EvaluateTargets(Sample(), Info());
  ASSERT_EQ(t.size(), 12u);
  EXPECT_EQ(t[0].label, "catch-up ratio, 1-row transactions");
  EXPECT_EQ(t[0].goal, ">= 0.90");
  EXPECT_EQ(t[0].result, "0.90");  // 0.8996 shows as 0.90, which meets 0.90
  EXPECT_EQ(t[0].met, "yes");
  EXPECT_EQ(t[1].met, "**no**");
  EXPECT_EQ(t[4].label, "insert-to-consume p99 at 5000 ev/s");
  EXPECT_EQ(t[4].goal, "<= 10 ms");
  EXPECT_EQ(t[4].result, "4.50 ms (load reached only 4182 ev/s)");
  EXPECT_EQ(t[4].met, "yes");
  EXPECT_EQ(t[5].goal, "<= 20 ms");
  EXPECT_EQ(t[5].met, "**no**");
  EXPECT_EQ(t[6].label, "own share (Commit to ack) p99 at 5000 ev/s");
  EXPECT_EQ(t[6].result, "1.20 ms (load reached only 4182 ev/s)");
  EXPECT_EQ(t[6].met, "yes");
  EXPECT_EQ(t[7].label, "CPU per event at 5000 ev/s, live / catch-up");
  EXPECT_EQ(t[7].goal, "<= 3 x");
  EXPECT_EQ(t[7].met, "yes");
  EXPECT_EQ(t[8].label, "commit-to-ack p99 at 5000 ev/s");
  EXPECT_EQ(t[8].result, "n/a ms (load reached only 4182 ev/s)");
  EXPECT_EQ(t[8].met, "n/a");
  EXPECT_EQ(t[9].label, "confirm lag p99 at 1000 ev/s");
  EXPECT_EQ(t[9].result, "1.15 s");
  EXPECT_EQ(t[9].met, "yes");
  EXPECT_EQ(t[11].label, "peak RSS, 100000-event backlog");
  EXPECT_EQ(t[11].result, "21.8 MiB (quick: not the 1M backlog)");
}

TEST(ReportTest, ComparesPgoutboxWithTheNaiveRelay) {
  const std::vector<Target> t = EvaluateTargets(Sample(), Info());
  EXPECT_EQ(t[2].label, "insert-to-consume p99 at 5000 ev/s, pgoutbox vs naive relay");
  EXPECT_EQ(t[2].goal, "<= the naive relay's");
  EXPECT_EQ(t[2].result, "4.50 ms (relay 6.00 ms) (pgoutbox's load reached only 4182 ev/s)");
  EXPECT_EQ(t[2].met, "yes");
  EXPECT_EQ(t[3].result, "25.00 ms (relay 20.00 ms) (pgoutbox's load reached only 4182 ev/s)");
  EXPECT_EQ(t[3].met, "**no**");
  // Without a relay run there is nothing to compare with.
  Results r = Sample();
  Results without;
  for (const ResultRow& row : r.rows()) {
    if (row.phase != "relay_5000") without.Add(row.phase, row.metric, row.value, row.unit);
  }
  const std::vector<Target> alone = EvaluateTargets(without, Info());
  EXPECT_EQ(alone[2].result, "4.50 ms (relay n/a ms) (pgoutbox's load reached only 4182 ev/s)");
  EXPECT_EQ(alone[2].met, "n/a");
}

TEST(ReportTest, RecordsTheTargetsMet) {
  Results r = Sample();
  AddTargetRows(EvaluateTargets(r, Info()), &r);
  EXPECT_EQ(*r.Get("targets", "catch_up_ratio_1_row_transactions"), "1");
  EXPECT_EQ(*r.Get("targets", "catch_up_ratio_10_row_transactions"), "0");
  EXPECT_EQ(*r.Get("targets", "insert_to_consume_p99_9_at_5000_ev_s"), "0");
  EXPECT_EQ(*r.Get("targets", "insert_to_consume_p99_at_5000_ev_s_pgoutbox_vs_naive_relay"), "1");
  EXPECT_EQ(TargetSlug("peak RSS, 1000000-event backlog"), "peak_RSS_1000000_event_backlog");
}

TEST(ReportTest, MarkdownHasEverySection) {
  Results r = Sample();
  const std::string md = RenderMarkdown(r, Info(), EvaluateTargets(r, Info()));
  for (const char* part :
       {"# pgoutbox benchmark (quick)\n", "`scripts/bench.sh --quick`", "## Targets",
        "| catch-up ratio, 1-row transactions | >= 0.90 | 0.90 | yes |", "## Catch-up throughput",
        "| 1-row transactions | n/a | n/a | n/a | 0.90 |", "pgoutbox CPU s / 1,000 events |",
        "## Peak RSS on a large backlog", "## Live latency", "10s per phase",
        "(0.0057 s / 1,000 events)", "| 1000 | pgoutbox | n/a |", "| 1000 | naive relay | n/a |",
        "| 5000 | floor (Kafka only) |", "### pgoutbox's own histograms", "## PostgreSQL settings",
        "| fsync | on |"}) {
    EXPECT_NE(md.find(part), std::string::npos) << part << "\n" << md;
  }
}

TEST(ReportTest, LiveRowsSideBySide) {
  Results r = Sample();
  const std::string md = RenderMarkdown(r, Info(), EvaluateTargets(r, Info()));
  // pgoutbox: CPU per 1,000 events, live / catch-up, own share; the relay:
  // its CPU only; the floor: none of them.
  EXPECT_NE(md.find("| 5000 | pgoutbox | 4182 | n/a | n/a / 4.50 / 25.00 | n/a | 0.0171 | 3.00 | "
                    "0.80 / 1.20 / 1.90 |\n"),
            std::string::npos)
      << md;
  EXPECT_NE(
      md.find("| 5000 | naive relay | 5000 | n/a | n/a / 6.00 / 20.00 | n/a | 0.0301 |  |  |\n"),
      std::string::npos)
      << md;
  EXPECT_NE(md.find("| 5000 | floor (Kafka only) | n/a | n/a | n/a / n/a / n/a | n/a |  |  |  |\n"),
            std::string::npos)
      << md;
  // A histogram this pgoutbox does not export shows as n/a, not as zeros.
  EXPECT_NE(md.find("| 1000 | pgoutbox | n/a | n/a | n/a / 4.50 / n/a | n/a | n/a | n/a | n/a |\n"),
            std::string::npos)
      << md;
}

// pgoutbox's histograms by stage, the read delay among them; n/a where a
// phase has none.
TEST(ReportTest, OwnHistogramsShowEachStage) {
  Results r = Sample();
  const std::string md = RenderMarkdown(r, Info(), EvaluateTargets(r, Info()));
  const size_t table = md.find("| rate ev/s | commit-to-receive p50 / p99 / p99.9 ms | read delay");
  ASSERT_NE(table, std::string::npos) << md;
  const size_t row = md.find("| 5000 | ", table);
  ASSERT_NE(row, std::string::npos) << md;
  const std::string line = md.substr(row, md.find('\n', row) - row);
  EXPECT_NE(line.find("| 0.10 / 0.40 / 0.70 |"), std::string::npos) << line;
  EXPECT_NE(line.find("| 0.80 / 1.20 / 1.90 |"), std::string::npos) << line;
  const size_t row1000 = md.find("| 1000 | ", table);
  ASSERT_NE(row1000, std::string::npos) << md;
  EXPECT_EQ(md.substr(row1000, md.find('\n', row1000) - row1000).find("0.10 / 0.40"),
            std::string::npos);
}

// The message backlogs are rows of the same catch-up table, with their
// ratio to the same ceiling and their size per event; no target of their own.
TEST(ReportTest, CatchupTableShowsTheMessageBacklogs) {
  Results r = Sample();
  const std::vector<Target> targets = EvaluateTargets(r, Info());
  EXPECT_EQ(targets.size(), 12u);
  const std::string md = RenderMarkdown(r, Info(), targets);
  EXPECT_NE(md.find("| backlog | events | ceiling ev/s | pgoutbox ev/s | ratio | pg_recvlogical "
                    "ev/s | pgoutbox peak RSS MiB | pgoutbox CPU s / 1,000 events | WAL bytes / "
                    "event | stream bytes / event |\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| 1-message transactions | 20000 | 101235 | 93457 | 0.92 | n/a | n/a | n/a "
                    "| 612 | 656 |\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| 10-message transactions | n/a | n/a | n/a | 0.81 | n/a | n/a | n/a | n/a "
                    "| n/a |\n"),
            std::string::npos)
      << md;
  // After the row backlogs.
  EXPECT_LT(md.find("| one transaction |"), md.find("| 1-message transactions |"));
  const std::string gp = RenderChartScript(r, Info(), "/out/chart.png");
  EXPECT_NE(gp.find("\"1-msg tx\" 101235 93456.7 NaN\n\"10-msg tx\" NaN NaN NaN\n"),
            std::string::npos)
      << gp;
}

TEST(ReportTest, ChartScriptCarriesItsData) {
  const std::string gp = RenderChartScript(Sample(), Info(), "/out/chart.png");
  EXPECT_NE(gp.find("set output \"/out/chart.png\""), std::string::npos);
  EXPECT_NE(gp.find("\"1-row tx\" NaN NaN NaN\n"), std::string::npos);
  EXPECT_NE(gp.find("\"pgoutbox 5000\" NaN 4.5 25\n"), std::string::npos) << gp;
  EXPECT_NE(gp.find("\"relay 5000\" NaN 6 20\n"), std::string::npos) << gp;
  EXPECT_NE(gp.find("\"floor 1000\" NaN NaN NaN\n"), std::string::npos);
  EXPECT_NE(gp.find("pgoutbox benchmark (quick, abc1234, 2026-12-06 23:30 UTC)"),
            std::string::npos);
}

}  // namespace
}  // namespace pgoutbox::bench
