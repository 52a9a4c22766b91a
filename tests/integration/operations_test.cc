// End-to-end operations tests: what an operator relies on while pgoutbox runs
// against a real PostgreSQL 15 and the mock Kafka cluster: the /metrics and
// /readyz endpoints, reconnecting after a PostgreSQL restart, a hot standby
// taking over the slot after the active process dies, and the heartbeat that
// moves the slot on an idle database.
//
// The delivery property holds throughout: every committed event arrives at
// least once, and per aggregate the first arrivals follow commit order.
#include <gtest/gtest.h>
#include <httplib.h>
#include <libpq-fe.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "integration/harness.h"
#include "integration/http_probe.h"
#include "integration/workload.h"

namespace pgoutbox::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr char kTopic[] = "outbox.event.order";  // default template, aggregate_type 'order'
constexpr char kPublished[] = "pgoutbox_events_published_total{topic=\"outbox.event.order\"}";

// The walsender holding the slot, "" if none.
std::string SlotActivePid(const Harness& h) {
  return h.QueryValue("SELECT active_pid FROM pg_replication_slots WHERE slot_name = '" + h.slot +
                      "'");
}

// --- the HTTP endpoint ------------------------------------------------------

// Polls /readyz until it answers `status`; returns the last reply.
HttpReply WaitForReadyz(int port, int status, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    HttpReply reply = HttpGet(port, "/readyz");
    if (reply.status == status || Clock::now() >= deadline) return reply;
    std::this_thread::sleep_for(milliseconds(50));
  }
}

// ---------------------------------------------------------------------------

