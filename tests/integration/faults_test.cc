// End-to-end fault tests: pgoutbox against a real PostgreSQL 15 and the mock
// Kafka cluster while brokers go away, the process is killed or stopped, or
// the outbox stays idle while the rest of the database writes.
//
// The property under test throughout: the slot's confirmed_flush_lsn never
// passes an event the broker has not acknowledged, so nothing is lost, and
// duplicates appear only for transactions after the last confirmed position.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness.h"
#include "integration/http_probe.h"
#include "integration/workload.h"
#include "support/tcp_proxy.h"

namespace pgoutbox::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr char kTopic[] = "outbox.event.order";  // default template, aggregate_type 'order'

// ---------------------------------------------------------------------------

TEST(Faults, BrokersDownHoldsConfirmedPosition) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  auto child = StartStreaming(h, h.Args());
  ASSERT_NE(child, nullptr);
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);

  // Batch A: delivered and confirmed.
  constexpr int kTxns = 5, kRows = 10;
  for (int tx = 0; tx < kTxns; ++tx) ASSERT_NE(InsertTransaction(conn.get(), tx, kRows), "");
  const std::string la = h.CurrentWalLsn();
  ASSERT_TRUE(consumer.WaitForCount(kTxns * kRows, seconds(20))) << consumer.Count();
  ASSERT_TRUE(h.WaitForConfirmed(la, seconds(10)))
      << "confirmed " << h.ConfirmedLsn() << " never reached " << la;

  // Batch B while every broker is down.
  h.kafka->SetAllBrokersDown(true);
  const std::string bound = h.CurrentWalLsn();  // before B's first commit
  for (int tx = kTxns; tx < 2 * kTxns; ++tx) {
    ASSERT_NE(InsertTransaction(conn.get(), tx, kRows), "");
  }
  const std::string lb = h.CurrentWalLsn();
  std::this_thread::sleep_for(seconds(3));  // 15 feedback intervals
  const std::string held = h.ConfirmedLsn();
  EXPECT_LE(CompareLsn(held, bound), 0)
      << "confirmed_flush_lsn " << held << " moved past " << bound
      << ", before batch B's first commit, while no broker could acknowledge B";
  EXPECT_EQ(consumer.Count(), static_cast<size_t>(kTxns * kRows));
  EXPECT_TRUE(child->Running()) << child->Output();

  // Brokers back: B arrives and the slot moves on.
  const auto up = Clock::now();
  h.kafka->SetAllBrokersDown(false);
  ASSERT_TRUE(consumer.WaitForCount(2 * kTxns * kRows, seconds(30))) << consumer.Count() << "\n"
                                                                     << child->Output();
  const long long arrived_ms = MillisSince(up);
  EXPECT_TRUE(h.WaitForConfirmed(lb, seconds(5)))
      << "confirmed " << h.ConfirmedLsn() << " never reached " << lb;
  std::cerr << "after the outage: batch B arrived in " << arrived_ms
            << " ms, confirmed >= LB after " << MillisSince(up) << " ms\n";

  WaitForQuiet(consumer, 2 * kTxns * kRows, seconds(1));
  const auto rows = OutboxRows(h);
  ASSERT_EQ(rows.size(), static_cast<size_t>(2 * kTxns * kRows));
  ExpectAllArrivedExactlyOnce(consumer.Records(), rows);

  StopCleanly(*child);
}

