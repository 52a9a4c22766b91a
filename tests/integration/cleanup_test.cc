// End-to-end cleanup: `pgoutbox cleanup` against a real PostgreSQL 15 and
// pgoutbox streaming to the mock Kafka cluster. Deleting outbox rows never
// loses their events, because logical decoding reads the WAL: rows deleted
// before pgoutbox streamed them, and rows inserted and deleted in one
// transaction, are all published. The command prints what it deleted, exits
// 0, stops promptly on a signal and exits 2 on bad flags.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness.h"
#include "support/child_process.h"
#include "support/kafka_cluster.h"
#include "support/pg_server.h"

namespace pgoutbox::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kArrival = 20s;
constexpr auto kSettle = 1500ms;
// How long a `pgoutbox cleanup` may take.
constexpr auto kRunTimeout = 30s;
const char kTopic[] = "outbox.event.order";

std::vector<std::string> CleanupArgs(const Harness& h, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {PgoutboxBinary(), "cleanup", "--db", h.pg->ConnInfo(h.db)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs pgoutbox once until it has caught up, which creates the publication
// and the slot: everything committed afterwards is in the slot's stream.
void CreatePublicationAndSlot(Harness& h) {
  std::string output;
  ASSERT_EQ(h.RunToEnd({"--exit-when-caught-up"}, 30s, &output), 0) << output;
  ASSERT_NE(h.ConfirmedLsn(), "") << output;
}

void StreamToNow(Harness& h) {
  const std::string end = h.CurrentWalLsn();
  std::string output;
  EXPECT_EQ(h.RunToEnd({"--end-lsn", end}, 30s, &output), 0) << output;
}

// Inserts `n` rows created `age` ago, `per_tx` per transaction.
void InsertOld(Harness& h, int n, int per_tx, const std::string& age, const std::string& tag) {
  for (int first = 1; first <= n; first += per_tx) {
    const int last = std::min(n, first + per_tx - 1);
    ASSERT_TRUE(h.Exec(
        "BEGIN; INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload, "
        "created_at) SELECT 'order', '" +
        tag +
        "-' || g, 'Created', jsonb_build_object('n', g), "
        "now() - '" +
        age + "'::interval FROM generate_series(" + std::to_string(first) + ", " +
        std::to_string(last) + ") g; COMMIT;"));
  }
}

std::set<std::string> AllIds(const Harness& h) {
  std::set<std::string> ids;
  for (const auto& row : h.Query("SELECT id FROM public.outbox")) ids.insert(row[0]);
  return ids;
}

std::set<std::string> PublishedIds(TopicConsumer& consumer, size_t count) {
  EXPECT_TRUE(consumer.WaitForCount(count, kArrival))
      << "expected " << count << " records, got " << consumer.Count();
  std::this_thread::sleep_for(kSettle);
  std::set<std::string> ids;
  for (const ConsumedRecord& r : consumer.Records()) {
    const auto id = r.Header("id");
    EXPECT_TRUE(id.has_value());
    EXPECT_TRUE(ids.insert(id.value_or("")).second) << "event " << id.value_or("") << " twice";
  }
  EXPECT_EQ(consumer.Count(), count);
  return ids;
}

TEST(CleanupEndToEnd, RowsDeletedBeforeTheyAreStreamedAreStillPublished) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  ASSERT_NO_FATAL_FAILURE(CreatePublicationAndSlot(h));
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});

  // The slot exists; pgoutbox is not running. Old rows, then recent ones.
  ASSERT_NO_FATAL_FAILURE(InsertOld(h, 200, 10, "2 hours", "old"));
  ASSERT_NO_FATAL_FAILURE(InsertOld(h, 5, 5, "1 minute", "new"));
  const std::set<std::string> ids = AllIds(h);
  ASSERT_EQ(ids.size(), 205u);

  std::string output;
  ASSERT_EQ(RunToExit(CleanupArgs(h, {"--retention", "1h", "--cleanup-batch", "30"}), &output,
                      kRunTimeout),
            0)
      << output;
  EXPECT_TRUE(Contains(output, "deleted 200 rows\n")) << output;
  EXPECT_TRUE(Contains(output, "deleted 200 outbox rows older than 1h in 7 batches")) << output;
  EXPECT_EQ(h.QueryValue("SELECT count(*) FROM public.outbox"), "5");

  // Streaming now still publishes every one of them.
  StreamToNow(h);
  EXPECT_EQ(PublishedIds(consumer, 205), ids);
}