TEST(Operations, MetricsCountEventsAndReadinessFollowsBrokers) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  auto child = StartStreaming(h, h.Args({"--stall-timeout", "2s"}));
  ASSERT_NE(child, nullptr);
  const int port = HttpPort(*child);
  ASSERT_GT(port, 0);
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);

  EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
  EXPECT_EQ(HttpGet(port, "/nope").status, 404);

  constexpr int kTxns = 10, kRows = 100, kBatch = kTxns * kRows;
  std::string last_commit;
  for (int tx = 0; tx < kTxns; ++tx) {
    last_commit = InsertTransaction(conn.get(), tx, kRows);
    ASSERT_NE(last_commit, "");
  }
  ASSERT_TRUE(consumer.WaitForCount(kBatch, seconds(20))) << consumer.Count();
  ASSERT_TRUE(h.WaitForConfirmed(last_commit, seconds(10)))
      << "confirmed " << h.ConfirmedLsn() << " never reached " << last_commit;
  std::this_thread::sleep_for(milliseconds(500));  // two feedback intervals: gauges refreshed

  {
    const std::string m = Metrics(port);
    EXPECT_EQ(MetricValue(m, kPublished), kBatch) << m;
    EXPECT_EQ(MetricValue(m, "pgoutbox_transactions_total"), kTxns) << m;
    EXPECT_EQ(MetricValue(m, "pgoutbox_delivery_latency_seconds_count"), kBatch) << m;
    EXPECT_EQ(MetricValue(m, "pgoutbox_delivery_latency_seconds_bucket{le=\"+Inf\"}"), kBatch) << m;
    EXPECT_GT(MetricValue(m, "pgoutbox_delivery_latency_seconds_sum").value_or(0), 0) << m;
    // Some finite bucket counted events: the latencies are real durations.
    bool finite_bucket = false;
    std::istringstream in(m);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("pgoutbox_delivery_latency_seconds_bucket{", 0) == 0 &&
          line.find("+Inf") == std::string::npos &&
          std::stod(line.substr(line.rfind(' ') + 1)) > 0) {
        finite_bucket = true;
      }
    }
    EXPECT_TRUE(finite_bucket) << m;
    // Every transaction's confirmation was timed once, and it took at most a
    // few feedback intervals (200 ms each here).
    EXPECT_EQ(MetricValue(m, "pgoutbox_confirm_lag_seconds_count"), kTxns) << m;
    EXPECT_EQ(MetricValue(m, "pgoutbox_confirm_lag_seconds_bucket{le=\"0.0005\"}"), 0) << m;
    EXPECT_EQ(MetricValue(m, "pgoutbox_confirm_lag_seconds_bucket{le=\"5\"}"), kTxns) << m;
    EXPECT_EQ(MetricValue(m, "pgoutbox_up"), 1) << m;
    EXPECT_EQ(MetricValue(m, "pgoutbox_inflight_events"), 0) << m;
    const auto confirmed_bytes = MetricValue(m, "pgoutbox_confirmed_lsn_bytes");
    ASSERT_TRUE(confirmed_bytes.has_value()) << m;
    EXPECT_GE(static_cast<uint64_t>(*confirmed_bytes),
              std::stoull(h.QueryValue("SELECT '" + last_commit + "'::pg_lsn - '0/0'")))
        << m;
    const auto lag = MetricValue(m, "pgoutbox_replication_lag_bytes");
    ASSERT_TRUE(lag.has_value()) << m;
    EXPECT_GE(*lag, 0) << m;
    const double now_s =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const double commit_ts = MetricValue(m, "pgoutbox_last_commit_timestamp_seconds").value_or(0);
    EXPECT_NEAR(commit_ts, now_s, 60) << m;
  }
  HttpReply ready = HttpGet(port, "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ready.body.substr(0, 5), "ready") << ready.body;

  // Brokers down: events stay in flight, the position stops, readiness turns
  // 503 once --stall-timeout (2 s) has passed.
  h.kafka->SetAllBrokersDown(true);
  const auto down = Clock::now();
  for (int tx = kTxns; tx < 2 * kTxns; ++tx) {
    last_commit = InsertTransaction(conn.get(), tx, kRows);
    ASSERT_NE(last_commit, "");
  }
  bool ready_before_timeout = true;
  HttpReply stalled;
  long long stalled_after_ms = -1;
  for (const auto deadline = down + seconds(12); Clock::now() < deadline;) {
    HttpReply reply = HttpGet(port, "/readyz");
    const long long t = MillisSince(down);
    if (reply.status == 503) {
      stalled = reply;
      stalled_after_ms = t;
      break;
    }
    if (reply.status != 200 && t < 1500) ready_before_timeout = false;
    std::this_thread::sleep_for(milliseconds(100));
  }
  std::cerr << "brokers down: /readyz 503 after " << stalled_after_ms << " ms: " << stalled.body
            << "\n";
  EXPECT_TRUE(ready_before_timeout);
  ASSERT_EQ(stalled.status, 503) << "/readyz still not 503 12 s after the brokers went down\n"
                                 << child->Output();
  // The stall clock starts no earlier than the first event in flight, which
  // was committed after `down`.
  EXPECT_GE(stalled_after_ms, 1900) << stalled.body;
  EXPECT_NE(stalled.body.find("stalled"), std::string::npos) << stalled.body;
  EXPECT_NE(stalled.body.find("--stall-timeout 2s"), std::string::npos) << stalled.body;
  {
    const std::string m = Metrics(port);
    EXPECT_GT(MetricValue(m, "pgoutbox_inflight_events").value_or(0), 0) << m;
    EXPECT_EQ(MetricValue(m, "pgoutbox_up"), 1) << "the stream itself is still connected\n" << m;
    EXPECT_EQ(MetricValue(m, kPublished), kBatch) << m;
    EXPECT_GT(MetricValue(m, "pgoutbox_replication_lag_bytes").value_or(0), 0) << m;
  }
  EXPECT_EQ(HttpGet(port, "/healthz").status, 200) << "liveness does not follow the brokers";

  // Brokers back: ready again, everything arrives and is confirmed.
  const auto up = Clock::now();
  h.kafka->SetAllBrokersDown(false);
  HttpReply back = WaitForReadyz(port, 200, seconds(20));
  const long long ready_after_ms = MillisSince(up);
  EXPECT_EQ(back.status, 200) << back.body << "\n" << child->Output();
  ASSERT_TRUE(consumer.WaitForCount(2 * kBatch, seconds(30))) << consumer.Count();
  EXPECT_TRUE(h.WaitForConfirmed(last_commit, seconds(10)))
      << "confirmed " << h.ConfirmedLsn() << " never reached " << last_commit;
  std::cerr << "brokers up: /readyz 200 after " << ready_after_ms << " ms, all events after "
            << MillisSince(up) << " ms\n";
  std::this_thread::sleep_for(milliseconds(500));
  {
    const std::string m = Metrics(port);
    EXPECT_EQ(MetricValue(m, kPublished), 2 * kBatch) << m;
    EXPECT_EQ(MetricValue(m, "pgoutbox_transactions_total"), 2 * kTxns) << m;
    EXPECT_EQ(MetricValue(m, "pgoutbox_delivery_latency_seconds_count"), 2 * kBatch) << m;
    EXPECT_EQ(MetricValue(m, "pgoutbox_inflight_events"), 0) << m;
  }

  WaitForQuiet(consumer, 2 * kBatch, seconds(1));
  const auto rows = OutboxRows(h);
  ASSERT_EQ(rows.size(), static_cast<size_t>(2 * kBatch));
  ExpectAllArrivedExactlyOnce(consumer.Records(), rows);

  StopCleanly(*child);
}