// A reconnect while events are in flight (every broker down, so none is
// acknowledged): the server sends their transactions again from the slot's
// confirmed position, and pgoutbox does not produce them a second time.
// Every event arrives exactly once, in order per key.
TEST(Faults, AReconnectDoesNotProduceInFlightEventsAgain) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  auto child = StartStreaming(h, h.Args());
  ASSERT_NE(child, nullptr);
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);
  constexpr int kTxns = 10, kRows = 10;
  for (int tx = 0; tx < kTxns; ++tx) ASSERT_NE(InsertTransaction(conn.get(), tx, kRows), "");
  ASSERT_TRUE(consumer.WaitForCount(kTxns * kRows, seconds(20))) << consumer.Count();

  // In flight: produced while no broker answers.
  h.kafka->SetAllBrokersDown(true);
  for (int tx = kTxns; tx < 3 * kTxns; ++tx) {
    ASSERT_NE(InsertTransaction(conn.get(), tx, kRows), "");
  }
  const std::string produced = h.CurrentWalLsn();
  // pgoutbox has received them once the server sent them all.
  for (const auto deadline = Clock::now() + seconds(20); Clock::now() < deadline;) {
    if (h.QueryValue("SELECT coalesce((sent_lsn >= '" + produced +
                     "')::text, 'false') FROM pg_stat_replication") == "true") {
      break;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  std::this_thread::sleep_for(milliseconds(500));
  ASSERT_EQ(
      h.QueryValue("SELECT count(*) FROM pg_stat_replication WHERE sent_lsn >= '" + produced + "'"),
      "1");
  // The replication connection breaks; pgoutbox reconnects and the server
  // sends the 200 unconfirmed events again.
  ASSERT_EQ(h.QueryValue("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_replication"), "1");
  ASSERT_TRUE(WaitForOutput(*child, "replication stream connected", seconds(30)))
      << child->Output();
  for (const auto deadline = Clock::now() + seconds(20); Clock::now() < deadline;) {
    if (h.QueryValue("SELECT coalesce((sent_lsn >= '" + produced +
                     "')::text, 'false') FROM pg_stat_replication") == "true") {
      break;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  std::this_thread::sleep_for(milliseconds(500));
  h.kafka->SetAllBrokersDown(false);

  const std::string end = h.CurrentWalLsn();
  ASSERT_TRUE(h.WaitForConfirmed(end, seconds(30))) << child->Output();
  const auto rows = OutboxRows(h);
  ASSERT_EQ(rows.size(), static_cast<size_t>(3 * kTxns * kRows));
  ASSERT_TRUE(WaitForQuiet(consumer, rows.size(), seconds(20)));
  const auto records = consumer.Records();
  const int duplicated = ExpectAllArrivedAtLeastOnce(rows, CountIds(records, rows));
  std::cerr << "a reconnect with " << 2 * kTxns * kRows << " events in flight: " << records.size()
            << " records for " << rows.size() << " events, " << duplicated << " ids duplicated\n";
  EXPECT_EQ(duplicated, 0) << child->Output();
  EXPECT_NE(child->Output().find("skipping the transactions the server sends again"),
            std::string::npos)
      << child->Output();
  ExpectFirstArrivalsInOrder(records, rows);
  StopCleanly(*child);
}

TEST(Faults, SigkillMidStreamLosesNothing) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 8);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  auto child = StartStreaming(h, h.Args());
  ASSERT_NE(child, nullptr);

  constexpr int kTxns = 400, kRows = 50, kTotal = kTxns * kRows;
  std::vector<std::string> commit_lsn(kTxns);  // L_i, written by the inserter only
  std::atomic<int> inserted{0};
  std::atomic<bool> insert_failed{false};
  std::thread inserter([&] {
    PgConnPtr conn = Connect(h);
    if (conn == nullptr) {
      insert_failed = true;
      return;
    }
    for (int tx = 0; tx < kTxns; ++tx) {
      commit_lsn[tx] = InsertTransaction(conn.get(), tx, kRows);
      if (commit_lsn[tx].empty()) {
        insert_failed = true;
        return;
      }
      inserted = tx + 1;
      std::this_thread::sleep_for(milliseconds(5));  // keep the stream live
    }
  });

  // Kill once ~30% arrived.
  const bool reached = consumer.WaitForCount(kTotal * 3 / 10, seconds(60));
  child->Signal(SIGKILL);
  const int inserted_at_kill = inserted.load();
  const size_t consumed_at_kill = consumer.Count();
  if (!reached) {
    inserter.join();
    FAIL() << "only " << consumed_at_kill << " of " << kTotal << " events arrived in 60 s\n"
           << child->Output();
  }
  EXPECT_EQ(child->Wait(seconds(10)), 128 + SIGKILL);
  ASSERT_TRUE(WaitForSlotActive(h, false, seconds(10))) << "the slot stayed active";
  const std::string c = h.ConfirmedLsn();
  std::cerr << "SIGKILL after " << consumed_at_kill << " events consumed, " << inserted_at_kill
            << " of " << kTxns << " transactions committed; confirmed " << c << "\n";

  inserter.join();
  ASSERT_FALSE(insert_failed);
  const std::string final_lsn = h.CurrentWalLsn();
  std::string output;
  const auto restart = Clock::now();
  EXPECT_EQ(h.RunToEnd({"--end-lsn", final_lsn}, seconds(60), &output), 0) << output;
  std::cerr << "restart to " << final_lsn << " took " << MillisSince(restart) << " ms\n";
  EXPECT_TRUE(h.WaitForConfirmed(final_lsn, seconds(1)))
      << "confirmed " << h.ConfirmedLsn() << " after running to " << final_lsn;

  ASSERT_TRUE(WaitForQuiet(consumer, kTotal, seconds(30))) << consumer.Count() << " of " << kTotal;
  const auto rows = OutboxRows(h);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kTotal));
  const auto records = consumer.Records();
  const auto seen = CountIds(records, rows);

  const int duplicated = ExpectAllArrivedAtLeastOnce(rows, seen);
  // Duplicates only for transactions after the position confirmed at the kill.
  int bad_duplicates = 0;
  for (const auto& [id, row] : rows) {
    const int n = seen.count(id) ? seen.at(id) : 0;
    const bool confirmed_before_kill = CompareLsn(commit_lsn[row.tx], c) <= 0;
    if (n > 1 && confirmed_before_kill && ++bad_duplicates <= 10) {
      ADD_FAILURE() << "id " << id << " of tx " << row.tx << " (L_i " << commit_lsn[row.tx]
                    << " <= confirmed " << c << ") arrived " << n << " times";
    }
  }
  EXPECT_EQ(bad_duplicates, 0);
  std::cerr << records.size() << " records for " << kTotal << " events, " << duplicated
            << " ids duplicated (all after the confirmed position: " << (bad_duplicates == 0)
            << ")\n";

  ExpectFirstArrivalsInOrder(records, rows);
}

