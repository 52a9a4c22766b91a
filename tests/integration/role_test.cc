// The least-privilege role end to end, deployed the README's way: `pgoutbox
// setup` as the admin creates the table, publication, role `pgoutbox` and
// slot; then `pgoutbox cleanup` and `pgoutbox run --no-create` connect as the
// role (trust auth on loopback in the test server). Rows past the retention
// are deleted by the one-shot command and by run's periodic cleaner, every
// event is still streamed to Kafka, and the role can do nothing more than
// read and delete outbox rows (SQLSTATE 42501 for the rest).
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness.h"
#include "integration/workload.h"
#include "support/child_process.h"
#include "support/kafka_cluster.h"
#include "support/pg_server.h"

namespace pgoutbox::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr char kRole[] = "pgoutbox";
constexpr char kTopic[] = "outbox.event.order";
constexpr char kDenied[] = "42501";

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

// `pgoutbox setup` as the admin, creating the role; then the topic.
void SetUpAsAdmin(Harness& h) {
  std::string output;
  ASSERT_EQ(RunToExit({PgoutboxBinary(), "setup", "--db", h.pg->ConnInfo(h.db), "--publication",
                       h.publication, "--slot", h.slot, "--role", kRole},
                      &output),
            0)
      << output;
  ASSERT_TRUE(Contains(output, "role pgoutbox: created")) << output;
  h.kafka->CreateTopic(kTopic, 3);
}

// `pgoutbox run --no-create` arguments of the harness, connecting as the role.
std::vector<std::string> RunArgsAsRole(const Harness& h, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"--no-create"};
  args.insert(args.end(), extra.begin(), extra.end());
  return h.ArgsWith("--db", h.pg->ConnInfo(h.db, kRole), args);
}

// As the admin (the application): `n` rows with aggregate ids `tag`-1..n,
// then, for an `age` other than "", created_at moved back by it.
void InsertRows(const Harness& h, int n, const std::string& tag, const std::string& age = "") {
  ASSERT_TRUE(
      h.Exec("INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) "
             "SELECT 'order', '" +
             tag + "-' || g, 'Placed', jsonb_build_object('n', g) FROM generate_series(1, " +
             std::to_string(n) + ") g"));
  if (!age.empty()) {
    ASSERT_TRUE(h.Exec("UPDATE public.outbox SET created_at = now() - '" + age +
                       "'::interval WHERE aggregate_id LIKE '" + tag + "-%'"));
  }
}

int Rows(const Harness& h, const std::string& tag) {
  return std::stoi(
      h.QueryValue("SELECT count(*) FROM public.outbox WHERE aggregate_id LIKE '" + tag + "-%'"));
}

// The ids of every outbox row the test inserted, read before any is deleted.
std::set<std::string> Ids(const Harness& h) {
  std::set<std::string> ids;
  for (const auto& row : h.Query("SELECT id FROM public.outbox")) ids.insert(row[0]);
  return ids;
}

// Waits for exactly `expected` to arrive, each once.
void ExpectPublished(TopicConsumer& consumer, const std::set<std::string>& expected) {
  ASSERT_TRUE(WaitForQuiet(consumer, expected.size(), 20s))
      << "got " << consumer.Count() << " of " << expected.size();
  std::multiset<std::string> got;
  for (const ConsumedRecord& r : consumer.Records()) got.insert(r.Header("id").value_or(""));
  EXPECT_EQ(got, std::multiset<std::string>(expected.begin(), expected.end()));
}

TEST(RoleTest, OneShotCleanupAsTheRoleDeletesRowsPastTheRetention) {
  Harness h;
  ASSERT_TRUE(h.ok());
  ASSERT_NO_FATAL_FAILURE(SetUpAsAdmin(h));
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  ASSERT_NO_FATAL_FAILURE(InsertRows(h, 12, "old", "2 hours"));
  ASSERT_NO_FATAL_FAILURE(InsertRows(h, 4, "new"));
  const std::set<std::string> ids = Ids(h);

  std::string output;
  ASSERT_EQ(RunToExit({PgoutboxBinary(), "cleanup", "--db", h.pg->ConnInfo(h.db, kRole),
                       "--retention", "1h", "--cleanup-batch", "5"},
                      &output),
            0)
      << output;
  EXPECT_TRUE(Contains(output, "deleted 12 rows\n")) << output;
  EXPECT_TRUE(Contains(output, "deleted 12 outbox rows older than 1h in 3 batches")) << output;
  EXPECT_FALSE(Contains(output, "permission denied")) << output;
  EXPECT_EQ(Rows(h, "old"), 0);
  EXPECT_EQ(Rows(h, "new"), 4);

  // The role streams every event, the deleted rows' too.
  auto child = ChildProcess::Start(RunArgsAsRole(h, {"--exit-when-caught-up"}));
  ASSERT_NE(child, nullptr);
  const auto code = child->Wait(60s);
  ASSERT_EQ(code, 0) << child->Output();
  ExpectPublished(consumer, ids);
}

