// Failover: pgoutbox with several hosts in --db follows the primary
// (target_session_attrs=read-write), a hot standby that takes the slot over
// starts from the slot's current position, and on PostgreSQL 17 and later a
// promoted standby's synced copy of the slot carries the stream on with
// nothing lost.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/types.h"
#include "integration/harness.h"
#include "integration/http_probe.h"
#include "integration/workload.h"

namespace pgoutbox::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr char kTopic[] = "outbox.event.order";  // default template, aggregate_type 'order'
constexpr char kStandbySlot[] = "standby_slot";

uint64_t LsnBytes(const std::string& text) {
  auto lsn = Lsn::Parse(text);
  EXPECT_TRUE(lsn.has_value()) << "not an LSN: '" << text << "'";
  return lsn ? lsn->value() : 0;
}

// --- Several hosts, the standby first -----------------------------------------

enum class ConninfoForm { kKeyValue, kUri };

// Both servers of `h` and `standby` in one conninfo, the standby first, so
// that only target_session_attrs=read-write leads libpq to the primary.
std::string BothHosts(ConninfoForm form, const PgServer& standby, const PgServer& primary,
                      const std::string& db) {
  const std::string s = std::to_string(standby.port()), p = std::to_string(primary.port());
  if (form == ConninfoForm::kUri) {
    return "postgresql://127.0.0.1:" + s + ",127.0.0.1:" + p + "/" + db +
           "?user=postgres&target_session_attrs=read-write";
  }
  return "host=127.0.0.1,127.0.0.1 port=" + s + "," + p + " dbname=" + db +
         " user=postgres target_session_attrs=read-write";
}

class MultiHostTest : public ::testing::TestWithParam<ConninfoForm> {};

// The stream, the start-up checks, the server monitor and cleanup all use
// the primary although the standby comes first in --db.
TEST_P(MultiHostTest, EveryConnectionFindsThePrimary) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  auto standby = h.pg->StartStandby({.slot = kStandbySlot});
  ASSERT_NE(standby, nullptr);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  const std::string db = BothHosts(GetParam(), *standby, *h.pg, h.db);

  // Old rows for the cleanup: committed before the slot exists, so never
  // published, and a second old by the time cleanup runs.
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);
  ASSERT_NE(InsertTransaction(conn.get(), 0, 20), "");
  auto child = StartStreaming(h, h.ArgsWith("--db", db,
                                            {"--retention", "1s", "--cleanup-interval", "500ms",
                                             "--heartbeat-interval", "200ms"}));
  ASSERT_NE(child, nullptr);
  EXPECT_NE(child->Output().find("(server 127.0.0.1:" + std::to_string(h.pg->port()) + ")"),
            std::string::npos)
      << child->Output();
  const int port = HttpPort(*child);
  ASSERT_GT(port, 0);

  std::string last_commit;
  for (int tx = 1; tx <= 10; ++tx) last_commit = InsertTransaction(conn.get(), tx, 10);
  ASSERT_TRUE(consumer.WaitForCount(100, seconds(20))) << consumer.Count() << child->Output();
  ASSERT_TRUE(h.WaitForConfirmed(last_commit, seconds(10))) << child->Output();

  // Cleanup deletes on the primary (the standby is read-only), and the
  // server monitor measures the lag there (a standby has no current WAL
  // position).
  const auto deadline = Clock::now() + seconds(20);
  while (h.QueryValue("SELECT count(*) FROM public.outbox") != "0" && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_EQ(h.QueryValue("SELECT count(*) FROM public.outbox"), "0") << child->Output();
  const std::string m = Metrics(port);
  EXPECT_GE(MetricValue(m, "pgoutbox_cleanup_deleted_rows_total").value_or(0), 120) << m;
  EXPECT_TRUE(MetricValue(m, "pgoutbox_replication_lag_bytes").has_value()) << m;
  EXPECT_EQ(child->Output().find("read-only"), std::string::npos) << child->Output();
  EXPECT_EQ(child->Output().find("recovery is in progress"), std::string::npos) << child->Output();

  // `pgoutbox status` on this standby (PostgreSQL 15 unless the suite runs
  // another): slots are not synced before 17, so there is nothing to take
  // over with; on 17+ nothing synced the slot (sync_replication_slots is off).
  std::string status;
  EXPECT_EQ(RunToExit({PgoutboxBinary(), "status", "--db", standby->ConnInfo(h.db), "--slot",
                       h.slot, "--json"},
                      &status),
            1)
      << status;
  EXPECT_NE(status.find("\"in_recovery\":true"), std::string::npos) << status;
  EXPECT_NE(status.find("\"ready_to_take_over\":false"), std::string::npos) << status;
  StopCleanly(*child);
}