TEST(Faults, IdleOutboxFollowsOtherWrites) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  ASSERT_TRUE(h.Exec("CREATE TABLE public.other (id bigint, data text)"));
  auto child = StartStreaming(h, h.ArgsWith("--feedback-interval", "1s"));
  ASSERT_NE(child, nullptr);

  const std::string before = h.ConfirmedLsn();
  for (int i = 0; i < 4; ++i) {  // 4 x 2500 rows x 1000 bytes: ~10 MB of rows
    ASSERT_TRUE(
        h.Exec("INSERT INTO public.other SELECT g, repeat(md5(g::text), 32)::text "
               "FROM generate_series(" +
               std::to_string(i * 2500) + ", " + std::to_string(i * 2500 + 2499) + ") AS g"));
  }
  const std::string x = h.CurrentWalLsn();
  const auto written = Clock::now();
  const bool followed = h.WaitForConfirmed(x, seconds(3));
  const long long took = MillisSince(written);
  std::cerr << "confirmed moved from " << before << " to " << h.ConfirmedLsn() << " (X = " << x
            << ") in " << took << " ms\n";
  EXPECT_TRUE(followed) << "confirmed_flush_lsn " << h.ConfirmedLsn() << " did not reach " << x
                        << " within 3 s while the outbox was idle";
  EXPECT_TRUE(child->Running()) << child->Output();
  child->Signal(SIGTERM);
  EXPECT_EQ(child->Wait(seconds(20)), 0) << child->Output();
}

