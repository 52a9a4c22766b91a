#include "tools/bench/results.h"

#include <gtest/gtest.h>

namespace pgoutbox::bench {
namespace {

TEST(ResultsTest, ParsesAndWritesTheCsv) {
  const std::string csv =
      "phase,metric,value,unit\n"
      "settings,fsync,on,\n"
      "catchup_1row,events,200000,events\n";
  auto r = Results::ParseCsv(csv);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->Get("settings", "fsync"), "on");
  EXPECT_EQ(*r->Number("catchup_1row", "events"), 200000);
  EXPECT_FALSE(r->Number("settings", "fsync"));
  EXPECT_FALSE(r->Get("catchup_1row", "ratio"));
  EXPECT_EQ(r->ToCsv(), csv);
}

TEST(ResultsTest, RejectsAMissingHeaderOrField) {
  EXPECT_FALSE(Results::ParseCsv("settings,fsync,on,\n").ok());
  EXPECT_FALSE(Results::ParseCsv("").ok());
  auto r = Results::ParseCsv("phase,metric,value,unit\nsettings,fsync,on\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("line 2"), std::string::npos);
}

TEST(ResultsTest, DerivesTheCatchupFiguresAfterThePhase) {
  Results r;
  r.Add("catchup_1row", "events", "1000", "events");
  // Ceilings 100, 120, 90; speeds 90, 100, 85; ratios 0.9, 0.8333, 0.9444.
  const char* reps[][5] = {{"100", "80", "90", "20", "0.5"},
                           {"110", "120", "100", "22", "0.7"},
                           {"90", "60", "85", "21", "0.6"}};
  for (int i = 0; i < 3; ++i) {
    const std::string p = "rep" + std::to_string(i + 1) + "_";
    r.Add("catchup_1row", p + "receiver_before_events_per_s", reps[i][0], "events/s");
    r.Add("catchup_1row", p + "receiver_after_events_per_s", reps[i][1], "events/s");
    r.Add("catchup_1row", p + "pgoutbox_events_per_s", reps[i][2], "events/s");
    r.Add("catchup_1row", p + "pgoutbox_peak_rss_mib", reps[i][3], "MiB");
    r.Add("catchup_1row", p + "pgoutbox_cpu_s_per_100k", reps[i][4], "s");
  }
  r.Add("rss", "events", "5000", "events");
  r.Add("live", "pgoutbox_peak_rss_kb", "18227", "kB");
  DeriveFigures(&r);
  EXPECT_EQ(*r.Get("catchup_1row", "ceiling_events_per_s"), "100");
  EXPECT_EQ(*r.Get("catchup_1row", "pgoutbox_events_per_s"), "90");
  EXPECT_EQ(*r.Get("catchup_1row", "ratio"), "0.9");
  EXPECT_EQ(*r.Get("catchup_1row", "pgoutbox_peak_rss_mib"), "22");
  EXPECT_EQ(*r.Get("catchup_1row", "pgoutbox_cpu_s_per_100k"), "0.6");
  EXPECT_EQ(*r.Get("catchup_1row", "pgoutbox_cpu_s_per_1k"), "0.006");
  EXPECT_EQ(*r.Get("live", "pgoutbox_peak_rss_mib"), "17.7998");
  // The derived rows follow the phase's own, before the next phase.
  const auto& rows = r.rows();
  ASSERT_EQ(rows.size(), 1 + 15 + 6 + 1 + 2u);
  EXPECT_EQ(rows[16].metric, "ceiling_events_per_s");
  EXPECT_EQ(rows[22].phase, "rss");
}

// The message backlogs (events without a table) get the same figures as the
// row backlogs, against the same ceiling, and every backlog its size per
// event when its bytes were recorded.
TEST(ResultsTest, DerivesTheMessageBacklogsLikeTheRowBacklogs) {
  Results r;
  struct Backlog {
    const char* phase;
    const char* wal_bytes;
    const char* pgoutbox;
    const char* stream_bytes;
  };
  for (const Backlog& b : {Backlog{"catchup_1row", "9000000", "85000", "12000000"},
                           Backlog{"catchup_1msg", "5000000", "95000", "11000000"},
                           Backlog{"catchup_10msg", "4000000", "85000", "10000000"}}) {
    r.Add(b.phase, "backlog_wal_bytes", b.wal_bytes, "bytes");
    r.Add(b.phase, "rep1_receiver_before_events_per_s", "100000", "events/s");
    r.Add(b.phase, "rep1_receiver_after_events_per_s", "80000", "events/s");
    r.Add(b.phase, "rep1_pgoutbox_events_per_s", b.pgoutbox, "events/s");
    r.Add(b.phase, "rep1_pgoutbox_cpu_s_per_100k", "0.5", "s");
    r.Add(b.phase, "stream_bytes", b.stream_bytes, "bytes");
    r.Add(b.phase, "events", "20000", "events");
  }
  DeriveFigures(&r);
  EXPECT_EQ(*r.Get("catchup_1msg", "ceiling_events_per_s"), "100000");
  EXPECT_EQ(*r.Get("catchup_1msg", "pgoutbox_events_per_s"), "95000");
  EXPECT_EQ(*r.Get("catchup_1msg", "ratio"), "0.95");
  EXPECT_EQ(*r.Get("catchup_1msg", "pgoutbox_cpu_s_per_1k"), "0.005");
  EXPECT_EQ(*r.Get("catchup_1msg", "backlog_wal_bytes_per_event"), "250");
  EXPECT_EQ(*r.Get("catchup_1msg", "stream_bytes_per_event"), "550");
  EXPECT_EQ(*r.Get("catchup_10msg", "ratio"), "0.85");
  EXPECT_EQ(*r.Get("catchup_1row", "backlog_wal_bytes_per_event"), "450");
  EXPECT_EQ(*r.Get("catchup_1row", "stream_bytes_per_event"), "600");
  // Each phase's derived rows stay with it.
  EXPECT_EQ(r.Phases("catchup_"),
            (std::vector<std::string>{"catchup_1row", "catchup_1msg", "catchup_10msg"}));
  EXPECT_EQ(r.rows().back().phase, "catchup_10msg");
  EXPECT_EQ(r.rows().back().metric, "stream_bytes_per_event");
}

TEST(ResultsTest, DerivesTheCpuPerEventOfTheLivePhases) {
  Results r;
  r.Add("catchup_1row", "rep1_receiver_before_events_per_s", "100", "events/s");
  r.Add("catchup_1row", "rep1_receiver_after_events_per_s", "100", "events/s");
  r.Add("catchup_1row", "rep1_pgoutbox_events_per_s", "90", "events/s");
  r.Add("catchup_1row", "rep1_pgoutbox_cpu_s_per_100k", "0.8", "s");
  r.Add("rss", "pgoutbox_cpu_s_per_100k", "0.5", "s");
  for (const char* phase : {"live_5000", "relay_5000"}) {
    r.Add(phase, "consumed", "50000", "events");
    r.Add(phase, "streamer_cpu_ticks", phase[0] == 'l' ? "150" : "250", "ticks");
    r.Add(phase, "clock_ticks_per_s", "100", "Hz");
  }
  r.Add("live_1000", "consumed", "10000", "events");  // no CPU figures: nothing derived
  DeriveFigures(&r);
  EXPECT_EQ(*r.Get("catchup_1row", "pgoutbox_cpu_s_per_1k"), "0.008");
  EXPECT_EQ(*r.Get("rss", "pgoutbox_cpu_s_per_1k"), "0.005");
  EXPECT_EQ(*r.Get("live_5000", "streamer_cpu_s"), "1.5");
  EXPECT_EQ(*r.Get("live_5000", "cpu_s_per_1k"), "0.03");
  EXPECT_EQ(*r.Get("live_5000", "cpu_live_to_catchup"), "3.75");
  EXPECT_EQ(*r.Get("relay_5000", "cpu_s_per_1k"), "0.05");
  EXPECT_FALSE(r.Get("relay_5000", "cpu_live_to_catchup"));  // the relay has no catch-up
  EXPECT_FALSE(r.Get("live_1000", "cpu_s_per_1k"));
  EXPECT_EQ(r.rows().back().phase, "live_1000");
}

TEST(ResultsTest, DerivesNothingWithoutRepetitions) {
  Results r;
  r.Add("catchup_1tx", "events", "1000", "events");
  DeriveFigures(&r);
  EXPECT_EQ(r.rows().size(), 1u);
}

TEST(ResultsTest, FormatsLikeTheReport) {
  EXPECT_EQ(FormatNumber(48962.8123), "48962.8");
  EXPECT_EQ(FormatNumber(0.9205491), "0.920549");
  EXPECT_EQ(Fixed(std::optional<std::string>("0.920549"), 2), "0.92");
  EXPECT_EQ(Fixed(std::optional<std::string>("n/a"), 2), "n/a");
  EXPECT_EQ(Fixed(std::optional<std::string>(), 0), "n/a");
  EXPECT_EQ(Median({3, 1, 2}), 2);
  EXPECT_EQ(Median({4, 1, 2, 3}), 2.5);
  EXPECT_EQ(Median({}), 0);
}

}  // namespace
}  // namespace pgoutbox::bench