INSTANTIATE_TEST_SUITE_P(Conninfo, MultiHostTest,
                         ::testing::Values(ConninfoForm::kKeyValue, ConninfoForm::kUri),
                         [](const ::testing::TestParamInfo<ConninfoForm>& info) {
                           return info.param == ConninfoForm::kUri ? "Uri" : "KeyValue";
                         });

// --- A hot standby's takeover ---------------------------------------------------

// B waits as a hot standby while A streams events and confirms them, then A
// stops. B's first status update (what the server shows as its flush
// position, and B's /metrics) is the slot's position at the takeover, not
// the older one B read at its start-up. B reports only every 10 minutes, so
// only the first update can be seen.
TEST(Takeover, TheFirstStatusUpdateIsTheSlotsCurrentPosition) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  auto a = StartStreaming(h, h.Args());
  ASSERT_NE(a, nullptr);

  auto b = ChildProcess::Start(
      h.ArgsWith("--feedback-interval", "10m", {"--standby-retry-interval", "200ms"}));
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(WaitForOutput(*b, "waiting as a hot standby", seconds(20))) << b->Output();
  const int b_port = HttpPort(*b);
  ASSERT_GT(b_port, 0);
  // B read the slot at start-up, before this.
  const std::string at_b_start = h.ConfirmedLsn();

  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);
  std::string last_commit;
  for (int tx = 0; tx < 20; ++tx) last_commit = InsertTransaction(conn.get(), tx, 10);
  ASSERT_TRUE(consumer.WaitForCount(200, seconds(20))) << consumer.Count();
  ASSERT_TRUE(h.WaitForConfirmed(last_commit, seconds(10)));

  a->Signal(SIGTERM);
  EXPECT_EQ(a->Wait(seconds(20)), 0) << a->Output();
  const std::string at_takeover = h.ConfirmedLsn();
  ASSERT_GT(CompareLsn(at_takeover, at_b_start), 0);

  ASSERT_TRUE(WaitForOutput(*b, "streaming from slot", seconds(20))) << b->Output();
  EXPECT_NE(b->Output().find("streaming from slot " + h.slot + " at " + at_takeover),
            std::string::npos)
      << b->Output();
  // The first status update goes out as soon as B streams.
  std::optional<double> reported;
  for (const auto deadline = Clock::now() + seconds(10); Clock::now() < deadline;) {
    reported = MetricValue(Metrics(b_port), "pgoutbox_confirmed_lsn_bytes");
    if (reported.value_or(0) > 0) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  std::string flush_lsn;
  for (const auto deadline = Clock::now() + seconds(10); Clock::now() < deadline;) {
    flush_lsn = h.QueryValue("SELECT coalesce(flush_lsn::text, '') FROM pg_stat_replication");
    if (!flush_lsn.empty()) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  std::cerr << "slot at B's start-up " << at_b_start << ", at the takeover " << at_takeover
            << "; B's first status update " << flush_lsn << ", its /metrics "
            << static_cast<uint64_t>(reported.value_or(0)) << "\n";
  EXPECT_EQ(static_cast<uint64_t>(reported.value_or(0)), LsnBytes(at_takeover));
  EXPECT_EQ(flush_lsn, at_takeover);
  StopCleanly(*b);
}

// --- Failover slots: the standby is promoted ------------------------------------

// Commits transactions of a few rows, one after the other, on a connection
// of its own to `conninfo` (which follows the primary), reconnecting while
// there is none, until stopped; counts what committed.
class Inserter {
 public:
  explicit Inserter(std::string conninfo) : conninfo_(std::move(conninfo)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Inserter() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int committed() const { return committed_; }
  int failed() const { return failed_; }

 private:
  void Loop() {
    PgConnPtr conn;
    for (int tx = 0; !stop_; ++tx) {
      if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
        conn.reset(PQconnectdb((conninfo_ + " connect_timeout=2").c_str()));
        if (PQstatus(conn.get()) != CONNECTION_OK) {
          conn.reset();
          std::this_thread::sleep_for(milliseconds(100));
          continue;
        }
      }
      std::string error;
      if (TryInsertTransaction(conn.get(), tx, 5, &error).empty()) {
        ++failed_;  // never acknowledged: committed or not, the table says
      } else {
        ++committed_;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
  }

  std::string conninfo_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> committed_{0}, failed_{0};
};

// On `standby`: runs pg_sync_replication_slots() until its copy of `slot` is
// synced and persistent (a first round may leave it temporary, or refuse to
// copy it while it needs older catalog rows than the standby keeps), writing
// a running-transactions record on `primary` each round so that the slot's
// consumer can move it on. False on timeout.
bool SyncUntilReady(const PgServer& primary, const PgServer& standby, const std::string& slot,
                    std::chrono::milliseconds timeout) {
  for (const auto deadline = Clock::now() + timeout; Clock::now() < deadline;) {
    primary.QueryValue("postgres", "SELECT pg_log_standby_snapshot()");
    standby.QueryValue("postgres", "SELECT pg_sync_replication_slots()");
    if (standby.QueryValue("postgres",
                           "SELECT (synced AND NOT temporary)::text FROM "
                           "pg_replication_slots WHERE slot_name = '" +
                               slot + "'") == "true") {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
  return false;
}

// After a failover: the workload goes on on the new primary until `inserter`
// committed 50 more transactions than `before_kill`, then stops; waits until
// pgoutbox confirmed the new primary's WAL end and the consumer is quiet,
// and counts against the new primary's table. With
// `rows_may_vanish` (no synchronized_standby_slots: pgoutbox may have
// delivered transactions the standby never received, which the failover
// lost from the database), records of rows the new primary lacks are
// counted, not failures.
struct FailoverCount {
  size_t committed = 0, delivered = 0, lost = 0, vanished = 0;
  int duplicated = 0;
  bool ok = false;  // the waits succeeded (gtest failures say why otherwise)
};
FailoverCount CountAfterFailover(Harness& h, TopicConsumer& consumer, ChildProcess& child,
                                 Inserter& inserter, int before_kill, bool rows_may_vanish) {
  FailoverCount count;
  const auto resumed_deadline = Clock::now() + seconds(60);
  while (inserter.committed() < before_kill + 50 && Clock::now() < resumed_deadline) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  std::this_thread::sleep_for(seconds(2));
  inserter.Stop();

  const std::string end = h.CurrentWalLsn();
  if (!h.WaitForConfirmed(end, seconds(60))) {
    ADD_FAILURE() << "confirmed " << h.ConfirmedLsn() << " never reached " << end << "\n"
                  << child.Output();
    return count;
  }
  const auto rows = OutboxRows(h);
  if (!WaitForQuiet(consumer, rows.size(), seconds(30))) {
    ADD_FAILURE() << "only " << consumer.Count() << " of " << rows.size() << " records arrived";
    return count;
  }
  const auto records = consumer.Records();
  std::map<std::string, int> seen;
  if (rows_may_vanish) {
    for (const auto& rec : records) {
      auto id = rec.Header("id");
      if (!id) {
        ADD_FAILURE() << "a record without an id at " << rec.topic << "/" << rec.partition << "@"
                      << rec.offset;
        continue;
      }
      ++seen[*id];
      auto it = rows.find(*id);
      if (it == rows.end()) {
        ++count.vanished;
      } else if (rec.key != it->second.aggregate_id) {
        ADD_FAILURE() << "record " << *id << " has key " << rec.key.value_or("(null)");
      }
    }
  } else {
    seen = CountIds(records, rows);  // also: nothing the new primary lacks
  }
  count.duplicated = ExpectAllArrivedAtLeastOnce(rows, seen);
  for (const auto& [id, row] : rows) count.lost += seen.count(id) == 0 ? 1 : 0;
  count.committed = rows.size();
  count.delivered = records.size();
  ExpectFirstArrivalsInOrder(records, rows);
  count.ok = true;
  return count;
}

// Prints the lines of pgoutbox's output that contain one of `what`.
void PrintLogLines(const ChildProcess& child, std::initializer_list<const char*> what) {
  std::istringstream log(child.Output());
  for (std::string line; std::getline(log, line);) {
    for (const char* w : what) {
      if (line.find(w) != std::string::npos) {
        std::cerr << "  pgoutbox: " << line << "\n";
        break;
      }
    }
  }
}

class FailoverSlotTest : public ::testing::TestWithParam<int> {};

// The slot pgoutbox created on the primary is synced to the standby; the
// primary dies under a steady workload, the standby is promoted and the
// workload goes on there; pgoutbox, with both hosts in --db, follows it and
// continues from the synced slot: every event the new primary has arrives.
TEST_P(FailoverSlotTest, ContinuesFromTheSyncedSlotOnThePromotedStandby) {
  PgServerOptions options;
  options.version = GetParam();
  Harness h(3, options);
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  StandbyOptions standby_options;
  standby_options.slot = kStandbySlot;
  standby_options.extra_settings = {"sync_replication_slots = on", "hot_standby_feedback = on"};
  auto standby = h.pg->StartStandby(standby_options);
  ASSERT_NE(standby, nullptr);
  // Logical changes reach pgoutbox only once the standby has their WAL.
  ASSERT_TRUE(h.pg->Exec(
      "postgres",
      std::string("ALTER SYSTEM SET synchronized_standby_slots = '") + kStandbySlot + "'"));
  ASSERT_TRUE(h.pg->Exec("postgres", "SELECT pg_reload_conf()"));
  const int standby_port = standby->port();
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  const std::string db = BothHosts(ConninfoForm::kKeyValue, *standby, *h.pg, h.db);

  auto child = StartStreaming(h, h.ArgsWith("--db", db));
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(
      h.QueryValue("SELECT failover FROM pg_replication_slots WHERE slot_name = '" + h.slot + "'"),
      "t");
  Inserter inserter(db);

  // The standby's copy of the slot: synced, persistent, and caught up with
  // where the primary's stood when we started waiting.
  std::this_thread::sleep_for(seconds(2));
  const std::string primary_at = h.ConfirmedLsn();
  const std::string slot_sql =
      "SELECT (synced AND NOT temporary AND invalidation_reason IS NULL)::text || ' ' || "
      "coalesce(confirmed_flush_lsn::text, '') FROM pg_replication_slots WHERE slot_name = '" +
      h.slot + "'";
  std::string synced;
  const auto sync_start = Clock::now();
  for (const auto deadline = sync_start + seconds(60); Clock::now() < deadline;) {
    // A running-transactions record lets the slot's catalog xmin move on
    // sooner than the server's own every 15 s.
    h.pg->QueryValue("postgres", "SELECT pg_log_standby_snapshot()");
    synced = standby->QueryValue("postgres", slot_sql);
    if (synced.rfind("true ", 0) == 0 && CompareLsn(synced.substr(5), primary_at) >= 0) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  std::cerr << "PostgreSQL " << GetParam() << ": the standby's slot (" << synced
            << ") caught up with the primary's " << primary_at << " in " << MillisSince(sync_start)
            << " ms\n";
  ASSERT_EQ(synced.rfind("true ", 0), 0u) << synced << "\n" << child->Output();
  ASSERT_GE(CompareLsn(synced.substr(5), primary_at), 0) << synced;
  // `pgoutbox status` on the standby says so.
  std::string status;
  EXPECT_EQ(
      RunToExit({PgoutboxBinary(), "status", "--db", standby->ConnInfo(h.db), "--slot", h.slot},
                &status),
      0)
      << status;
  EXPECT_NE(status.find("takeover:"), std::string::npos) << status;
  EXPECT_NE(status.find("ready: slot " + h.slot + " is synced from the primary"), std::string::npos)
      << status;

  // The primary dies; the standby is promoted; the workload goes on there.
  const int before_kill = inserter.committed();
  ASSERT_TRUE(h.pg->Stop(StopMode::kImmediate));
  const auto killed = Clock::now();
  std::this_thread::sleep_for(seconds(1));
  ASSERT_TRUE(standby->Promote());
  const long long promoted_ms = MillisSince(killed);
  std::swap(h.pg, standby);  // h now works on the new primary
  // Streaming from the new primary: reconnected directly, or, when the slot
  // there was still held for a moment (by the walsender of pgoutbox's own
  // connection closed just before), after taking it over and planning the
  // start again.
  const std::string server = "127.0.0.1:" + std::to_string(standby_port);
  const std::string followed = "replication stream connected to slot " + h.slot + " on " + server;
  const std::string restarted = "(server " + server + ")";
  const auto deadline = Clock::now() + seconds(60);
  while (child->Output().find(followed) == std::string::npos &&
         child->Output().find(restarted) == std::string::npos && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  const bool took_over = child->Output().find(followed) == std::string::npos;
  ASSERT_TRUE(!took_over || child->Output().find(restarted) != std::string::npos)
      << child->Output();
  const long long followed_ms = MillisSince(killed);
  const FailoverCount count =
      CountAfterFailover(h, consumer, *child, inserter, before_kill, /*rows_may_vanish=*/false);
  ASSERT_TRUE(count.ok);
  std::cerr << "PostgreSQL " << GetParam() << ": " << count.committed
            << " events committed on the new primary (" << inserter.committed() * 5
            << " acknowledged to the inserter, " << inserter.failed()
            << " transactions failed in the failover), " << count.delivered
            << " records delivered, " << count.lost << " lost, " << count.duplicated
            << " ids duplicated; promoted " << promoted_ms << " ms after the kill, streaming "
            << "from the new primary " << followed_ms << " ms after the kill\n";
  EXPECT_EQ(count.lost, 0u);
  // The promotion started a new timeline: nothing was confirmed there before
  // every event sent from the old primary was acknowledged, and the stream
  // started from the synced slot's own position.
  EXPECT_NE(child->Output().find("the server changed"), std::string::npos) << child->Output();
  if (took_over) {
    EXPECT_NE(child->Output().find("took over replication slot " + h.slot + " (" + server + ")"),
              std::string::npos);
    EXPECT_NE(child->Output().find("the server moved from timeline 1 to 2 and slot " + h.slot +
                                   " followed it"),
              std::string::npos)
        << child->Output();
  } else {
    EXPECT_NE(child->Output().find("on the new server from its position"), std::string::npos);
  }
  // How pgoutbox went through it, for the reader of the test's output.
  PrintLogLines(*child, {"reconnecting", "retrying in", "the server changed", "on the new server",
                         "replication stream connected", "took over", "followed it"});
  StopCleanly(*child);
}

// pgoutbox pointed at a standby alone (no target_session_attrs) finds the
// synced slot there, which cannot be used before the promotion: it retries
// with backoff instead of exiting, and streams from the slot once the
// standby is promoted.
TEST_P(FailoverSlotTest, RetriesASyncedSlotUntilTheStandbyIsPromoted) {
  PgServerOptions options;
  options.version = GetParam();
  Harness h(3, options);
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  StandbyOptions standby_options;
  standby_options.slot = kStandbySlot;
  // Synchronized by hand below (pg_sync_replication_slots()), not by the
  // worker.
  standby_options.extra_settings = {"hot_standby_feedback = on"};
  auto standby = h.pg->StartStandby(standby_options);
  ASSERT_NE(standby, nullptr);
  ASSERT_TRUE(h.pg->Exec(
      "postgres",
      std::string("ALTER SYSTEM SET synchronized_standby_slots = '") + kStandbySlot + "'"));
  ASSERT_TRUE(h.pg->Exec("postgres", "SELECT pg_reload_conf()"));
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});

  // A first pgoutbox on the primary creates the slot and moves it on: the
  // standby can copy it only once the slot needs no older catalog rows than
  // the standby has.
  auto first = StartStreaming(h, h.Args());
  ASSERT_NE(first, nullptr);
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);
  for (int tx = 0; tx < 10; ++tx) ASSERT_NE(InsertTransaction(conn.get(), tx, 10), "");
  ASSERT_TRUE(consumer.WaitForCount(100, seconds(20))) << consumer.Count();
  ASSERT_TRUE(SyncUntilReady(*h.pg, *standby, h.slot, seconds(60)));
  StopCleanly(*first);

  // More events, on the standby too, that nobody streamed yet.
  std::string last_commit;
  for (int tx = 10; tx < 20; ++tx) last_commit = InsertTransaction(conn.get(), tx, 10);
  ASSERT_TRUE(standby->WaitForReplay(last_commit, seconds(30)));

  auto child = ChildProcess::Start(h.ArgsWith("--db", standby->ConnInfo(h.db), {"--no-create"}));
  ASSERT_NE(child, nullptr);
  ASSERT_TRUE(WaitForOutput(*child, "This replication slot is being synchronized from the primary",
                            seconds(30)))
      << child->Output();
  std::this_thread::sleep_for(seconds(2));  // more than one retry
  ASSERT_TRUE(child->Running()) << child->Output();
  EXPECT_EQ(child->Output().find("streaming from slot"), std::string::npos) << child->Output();

  conn.reset();
  ASSERT_TRUE(h.pg->Stop(StopMode::kImmediate));
  ASSERT_TRUE(standby->Promote());
  ASSERT_TRUE(WaitForOutput(*child, "streaming from slot", seconds(60))) << child->Output();
  std::swap(h.pg, standby);
  const auto rows = OutboxRows(h);
  ASSERT_EQ(rows.size(), 200u);
  ASSERT_TRUE(WaitForQuiet(consumer, rows.size(), seconds(30))) << consumer.Count();
  const auto seen = CountIds(consumer.Records(), rows);
  const int duplicated = ExpectAllArrivedAtLeastOnce(rows, seen);
  std::cerr << "PostgreSQL " << GetParam() << ": " << rows.size() << " events, "
            << consumer.Records().size() << " records, " << duplicated
            << " ids duplicated (the first 100 were streamed before the failover)\n";
  StopCleanly(*child);
}

// A slot made without failover on 17+ (by hand, or before pgoutbox created
// failover slots) is used as it is, with one warning at start-up saying how
// to make it a failover slot; a slot pgoutbox creates is one.
TEST_P(FailoverSlotTest, WarnsOnceAboutASlotWithoutFailover) {
  PgServerOptions options;
  options.version = GetParam();
  Harness h(3, options);
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  ASSERT_TRUE(h.Exec("SELECT pg_create_logical_replication_slot('" + h.slot + "', 'pgoutput')"));
  std::string output;
  ASSERT_EQ(h.RunToEnd({"--exit-when-caught-up"}, seconds(60), &output), 0) << output;
  const std::string warning = "replication slot " + h.slot + " is not a failover slot";
  const size_t at = output.find(warning);
  EXPECT_NE(at, std::string::npos) << output;
  EXPECT_EQ(output.find(warning, at + 1), std::string::npos) << "warned more than once\n" << output;
  EXPECT_NE(output.find("(FAILOVER true)"), std::string::npos) << output;
  EXPECT_EQ(
      h.QueryValue("SELECT failover FROM pg_replication_slots WHERE slot_name = '" + h.slot + "'"),
      "f");

  h.pg->DropSlot(h.slot);
  // Without cleanup (--retention 0): whether or not the first run wrote its
  // state (with or without a delivered mark) before it exited, the retained
  // rows cover what may be undelivered, so the start never refuses for a gap.
  ASSERT_EQ(h.RunToEnd({"--exit-when-caught-up", "--retention", "0"}, seconds(60), &output), 0)
      << output;
  // Created as a failover slot: plainly, or, when the first run had written
  // its state to the state topic, with a snapshot for the recovery from the
  // table.
  EXPECT_TRUE(output.find("created replication slot " + h.slot + " (pgoutput, failover)") !=
                  std::string::npos ||
              output.find("creating replication slot " + h.slot + " (failover) with a snapshot") !=
                  std::string::npos)
      << output;
  EXPECT_EQ(output.find(warning), std::string::npos) << output;
  EXPECT_EQ(
      h.QueryValue("SELECT failover FROM pg_replication_slots WHERE slot_name = '" + h.slot + "'"),
      "t");
}

INSTANTIATE_TEST_SUITE_P(Versions, FailoverSlotTest, ::testing::Values(17, 18),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return "pg" + std::to_string(info.param);
                         });

// --- Recovery from the table: the standby has no copy of the slot --------------

class FailoverRecoveryTest : public ::testing::TestWithParam<int> {};

// Before PostgreSQL 17 a logical slot never reaches a standby: after the
// promotion the slot is gone. pgoutbox, with both hosts in --db, finds the
// new primary, notices the slot is missing, waits for its events in flight,
// creates the slot again with a snapshot and publishes the retained rows
// after its last delivered mark, then streams: every event the new primary
// has arrives.
TEST_P(FailoverRecoveryTest, RecoversFromTheTableOnThePromotedStandby) {
  PgServerOptions options;
  options.version = GetParam();
  Harness h(3, options);
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  StandbyOptions standby_options;
  standby_options.slot = kStandbySlot;
  auto standby = h.pg->StartStandby(standby_options);
  ASSERT_NE(standby, nullptr);
  const int standby_port = standby->port();
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  const std::string db = BothHosts(ConninfoForm::kKeyValue, *standby, *h.pg, h.db);

  auto child = StartStreaming(h, h.ArgsWith("--db", db));
  ASSERT_NE(child, nullptr);
  Inserter inserter(db);
  // Long enough for delivered marks (one every 5 s) to be confirmed.
  std::this_thread::sleep_for(seconds(12));

  const int before_kill = inserter.committed();
  ASSERT_TRUE(h.pg->Stop(StopMode::kImmediate));
  const auto killed = Clock::now();
  std::this_thread::sleep_for(seconds(1));
  ASSERT_TRUE(standby->Promote());
  const long long promoted_ms = MillisSince(killed);
  std::swap(h.pg, standby);  // h now works on the new primary
  ASSERT_TRUE(WaitForOutput(*child, "recovered ", seconds(60))) << child->Output();
  // The new stream's first line names the new primary.
  ASSERT_TRUE(
      WaitForOutput(*child, "(server 127.0.0.1:" + std::to_string(standby_port) + ")", seconds(30)))
      << child->Output();
  const long long resumed_ms = MillisSince(killed);
  const FailoverCount count =
      CountAfterFailover(h, consumer, *child, inserter, before_kill, /*rows_may_vanish=*/true);
  ASSERT_TRUE(count.ok);
  std::cerr << "PostgreSQL " << GetParam() << ": " << count.committed
            << " events committed on the new primary (" << inserter.committed() * 5
            << " acknowledged to the inserter, " << inserter.failed()
            << " transactions failed in the failover), " << count.delivered
            << " records delivered, " << count.lost << " lost, " << count.duplicated
            << " ids duplicated, " << count.vanished
            << " records of rows the new primary lacks; promoted " << promoted_ms
            << " ms after the kill, streaming from the new primary " << resumed_ms
            << " ms after the kill\n";
  EXPECT_EQ(count.lost, 0u);
  EXPECT_NE(child->Output().find("recovering from the table"), std::string::npos);
  PrintLogLines(*child, {"recovering from the table", "created replication slot", "recovered "});
  StopCleanly(*child);
}

INSTANTIATE_TEST_SUITE_P(Versions, FailoverRecoveryTest, ::testing::Values(14, 15, 16),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return "pg" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace pgoutbox::testing