TEST(Faults, SigtermFlushesAndExitsZero) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  // A feedback interval longer than the test: the confirmed position can
  // only come from the status update sent at shutdown.
  auto child = StartStreaming(h, h.ArgsWith("--feedback-interval", "60s"));
  ASSERT_NE(child, nullptr);
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);

  constexpr int kTxns = 20, kRows = 25;
  std::string last_commit;
  for (int tx = 0; tx < kTxns; ++tx) {
    last_commit = InsertTransaction(conn.get(), tx, kRows);
    ASSERT_NE(last_commit, "");
  }
  // Once the last transaction's first event is on the broker, pgoutbox has
  // read everything; stop it at once, with acks and feedback outstanding.
  const auto rows = OutboxRows(h);
  std::set<std::string> last_tx_ids;
  for (const auto& [id, row] : rows) {
    if (row.tx == kTxns - 1) last_tx_ids.insert(id);
  }
  const auto deadline = Clock::now() + seconds(20);
  bool last_seen = false;
  while (!last_seen && Clock::now() < deadline) {
    for (const auto& rec : consumer.Records()) {
      auto id = rec.Header("id");
      if (id && last_tx_ids.count(*id)) last_seen = true;
    }
    if (!last_seen) std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_TRUE(last_seen) << "the last transaction never arrived\n" << child->Output();
  // An event is produced when its insert arrives, before its transaction's
  // Commit message: wait until pgoutbox has received every commit too (a stop
  // ends reading at once, and an uncommitted transaction is not confirmed).
  const int port = HttpPort(*child);
  while (Clock::now() < deadline &&
         MetricValue(Metrics(port), "pgoutbox_transactions_total").value_or(0) < kTxns) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_GE(MetricValue(Metrics(port), "pgoutbox_transactions_total").value_or(0), kTxns)
      << child->Output();
  const std::string confirmed_before = h.ConfirmedLsn();
  child->Signal(SIGTERM);
  EXPECT_EQ(child->Wait(seconds(30)), 0) << child->Output();
  std::cerr << "confirmed before SIGTERM " << confirmed_before << ", after " << h.ConfirmedLsn()
            << ", last commit " << last_commit << "\n";
  EXPECT_GE(CompareLsn(h.ConfirmedLsn(), last_commit), 0)
      << "the final status update did not confirm the last commit " << last_commit;

  ASSERT_TRUE(WaitForQuiet(consumer, kTxns * kRows, seconds(20))) << consumer.Count();
  ExpectAllArrivedExactlyOnce(consumer.Records(), rows);
}

// SIGTERM while events are still waiting for the broker: shutdown waits for
// their acknowledgement, confirms them, and exits 0.
TEST(Faults, SigtermWaitsForInFlightEvents) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  auto child = StartStreaming(h, h.ArgsWith("--feedback-interval", "60s"));
  ASSERT_NE(child, nullptr);
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);

  h.kafka->SetAllBrokersDown(true);
  constexpr int kTxns = 10, kRows = 20;
  std::string last_commit;
  for (int tx = 0; tx < kTxns; ++tx) {
    last_commit = InsertTransaction(conn.get(), tx, kRows);
    ASSERT_NE(last_commit, "");
  }
  std::this_thread::sleep_for(milliseconds(1500));  // pgoutbox reads it all, nothing acked
  EXPECT_EQ(consumer.Count(), 0u);
  child->Signal(SIGTERM);
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_TRUE(child->Running()) << "exited before its in-flight events were acknowledged\n"
                                << child->Output();
  h.kafka->SetAllBrokersDown(false);
  EXPECT_EQ(child->Wait(seconds(35)), 0) << child->Output();
  EXPECT_GE(CompareLsn(h.ConfirmedLsn(), last_commit), 0)
      << "confirmed " << h.ConfirmedLsn() << ", last commit " << last_commit;

  ASSERT_TRUE(WaitForQuiet(consumer, kTxns * kRows, seconds(20))) << consumer.Count();
  const auto rows = OutboxRows(h);
  ExpectAllArrivedExactlyOnce(consumer.Records(), rows);
}