TEST(CleanupEndToEnd, RowsInsertedAndDeletedInOneTransactionArePublished) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  ASSERT_NO_FATAL_FAILURE(CreatePublicationAndSlot(h));
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});

  const std::set<std::string> ids = {"00000000-0000-4000-8000-000000000001",
                                     "00000000-0000-4000-8000-000000000002",
                                     "00000000-0000-4000-8000-000000000003"};
  std::string sql = "BEGIN;";
  for (const std::string& id : ids) {
    sql +=
        "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload) "
        "VALUES ('" +
        id + "', 'order', 'tx-1', 'Created', '{}');";
  }
  sql += "DELETE FROM public.outbox WHERE aggregate_id = 'tx-1'; COMMIT;";
  ASSERT_TRUE(h.Exec(sql));
  ASSERT_EQ(h.QueryValue("SELECT count(*) FROM public.outbox"), "0");

  StreamToNow(h);
  EXPECT_EQ(PublishedIds(consumer, 3), ids);
}

TEST(CleanupEndToEnd, PrintsTheCountAndExitsZero) {
  Harness h(1);
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  ASSERT_NO_FATAL_FAILURE(InsertOld(h, 7, 7, "3 days", "old"));
  ASSERT_NO_FATAL_FAILURE(InsertOld(h, 4, 4, "1 hour", "new"));

  // Every flag can come from the environment.
  const std::vector<std::string> env = {"PGOUTBOX_DB=" + h.pg->ConnInfo(h.db),
                                        "PGOUTBOX_RETENTION=2d"};
  std::string output;
  ASSERT_EQ(RunToExit({PgoutboxBinary(), "cleanup"}, &output, kRunTimeout, env), 0) << output;
  EXPECT_TRUE(Contains(output, "deleted 7 rows\n")) << output;
  EXPECT_EQ(h.QueryValue("SELECT count(*) FROM public.outbox"), "4");

  ASSERT_EQ(RunToExit({PgoutboxBinary(), "cleanup"}, &output, kRunTimeout, env), 0) << output;
  EXPECT_TRUE(Contains(output, "deleted 0 rows\n")) << output;

  // Retention 0 disables cleanup: nothing is deleted.
  ASSERT_EQ(RunToExit(CleanupArgs(h, {"--retention", "0"}), &output, kRunTimeout), 0) << output;
  EXPECT_TRUE(Contains(output, "cleanup is disabled")) << output;
  EXPECT_EQ(h.QueryValue("SELECT count(*) FROM public.outbox"), "4");

  // The default retention is 24h.
  ASSERT_EQ(RunToExit(CleanupArgs(h, {}), &output, kRunTimeout), 0) << output;
  EXPECT_TRUE(Contains(output, "deleted 0 rows\n")) << output;
  ASSERT_EQ(RunToExit(CleanupArgs(h, {"--retention", "30m"}), &output, kRunTimeout), 0) << output;
  EXPECT_TRUE(Contains(output, "deleted 4 rows\n")) << output;
}