TEST(Operations, PostgresRestartMidStreamLosesNothing) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 8);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  auto child = StartStreaming(h, h.Args());
  ASSERT_NE(child, nullptr);
  const int port = HttpPort(*child);
  ASSERT_GT(port, 0);

  constexpr int kTxns = 200, kRows = 100, kTotal = kTxns * kRows;
  std::atomic<int> inserted{0};
  std::atomic<int> reconnects{0};
  std::string insert_error;  // written by the inserter only, read after join
  std::string last_commit;   // likewise
  std::thread inserter([&] {
    PgConnPtr conn = Connect(h);
    const auto give_up_after = seconds(40);
    for (int tx = 0; tx < kTxns;) {
      std::string error;
      std::string lsn = conn ? TryInsertTransaction(conn.get(), tx, kRows, &error) : "";
      if (!lsn.empty()) {
        last_commit = lsn;
        inserted = ++tx;
        std::this_thread::sleep_for(milliseconds(20));  // spread over the restart
        continue;
      }
      // The server went away (restart): reconnect. The COMMIT may have been
      // applied even though its answer was lost, so look before retrying.
      const auto broke = Clock::now();
      conn.reset();
      while (conn == nullptr) {
        if (Clock::now() - broke > give_up_after) {
          insert_error =
              "transaction " + std::to_string(tx) + ": " + error + "; no connection within 40 s";
          return;
        }
        std::this_thread::sleep_for(milliseconds(200));
        conn = Connect(h, /*report=*/false);
      }
      ++reconnects;
      PGresult* res = PQexec(
          conn.get(),
          ("SELECT count(*) FROM public.outbox WHERE (payload->>'tx')::int = " + std::to_string(tx))
              .c_str());
      const bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
      const int present = ok ? std::stoi(PQgetvalue(res, 0, 0)) : -1;
      PQclear(res);
      if (!ok) continue;  // reconnect again on the next round
      if (present == kRows) {
        inserted = ++tx;  // committed before the restart
      } else if (present != 0) {
        insert_error = "transaction " + std::to_string(tx) +
                       " half committed: " + std::to_string(present) + " rows";
        return;
      }
    }
  });

  // Restart once ~30% arrived.
  const bool reached = consumer.WaitForCount(kTotal * 3 / 10, seconds(40));
  const size_t consumed_at_restart = consumer.Count();
  const int inserted_at_restart = inserted.load();
  const std::string confirmed_at_restart = h.ConfirmedLsn();
  const std::string restart_lsn_at_restart = h.QueryValue(
      "SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = '" + h.slot + "'");
  bool restarted = false;
  int inserted_after_restart = kTxns;
  if (reached) {
    const auto t0 = Clock::now();
    restarted = h.pg->Restart();
    inserted_after_restart = inserted.load();
    std::cerr << "PostgreSQL restarted in " << MillisSince(t0) << " ms after "
              << consumed_at_restart << " events consumed, " << inserted_at_restart << " of "
              << kTxns << " transactions committed; slot confirmed " << confirmed_at_restart
              << ", restart_lsn " << restart_lsn_at_restart << "\n";
  }
  inserter.join();
  ASSERT_TRUE(reached) << "only " << consumed_at_restart << " of " << kTotal
                       << " events arrived in 40 s\n"
                       << child->Output();
  ASSERT_TRUE(restarted);
  ASSERT_EQ(insert_error, "");
  ASSERT_EQ(inserted.load(), kTxns);
  std::cerr << "the inserter reconnected " << reconnects.load() << " times; last commit "
            << last_commit << "\n";

  const auto after = Clock::now();
  ASSERT_TRUE(h.WaitForConfirmed(last_commit, seconds(40)))
      << "confirmed " << h.ConfirmedLsn() << " never reached the last commit " << last_commit
      << "\n"
      << child->Output();
  std::cerr << "confirmed the last commit " << MillisSince(after)
            << " ms after the inserter finished\n";
  EXPECT_TRUE(child->Running()) << "pgoutbox exited instead of reconnecting\n" << child->Output();
  EXPECT_NE(child->Output().find("replication stream connected"), std::string::npos)
      << child->Output();

  ASSERT_TRUE(WaitForQuiet(consumer, kTotal, seconds(30))) << consumer.Count() << " of " << kTotal;
  const auto rows = OutboxRows(h);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kTotal));
  const auto records = consumer.Records();
  const auto seen = CountIds(records, rows);
  const int duplicated = ExpectAllArrivedAtLeastOnce(rows, seen);
  // Duplicates come from the resumption after the restart: a transaction
  // committed once the server was back (after the one the inserter was in
  // the middle of) is streamed once.
  int max_duplicated_tx = -1, late_duplicates = 0;
  for (const auto& [id, row] : rows) {
    if (seen.count(id) && seen.at(id) > 1) {
      max_duplicated_tx = std::max(max_duplicated_tx, row.tx);
      if (row.tx > inserted_after_restart && ++late_duplicates <= 10) {
        ADD_FAILURE() << "id " << id << " of tx " << row.tx
                      << ", committed after the restart, arrived " << seen.at(id) << " times";
      }
    }
  }
  EXPECT_EQ(late_duplicates, 0);
  std::cerr << records.size() << " records for " << kTotal << " events, " << duplicated
            << " ids duplicated (the last duplicated transaction is " << max_duplicated_tx
            << "; transactions up to " << inserted_after_restart
            << " may have committed before the restart)\n";
  ExpectFirstArrivalsInOrder(records, rows);

  std::this_thread::sleep_for(milliseconds(500));  // gauges refreshed
  const std::string m = Metrics(port);
  EXPECT_GE(MetricValue(m, "pgoutbox_reconnects_total{target=\"postgres\"}").value_or(0), 1) << m;
  EXPECT_EQ(MetricValue(m, "pgoutbox_up"), 1) << m;
  EXPECT_GE(MetricValue(m, "pgoutbox_transactions_total").value_or(0), kTxns) << m;
  HttpReply ready = HttpGet(port, "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;

  StopCleanly(*child);
}