TEST(Faults, RestartResumesWithoutLoss) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  std::string output;
  // Creates the publication and the slot, streams nothing.
  ASSERT_EQ(h.RunToEnd({"--exit-when-caught-up"}, seconds(30), &output), 0) << output;
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);

  constexpr int kTxns = 10, kRows = 10, kBatch = kTxns * kRows;
  for (int tx = 0; tx < kTxns; ++tx) ASSERT_NE(InsertTransaction(conn.get(), tx, kRows), "");
  const std::string end1 = h.CurrentWalLsn();
  ASSERT_EQ(h.RunToEnd({"--end-lsn", end1}, seconds(30), &output), 0) << output;
  EXPECT_GE(CompareLsn(h.ConfirmedLsn(), end1), 0) << h.ConfirmedLsn() << " < " << end1;
  ASSERT_TRUE(WaitForQuiet(consumer, kBatch, seconds(20))) << consumer.Count();
  EXPECT_EQ(consumer.Count(), static_cast<size_t>(kBatch));

  for (int tx = kTxns; tx < 2 * kTxns; ++tx) {
    ASSERT_NE(InsertTransaction(conn.get(), tx, kRows), "");
  }
  const std::string end2 = h.CurrentWalLsn();
  ASSERT_EQ(h.RunToEnd({"--end-lsn", end2}, seconds(30), &output), 0) << output;
  EXPECT_GE(CompareLsn(h.ConfirmedLsn(), end2), 0) << h.ConfirmedLsn() << " < " << end2;
  ASSERT_TRUE(WaitForQuiet(consumer, 2 * kBatch, seconds(20))) << consumer.Count();

  const auto records = consumer.Records();
  EXPECT_EQ(records.size(), static_cast<size_t>(2 * kBatch));
  const auto rows = OutboxRows(h);
  const auto seen = CountIds(records, rows);
  for (const auto& [id, row] : rows) {
    EXPECT_EQ(seen.count(id) ? seen.at(id) : 0, 1) << "id " << id << " (tx " << row.tx << ")";
  }
}

// --- a connection that dies without a word ------------------------------------

// The server's wal_sender_timeout in these tests: short, to keep them short.
constexpr int kWalSenderTimeoutMs = 5000;
// pgoutbox's receive timeout for it (replication::ReceiveTimeout: 1.25 times).
constexpr int kReceiveTimeoutMs = kWalSenderTimeoutMs * 5 / 4;

PgServerOptions ShortWalSenderTimeout() {
  PgServerOptions options;
  options.extra_settings = {"wal_sender_timeout = " + std::to_string(kWalSenderTimeoutMs) + "ms"};
  return options;
}