TEST(RoleTest, RunAsTheRoleStreamsAndItsPeriodicCleanerDeletes) {
  Harness h;
  ASSERT_TRUE(h.ok());
  ASSERT_NO_FATAL_FAILURE(SetUpAsAdmin(h));
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  ASSERT_NO_FATAL_FAILURE(InsertRows(h, 20, "old", "3 hours"));
  ASSERT_NO_FATAL_FAILURE(InsertRows(h, 5, "new"));

  auto child =
      StartStreaming(h, RunArgsAsRole(h, {"--retention", "1h", "--cleanup-interval", "200ms"}));
  ASSERT_NE(child, nullptr);
  EXPECT_TRUE(WaitUntil([&] { return Rows(h, "old") == 0; }, 15s))
      << "the periodic cleaner deleted nothing:\n"
      << child->Output();

  // Rows that grow old while it runs go on a later pass.
  ASSERT_NO_FATAL_FAILURE(InsertRows(h, 7, "later", "2 hours"));
  EXPECT_TRUE(WaitUntil([&] { return Rows(h, "later") == 0; }, 15s)) << child->Output();
  EXPECT_EQ(Rows(h, "new"), 5);
  ASSERT_NO_FATAL_FAILURE(StopCleanly(*child));
  EXPECT_FALSE(Contains(child->Output(), "permission denied")) << child->Output();
  EXPECT_FALSE(Contains(child->Output(), "42501")) << child->Output();

  // 20 + 5 + 7 events, all of them published although 27 rows are gone.
  ASSERT_TRUE(WaitForQuiet(consumer, 32, 20s)) << "got " << consumer.Count();
  std::multiset<std::string> keys;
  for (const ConsumedRecord& r : consumer.Records()) keys.insert(r.key.value_or(""));
  EXPECT_EQ(keys.size(), 32u);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), 32u) << "an event twice";
  EXPECT_EQ(keys.count("old-1") + keys.count("later-7") + keys.count("new-5"), 3u);
}

// The SQLSTATE of `sql` run on `conn`, "" if it succeeded.
std::string SqlState(PGconn* conn, const std::string& sql) {
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn, sql.c_str()), &PQclear);
  const ExecStatusType st = PQresultStatus(res.get());
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return "";
  const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
  return state != nullptr ? state : "?";
}

TEST(RoleTest, TheRoleMayOnlyReadAndDeleteOutboxRows) {
  Harness h(1);
  ASSERT_TRUE(h.ok());
  ASSERT_NO_FATAL_FAILURE(SetUpAsAdmin(h));
  ASSERT_TRUE(h.Exec("CREATE TABLE public.orders (id int); INSERT INTO public.orders VALUES (1)"));
  ASSERT_NO_FATAL_FAILURE(InsertRows(h, 2, "row"));
  EXPECT_EQ(h.QueryValue("SELECT string_agg(privilege_type, ',' ORDER BY privilege_type) FROM "
                         "information_schema.role_table_grants WHERE grantee = 'pgoutbox'"),
            "DELETE,SELECT");

  PgConnPtr conn(PQconnectdb(h.pg->ConnInfo(h.db, kRole).c_str()));
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  EXPECT_EQ(SqlState(conn.get(), "SELECT * FROM public.orders"), kDenied);
  EXPECT_EQ(SqlState(conn.get(),
                     "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, "
                     "payload) VALUES ('order', 'x', 'Placed', '{}')"),
            kDenied);
  EXPECT_EQ(SqlState(conn.get(), "UPDATE public.outbox SET event_type = 'x'"), kDenied);
  // Why cleanup takes no row locks: they need UPDATE.
  EXPECT_EQ(SqlState(conn.get(), "SELECT id FROM public.outbox FOR UPDATE"), kDenied);
  EXPECT_EQ(SqlState(conn.get(), "SELECT id FROM public.outbox FOR UPDATE SKIP LOCKED"), kDenied);
  // What cleanup does need works.
  EXPECT_EQ(SqlState(conn.get(), "SELECT count(*) FROM public.outbox"), "");
  EXPECT_EQ(SqlState(conn.get(), "BEGIN"), "");
  EXPECT_EQ(SqlState(conn.get(), "SELECT pg_try_advisory_xact_lock(1)"), "");
  EXPECT_EQ(SqlState(conn.get(), "DELETE FROM public.outbox WHERE aggregate_id = 'row-1'"), "");
  EXPECT_EQ(SqlState(conn.get(), "COMMIT"), "");
  EXPECT_EQ(Rows(h, "row"), 1);
}

}  // namespace
}  // namespace pgoutbox::testing