TEST(CleanupEndToEnd, BadFlagsExitTwoAndDeleteNothing) {
  Harness h(1);
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  ASSERT_NO_FATAL_FAILURE(InsertOld(h, 3, 3, "3 days", "old"));

  struct Case {
    std::vector<std::string> args;
    std::string mentions;  // the output names the culprit
  };
  const std::vector<Case> cases = {
      {{"--retention", "soon"}, "--retention"},
      {{"--retention=-1h"}, "--retention"},
      {{"--cleanup-batch", "0"}, "--cleanup-batch"},
      {{"--cleanup-batch", "many"}, "--cleanup-batch"},
      {{"--cleanup-lock-timeout", "0"}, "--cleanup-lock-timeout"},
      {{"--cleanup-statement-timeout", "1y"}, "--cleanup-statement-timeout"},
      {{"--table", "a.b.c"}, "--table"},
      {{"--column-created-at", ""}, "--column-created-at"},
      {{"--cleanup-interval", "1m"}, "--cleanup-interval"},  // a flag of run only
      {{"--no-such-flag"}, "--no-such-flag"},
  };
  for (const Case& c : cases) {
    std::string output;
    EXPECT_EQ(RunToExit(CleanupArgs(h, c.args), &output, kRunTimeout), 2) << c.args[0] << ":\n"
                                                                          << output;
    EXPECT_TRUE(Contains(output, c.mentions)) << c.args[0] << ":\n" << output;
  }
  std::string output;
  EXPECT_EQ(RunToExit({PgoutboxBinary(), "cleanup"}, &output, kRunTimeout), 2) << "no --db:\n"
                                                                               << output;
  EXPECT_TRUE(Contains(output, "--db")) << output;
  EXPECT_EQ(RunToExit(CleanupArgs(h, {}), &output, kRunTimeout, {"PGOUTBOX_RETENTION=bogus"}), 2)
      << output;
  EXPECT_EQ(h.QueryValue("SELECT count(*) FROM public.outbox"), "3");

  // A missing table is not a usage error.
  EXPECT_EQ(RunToExit(CleanupArgs(h, {"--table", "public.nope"}), &output, kRunTimeout), 1)
      << output;
  EXPECT_TRUE(Contains(output, "public.nope does not exist")) << output;
}