// The replication connection goes silent mid-stream (a proxy between
// pgoutbox and the server stops forwarding, closing neither side, as a peer
// or a middlebox that vanished would): pgoutbox notices within its receive
// timeout, not the kernel's retransmission timeout, reconnects through the
// proxy and loses nothing.
TEST(Faults, SilentlyDeadReplicationConnectionReconnectsWithinTheBound) {
  Harness h(3, ShortWalSenderTimeout());
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  auto proxy = TcpProxy::Start(h.pg->port());
  ASSERT_NE(proxy, nullptr);
  const std::string db =
      "host=127.0.0.1 port=" + std::to_string(proxy->port()) + " dbname=" + h.db + " user=postgres";
  auto child = StartStreaming(h, h.ArgsWith("--db", db));
  ASSERT_NE(child, nullptr);

  constexpr int kTxns = 300, kRows = 10, kTotal = kTxns * kRows;
  std::atomic<int> inserted{0};
  std::atomic<bool> insert_failed{false};
  std::thread inserter([&] {
    PgConnPtr conn = Connect(h);  // straight to the server
    if (conn == nullptr) {
      insert_failed = true;
      return;
    }
    for (int tx = 0; tx < kTxns; ++tx) {
      if (InsertTransaction(conn.get(), tx, kRows).empty()) {
        insert_failed = true;
        return;
      }
      inserted = tx + 1;
      std::this_thread::sleep_for(milliseconds(30));  // about 9 s of traffic
    }
  });

  // Freeze the replication connection once the stream is well under way.
  const bool flowing = consumer.WaitForCount(kTotal / 5, seconds(30));
  EXPECT_EQ(child->Output().find("reconnecting"), std::string::npos) << child->Output();
  const auto frozen = Clock::now();
  proxy->Freeze(std::string("replication\0database\0", 21));
  const int accepted_at_freeze = proxy->accepted();
  const bool noticed = WaitForOutput(*child, "; reconnecting", seconds(30));
  const long long noticed_ms = MillisSince(frozen);
  const bool reconnected =
      WaitForOutput(*child, "replication stream connected to slot", seconds(30));
  const long long reconnected_ms = MillisSince(frozen);
  inserter.join();
  ASSERT_TRUE(flowing) << consumer.Count() << "\n" << child->Output();
  ASSERT_FALSE(insert_failed);
  ASSERT_TRUE(noticed) << child->Output();
  std::cerr << "the frozen connection was noticed after " << noticed_ms << " ms (receive timeout "
            << kReceiveTimeoutMs << " ms), streaming again after " << reconnected_ms << " ms\n";
  EXPECT_NE(child->Output().find("no message from the server for"), std::string::npos)
      << child->Output();
  // The silence starts at the last message before the freeze: at most the
  // bound, plus the loop's 200 ms wake-ups and a margin for a loaded machine.
  EXPECT_LE(noticed_ms, kReceiveTimeoutMs + 1500) << child->Output();
  EXPECT_GE(noticed_ms, kReceiveTimeoutMs - 1500) << child->Output();
  ASSERT_TRUE(reconnected) << child->Output();
  EXPECT_GT(proxy->accepted(), accepted_at_freeze);

  // Every committed event arrives (the unconfirmed ones perhaps twice).
  ASSERT_TRUE(WaitForQuiet(consumer, kTotal, seconds(30)))
      << consumer.Count() << " of " << kTotal << "\n"
      << child->Output();
  const auto rows = OutboxRows(h);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kTotal));
  const auto records = consumer.Records();
  const int duplicated = ExpectAllArrivedAtLeastOnce(rows, CountIds(records, rows));
  std::cerr << records.size() << " records for " << kTotal << " events, " << duplicated
            << " ids duplicated\n";
  ExpectFirstArrivalsInOrder(records, rows);
  StopCleanly(*child);
}

// Status updates less often than the server's wal_sender_timeout would let
// it end the stream while pgoutbox waits for Kafka: one warning line at
// start-up, and the stream runs.
TEST(Faults, FeedbackIntervalNotBelowWalSenderTimeoutIsWarned) {
  Harness h(1, ShortWalSenderTimeout());
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  auto child = StartStreaming(h, h.ArgsWith("--feedback-interval", "5s"));
  ASSERT_NE(child, nullptr);
  EXPECT_NE(child->Output().find("warning --feedback-interval 5s is not shorter than the server's "
                                 "wal_sender_timeout 5s"),
            std::string::npos)
      << child->Output();
  EXPECT_NE(child->Output().find("choose at most 2500ms"), std::string::npos) << child->Output();
  StopCleanly(*child);
}

}  // namespace
}  // namespace pgoutbox::testing