TEST(Operations, HotStandbyTakesOverAfterSigkill) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  auto a = StartStreaming(h, h.Args());
  ASSERT_NE(a, nullptr);
  const std::string a_walsender = SlotActivePid(h);
  ASSERT_NE(a_walsender, "");
  const int a_port = HttpPort(*a);
  ASSERT_GT(a_port, 0);

  auto b = h.Start();
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(WaitForOutput(*b, "waiting as a hot standby", seconds(20))) << b->Output();
  const int b_port = HttpPort(*b);
  ASSERT_GT(b_port, 0);
  std::this_thread::sleep_for(seconds(3));  // more than one --standby-retry-interval
  EXPECT_TRUE(b->Running()) << b->Output();
  EXPECT_EQ(SlotActivePid(h), a_walsender) << "the standby took the slot from a running pgoutbox";
  {
    // "Waits as a hot standby" is logged once, not once per retry.
    const std::string out = b->Output();
    size_t n = 0;
    for (size_t pos = 0; (pos = out.find("waiting as a hot standby", pos)) != std::string::npos;
         ++pos) {
      ++n;
    }
    EXPECT_EQ(n, 1u) << out;
    // The line names the holder as a user can find it (pg_stat_replication's
    // application name and client address), not the server's walsender pid
    // alone; and a standby does not claim to stream.
    EXPECT_NE(out.find("is in use by application_name 'pgoutbox' from 127.0.0.1:"),
              std::string::npos)
        << out;
    EXPECT_EQ(out.find("active for PID"), std::string::npos) << out;
    EXPECT_EQ(out.find("streaming from slot"), std::string::npos) << out;
  }
  HttpReply b_ready = HttpGet(b_port, "/readyz");
  EXPECT_EQ(b_ready.status, 503) << b_ready.body;
  EXPECT_NE(b_ready.body.find("hot standby"), std::string::npos) << b_ready.body;
  EXPECT_EQ(HttpGet(b_port, "/healthz").status, 200);
  EXPECT_EQ(HttpGet(a_port, "/readyz").status, 200);

  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);
  constexpr int kTxns = 20, kRows = 50, kBatch = kTxns * kRows;
  std::string last_commit;
  for (int tx = 0; tx < kTxns; ++tx) {
    last_commit = InsertTransaction(conn.get(), tx, kRows);
    ASSERT_NE(last_commit, "");
  }
  ASSERT_TRUE(consumer.WaitForCount(kBatch, seconds(20))) << consumer.Count();
  ASSERT_TRUE(h.WaitForConfirmed(last_commit, seconds(10)))
      << "confirmed " << h.ConfirmedLsn() << " never reached " << last_commit;
  EXPECT_EQ(b->Output().find("streaming from slot"), std::string::npos) << b->Output();

  // Kill A; B takes the slot over and delivers what follows.
  a->Signal(SIGKILL);
  const auto killed = Clock::now();
  EXPECT_EQ(a->Wait(seconds(10)), 128 + SIGKILL);
  for (int tx = kTxns; tx < 2 * kTxns; ++tx) {
    last_commit = InsertTransaction(conn.get(), tx, kRows);
    ASSERT_NE(last_commit, "");
  }
  long long takeover_ms = -1;
  std::string b_walsender;
  for (const auto deadline = killed + seconds(15); Clock::now() < deadline;) {
    b_walsender = SlotActivePid(h);
    if (!b_walsender.empty() && b_walsender != a_walsender &&
        b->Output().find("streaming from slot") != std::string::npos) {
      takeover_ms = MillisSince(killed);
      break;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  std::cerr << "hot standby took over " << takeover_ms << " ms after SIGKILL (walsender "
            << a_walsender << " -> " << b_walsender << ")\n";
  ASSERT_GE(takeover_ms, 0) << "B did not take over within 15 s\n" << b->Output();
  // The walsender that took over serves B: B is the only pgoutbox left.
  EXPECT_EQ(h.QueryValue("SELECT count(*) FROM pg_stat_replication"), "1");

  ASSERT_TRUE(consumer.WaitForCount(2 * kBatch, seconds(20))) << consumer.Count() << "\n"
                                                              << b->Output();
  EXPECT_TRUE(h.WaitForConfirmed(last_commit, seconds(10)))
      << "confirmed " << h.ConfirmedLsn() << " never reached " << last_commit;
  EXPECT_EQ(WaitForReadyz(b_port, 200, seconds(5)).status, 200);

  WaitForQuiet(consumer, 2 * kBatch, seconds(1));
  const auto rows = OutboxRows(h);
  ASSERT_EQ(rows.size(), static_cast<size_t>(2 * kBatch));
  const auto records = consumer.Records();
  const auto seen = CountIds(records, rows);
  const int duplicated = ExpectAllArrivedAtLeastOnce(rows, seen);
  std::cerr << records.size() << " records for " << 2 * kBatch << " events, " << duplicated
            << " ids duplicated\n";
  ExpectFirstArrivalsInOrder(records, rows);

  StopCleanly(*b);
}

TEST(Operations, HeartbeatMovesConfirmedOnIdleDatabase) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();

  // Without a heartbeat: only observed (background WAL may move it).
  {
    auto child = StartStreaming(h, h.Args());
    ASSERT_NE(child, nullptr);
    std::this_thread::sleep_for(seconds(1));  // start-up settles
    const std::string c0 = h.ConfirmedLsn(), w0 = h.CurrentWalLsn();
    std::this_thread::sleep_for(seconds(3));
    const std::string c1 = h.ConfirmedLsn(), w1 = h.CurrentWalLsn();
    std::cerr << "without heartbeat, 3 s idle: confirmed " << c0 << " -> " << c1 << ", WAL " << w0
              << " -> " << w1 << "\n";
    child->Signal(SIGTERM);
    EXPECT_EQ(child->Wait(seconds(20)), 0) << child->Output();
    ASSERT_TRUE(WaitForSlotActive(h, false, seconds(10)));
  }

  // With one: the heartbeat's WAL comes back in keepalives and, nothing being
  // in flight, the confirmed position follows.
  auto child = StartStreaming(h, h.Args({"--heartbeat-interval", "500ms"}));
  ASSERT_NE(child, nullptr);
  std::this_thread::sleep_for(seconds(1));
  const std::string c0 = h.ConfirmedLsn();
  ASSERT_NE(c0, "");
  std::this_thread::sleep_for(seconds(3));
  const std::string c1 = h.ConfirmedLsn();
  std::cerr << "with --heartbeat-interval 500ms, 3 s idle: confirmed " << c0 << " -> " << c1
            << "\n";
  EXPECT_GT(CompareLsn(c1, c0), 0) << "confirmed_flush_lsn did not move on an idle database\n"
                                   << child->Output();
  // And it keeps moving.
  std::this_thread::sleep_for(seconds(2));
  const std::string c2 = h.ConfirmedLsn();
  EXPECT_GT(CompareLsn(c2, c1), 0) << c1 << " -> " << c2;
  EXPECT_EQ(h.QueryValue("SELECT count(*) FROM public.outbox"), "0");

  StopCleanly(*child);
}

}  // namespace
}  // namespace pgoutbox::testing