// Several outbox tables: one `pgoutbox cleanup` deletes the old rows of every
// table --table selects and leaves the recent ones; a selected table without
// the created_at column is skipped with a line saying so.
TEST(CleanupEndToEnd, DeletesOldRowsInEveryMatchingTable) {
  Harness h(1);
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  for (const std::string schema : {"tenant_a", "tenant_b", "tenant_c"}) {
    ASSERT_TRUE(h.Exec("CREATE SCHEMA " + schema));
    h.CreateOutboxTable(schema + ".outbox");
  }
  ASSERT_TRUE(h.Exec("CREATE SCHEMA tenant_x; CREATE TABLE tenant_x.outbox (id bigint)"));
  auto insert = [&](const std::string& table, int n, const std::string& age) {
    ASSERT_TRUE(h.Exec("INSERT INTO " + table +
                       " (aggregate_type, aggregate_id, event_type, payload, created_at) SELECT "
                       "'order', g::text, 'Created', '{}', now() - '" +
                       age + "'::interval FROM generate_series(1, " + std::to_string(n) + ") g"));
  };
  ASSERT_NO_FATAL_FAILURE(insert("tenant_a.outbox", 40, "2 hours"));
  ASSERT_NO_FATAL_FAILURE(insert("tenant_a.outbox", 3, "1 minute"));
  ASSERT_NO_FATAL_FAILURE(insert("tenant_b.outbox", 25, "3 days"));
  ASSERT_NO_FATAL_FAILURE(insert("tenant_c.outbox", 4, "1 minute"));
  ASSERT_NO_FATAL_FAILURE(insert("public.outbox", 6, "2 hours"));
  ASSERT_NO_FATAL_FAILURE(insert("public.outbox", 2, "1 minute"));
  auto count = [&](const std::string& table) {
    return h.QueryValue("SELECT count(*) FROM " + table);
  };

  std::string output;
  ASSERT_EQ(RunToExit(CleanupArgs(h, {"--table", "tenant_*.outbox", "--table", "public.outbox",
                                      "--retention", "1h", "--cleanup-batch", "10"}),
                      &output, kRunTimeout),
            0)
      << output;
  EXPECT_TRUE(Contains(output, "deleted 71 rows\n")) << output;
  EXPECT_TRUE(Contains(output, "table tenant_x.outbox has no column created_at; it is not cleaned"))
      << output;
  EXPECT_EQ(count("tenant_a.outbox"), "3");
  EXPECT_EQ(count("tenant_b.outbox"), "0");
  EXPECT_EQ(count("tenant_c.outbox"), "4");
  EXPECT_EQ(count("public.outbox"), "2");

  // Only what --table selects: public.outbox alone now.
  ASSERT_NO_FATAL_FAILURE(insert("tenant_b.outbox", 5, "3 days"));
  ASSERT_NO_FATAL_FAILURE(insert("public.outbox", 1, "3 days"));
  ASSERT_EQ(RunToExit(CleanupArgs(h, {"--retention", "1h"}), &output, kRunTimeout), 0) << output;
  EXPECT_TRUE(Contains(output, "deleted 1 row\n")) << output;
  EXPECT_EQ(count("tenant_b.outbox"), "5");

  // Through PGOUTBOX_TABLE, comma-separated.
  ASSERT_EQ(RunToExit(CleanupArgs(h, {"--retention", "1h"}), &output, kRunTimeout,
                      {"PGOUTBOX_TABLE=tenant_b.outbox,tenant_c.outbox"}),
            0)
      << output;
  EXPECT_TRUE(Contains(output, "deleted 5 rows\n")) << output;
  EXPECT_EQ(count("tenant_b.outbox"), "0");

  // No selected table has the column: an error, not "deleted 0 rows".
  EXPECT_EQ(RunToExit(CleanupArgs(h, {"--table", "tenant_x.*", "--retention", "1h"}), &output,
                      kRunTimeout),
            1)
      << output;
  EXPECT_TRUE(Contains(output, "no table of --table tenant_x.* has column created_at")) << output;
}

TEST(CleanupEndToEnd, SignalStopsAPassWaitingForALock) {
  Harness h(1);
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  ASSERT_NO_FATAL_FAILURE(InsertOld(h, 3, 3, "3 days", "old"));

  std::unique_ptr<PGconn, decltype(&PQfinish)> locker(PQconnectdb(h.pg->ConnInfo(h.db).c_str()),
                                                      &PQfinish);
  ASSERT_EQ(PQstatus(locker.get()), CONNECTION_OK) << PQerrorMessage(locker.get());
  PQclear(PQexec(locker.get(), "BEGIN; LOCK TABLE public.outbox IN ACCESS EXCLUSIVE MODE"));
  ASSERT_EQ(PQtransactionStatus(locker.get()), PQTRANS_INTRANS);

  auto child = ChildProcess::Start(CleanupArgs(h, {"--cleanup-lock-timeout", "60s"}));
  ASSERT_NE(child, nullptr);
  const auto deadline = Clock::now() + 10s;
  while (h.QueryValue("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                      "'pgoutbox cleanup' AND wait_event_type = 'Lock'") != "1") {
    ASSERT_LT(Clock::now(), deadline) << "cleanup never waited for the lock:\n" << child->Output();
    std::this_thread::sleep_for(50ms);
  }
  const auto start = Clock::now();
  child->Signal(SIGTERM);
  auto code = child->Wait(5s);
  ASSERT_TRUE(code.has_value()) << "cleanup did not stop on SIGTERM";
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(*code, 0) << child->Output();
  EXPECT_TRUE(Contains(child->Output(), "deleted 0 rows\n")) << child->Output();
  PQclear(PQexec(locker.get(), "ROLLBACK"));
  EXPECT_EQ(h.QueryValue("SELECT count(*) FROM public.outbox"), "3");
}

}  // namespace
}  // namespace pgoutbox::testing
