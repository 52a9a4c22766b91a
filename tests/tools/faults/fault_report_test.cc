#include "tools/faults/fault_report.h"

#include <gtest/gtest.h>

namespace pgoutbox::faults {
namespace {

FaultRun SampleRun() {
  FaultRun run;
  run.mode = "quick";
  run.invocation = "scripts/faults.sh --quick --seed 7";
  run.date = "2026-12-06 23:30 UTC";
  run.commit = "abc1234";
  run.elapsed_s = 70;
  run.workload = "tx_committed=900 events_committed=10000 seconds=29.5 tx_one_row=400";
  run.connections = 4;
  run.keys = 1000;
  run.kills = 5;
  run.kills_done = 5;
  run.kill_pauses_ms = {900, 200, 3000};
  run.outage_s = 10;
  run.error_percent = 10;
  run.errors_from = 1;
  run.errors_to = 3;
  run.kafka_stats =
      "produce_requests=200 produce_errors=20 NOT_ENOUGH_REPLICAS=7 _TRANSPORT=13 "
      "stack_ran_dry=0 pending=0";
  run.start_ms = 1000000;
  run.marks = {{1002000, "kill"}, {1005500, "pg-restart-fast"}, {1003000, "brokers-down"}};
  run.exits = {{1, "kafka: all brokers down"}};
  return run;
}

TEST(FaultReportTest, DescribesTheRun) {
  const std::string text = RenderRun(SampleRun());
  for (const char* part :
       {"pgoutbox fault suite, quick run: scripts/faults.sh --quick --seed 7\n",
        "date 2026-12-06 23:30 UTC, commit abc1234, elapsed 70 s\n\n",
        "workload                        10000 events committed in 900 transactions, 29.5 s, 4 "
        "connections, 2000 keys\n",
        "  transactions                  one row 400, multi-row , large ,",
        "  SIGKILLs of pgoutbox          5, each restarted after 200-3000 ms\n",
        "  all brokers down              10 s from +3.0s\n",
        "  PostgreSQL restarts           -m fast at +5.5s, -m immediate at never\n",
        "  Produce requests failed       20 of 200 (10.0%) from SIGKILL #1 to #3, never to never, "
        "pgoutbox with one request in flight per broker meanwhile: NOT_ENOUGH_REPLICAS=7 "
        "_TRANSPORT=13; error stack found empty 0 times\n",
        "  pgoutbox exits not by SIGKILL 1\n    status 1: kafka: all brokers down\n"}) {
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n---\n" << text;
  }
}

TEST(FaultReportTest, SaysWhatWasLeftOut) {
  FaultRun run = SampleRun();
  run.kills = 0;
  run.kills_done = 0;
  run.outage_s = 0;
  run.pg_restarts = false;
  run.error_percent = 0;
  run.exits.clear();
  const std::string text = RenderRun(run);
  EXPECT_NE(text.find("  SIGKILLs of pgoutbox          0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  all brokers down              left out\n"), std::string::npos);
  EXPECT_NE(text.find("  PostgreSQL restarts           left out\n"), std::string::npos);
  EXPECT_NE(text.find("  Produce requests failed       left out\n"), std::string::npos);
  EXPECT_NE(text.find("  pgoutbox exits not by SIGKILL 0\n"), std::string::npos);
}

TEST(FaultReportTest, ShowsTheWorkloadsSources) {
  FaultRun run = SampleRun();
  EXPECT_EQ(RenderRun(run).find("events by source"), std::string::npos);  // an older workload
  run.workload +=
      " events_outbox=4000 events_outbox_b=3000 events_message=3000 foreign_messages=45";
  EXPECT_NE(RenderRun(run).find("  events by source              public.outbox 4000, "
                                "public.outbox_b 3000, messages 3000; non-transactional "
                                "messages of another prefix sent: 45\n"),
            std::string::npos)
      << RenderRun(run);
}

TEST(FaultReportTest, ShowsTheFiguresOfEachSource) {
  CheckReport report;
  SourceFigures& message = report.by_source[static_cast<size_t>(EventSource::kMessage)];
  message = {3000, 2999, 1, 12, 2, 3, 4, 0};
  report.cross_table_reorders = 5;
  report.wrong_table_header = 6;
  report.committed_wrong_source = 7;
  Positions p{*Lsn::Parse("0/100"), *Lsn::Parse("0/100"), std::nullopt};
  const std::string text = RenderCheck(report, p, 0);
  for (const char* part : {
           "  public.outbox                  0 / 0 / 0 / 0 / 0 / 0 / 0\n",
           "  public.outbox_b                0 / 0 / 0 / 0 / 0 / 0 / 0\n",
           "  message                        3000 / 2999 / 1 / 12 / 2 / 3 / 4\n",
           "  foreign-message                0 / 0 / 0 / 0 / 0 / 0 / 0\n",
           "between the two tables, which pgoutbox does not order: 5)\n",
           "(wrong table header: 6)\n",
           "0 rolled-back ids committed, 7 ids in another source\n",
       }) {
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n---\n" << text;
  }
  EXPECT_EQ(text.find("  unknown "), std::string::npos);  // shown only when it has records
}

TEST(FaultReportTest, TakesTheLastErrorLineOfALog) {
  EXPECT_EQ(LastErrorMessage("2026-12-06T23:30:57.000+00:00 info streaming\n"
                             "2026-12-06T23:30:58.000+00:00 error first\n"
                             "2026-12-06T23:30:59.000+00:00 critical kafka: gone for good\n"
                             "2026-12-06T23:31:00.000+00:00 info exiting\n"),
            "kafka: gone for good");
  EXPECT_EQ(LastErrorMessage("2026-12-06T23:30:57.000+00:00 info fine\n"), "");
  EXPECT_EQ(ParseKeyValues("a=1 b= c d=x=y").size(), 3u);
  EXPECT_EQ(ParseKeyValues("a=1 b= c d=x=y")["d"], "x=y");
}

TEST(FaultReportTest, VerdictNeedsTheEndConfirmed) {
  CheckReport report;
  Positions p{*Lsn::Parse("0/100"), *Lsn::Parse("0/200"), std::nullopt};
  std::string text = RenderCheck(report, p, 0);
  EXPECT_NE(text.find("0/100, end of the workload 0/200: NOT reached (256 bytes short)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("verdict                         FAIL\n"), std::string::npos);
  p.confirmed = *Lsn::Parse("0/208");
  p.wal = Lsn::Parse("0/300");
  text = RenderCheck(report, p, 0);
  EXPECT_NE(text.find("reached (8 bytes past it; server WAL end 0/300)\n"), std::string::npos)
      << text;
  EXPECT_EQ(Passed(report, p), report.ok());
}

}  // namespace
}  // namespace pgoutbox::faults
