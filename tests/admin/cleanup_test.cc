// Cleanup against a real PostgreSQL 15: which rows a pass deletes, in how
// many batches, that it never makes writers wait and lockers wait no longer
// than lock_timeout (lock_timeout, statement_timeout), that it runs with
// only SELECT and DELETE (the role of sql/role.sql), that concurrent
// cleaners take turns instead of waiting for each other, partitioned and
// oddly named tables, and the periodic cleaner's thread: counting, prompt
// stop, reconnecting.
#include "admin/cleanup.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "observe/metrics.h"
#include "pg/catalog.h"
#include "pg/connection.h"
#include "pg/table_selection.h"
#include "support/pg_server.h"

namespace pgoutbox::admin {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::PgServer;

std::chrono::milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// One server for the suite, one database per test with the canonical outbox
// table.
class CleanupTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = PgServer::Start(); }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    db_ = server_->CreateDatabase("c_" + name);
    std::ifstream in(std::string(PGOUTBOX_SOURCE_DIR) + "/sql/outbox.sql");
    ASSERT_TRUE(in.good());
    std::stringstream sql;
    sql << in.rdbuf();
    ASSERT_TRUE(Exec(sql.str()));
    conn_ = Connect("cleanup test");
    ASSERT_NE(conn_, nullptr);
    options_.retention = 24h;
  }

  std::unique_ptr<pg::PgConnection> Connect(const std::string& application_name) {
    auto conn = pg::PgConnection::Connect(server_->ConnInfo(db_), pg::PgConnection::Kind::kOrdinary,
                                          application_name);
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    return conn.ok() ? std::move(*conn) : nullptr;
  }

  bool Exec(const std::string& sql) { return server_->Exec(db_, sql); }
  int64_t Count(const std::string& where = "true") {
    return std::stoll(
        server_->QueryValue(db_, "SELECT count(*) FROM public.outbox WHERE " + where));
  }

  // Inserts `n` rows created `age` ago (an interval, e.g. '2 days';
  // negative for the future), with aggregate_type `tag`.
  void Insert(int n, const std::string& age, const std::string& tag) {
    ASSERT_TRUE(
        Exec("INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload, "
             "created_at) SELECT '" +
             tag + "', '" + tag + "-' || g, 'Created', '{}', now() - '" + age +
             "'::interval FROM generate_series(1, " + std::to_string(n) + ") g"));
  }

  static std::unique_ptr<PgServer> server_;
  std::string db_;
  std::unique_ptr<pg::PgConnection> conn_;
  CleanupOptions options_;
};

std::unique_ptr<PgServer> CleanupTest::server_;

// ---------------------------------------------------------------------------
// One pass

TEST_F(CleanupTest, DeletesExactlyTheRowsOlderThanTheRetention) {
  Insert(30, "2 days", "old");
  Insert(10, "24 hours 1 minute", "old");
  Insert(20, "23 hours 59 minutes", "keep");  // inside the retention
  Insert(15, "0", "keep");
  Insert(5, "-1 hour", "keep");  // in the future

  auto stats = RunCleanupPass(*conn_, options_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows, 40u);
  EXPECT_EQ(stats->batches, 1);
  EXPECT_FALSE(stats->gave_up);
  EXPECT_FALSE(stats->stopped);
  EXPECT_EQ(Count("aggregate_type = 'old'"), 0);
  EXPECT_EQ(Count("aggregate_type = 'keep'"), 40);

  // Nothing left to do.
  stats = RunCleanupPass(*conn_, options_);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rows, 0u);
  EXPECT_EQ(Count(), 40);
}

TEST_F(CleanupTest, DeletesInBatchesUntilAShortBatch) {
  Insert(1050, "2 days", "old");
  Insert(10, "1 minute", "keep");
  options_.batch_size = 100;
  auto stats = RunCleanupPass(*conn_, options_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows, 1050u);
  EXPECT_EQ(stats->batches, 11);  // 10 full, one of 50
  EXPECT_EQ(Count(), 10);
  EXPECT_EQ(DescribePass(*stats, options_)
                .rfind("deleted 1050 outbox rows older than 24h in 11 "
                       "batches (",
                       0),
            0u)
      << DescribePass(*stats, options_);

  // An exact multiple ends with an empty batch.
  Insert(300, "3 days", "old");
  stats = RunCleanupPass(*conn_, options_);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rows, 300u);
  EXPECT_EQ(stats->batches, 4);
}

TEST_F(CleanupTest, ConcurrentWriterNeverWaitsForCleanup) {
  Insert(30000, "2 days", "old");
  options_.batch_size = 1000;
  options_.lock_timeout = 500ms;

  std::atomic<bool> done{false};
  std::atomic<int> inserts_during_pass{0};
  std::atomic<bool> pass_running{false};
  std::chrono::microseconds max_latency{0};
  int failures = 0;
  int64_t inserted = 0;
  std::thread writer([&] {
    auto conn = Connect("cleanup test writer");
    if (conn == nullptr) return;
    for (int i = 0; !done.load(); ++i) {
      const bool during = pass_running.load();
      const auto start = Clock::now();
      auto r = conn->Query(
          "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) "
          "VALUES ('new', 'w-" +
          std::to_string(i) + "', 'Created', '{}')");
      const auto latency =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
      if (r.ok()) {
        ++inserted;
      } else {
        ++failures;
      }
      if (during && pass_running.load()) {
        max_latency = std::max(max_latency, latency);
        ++inserts_during_pass;
      }
    }
  });
  std::this_thread::sleep_for(100ms);
  pass_running = true;
  auto stats = RunCleanupPass(*conn_, options_);
  pass_running = false;
  done = true;
  writer.join();

  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows, 30000u);
  EXPECT_FALSE(stats->gave_up);
  EXPECT_EQ(failures, 0);
  EXPECT_GT(inserts_during_pass.load(), 10) << "the writer did not overlap the pass";
  EXPECT_LT(max_latency, options_.lock_timeout + 1000ms)
      << "slowest of " << inserts_during_pass.load() << " inserts during a "
      << stats->elapsed.count() << " ms pass: " << max_latency.count() << " us";
  EXPECT_EQ(Count("aggregate_type = 'old'"), 0);
  EXPECT_EQ(Count("aggregate_type = 'new'"), inserted) << "cleanup deleted a new row";
}

// A row an application holds locked: the batch that reaches it waits no
// longer than lock_timeout, is rolled back and leaves its rows; once the row
// is released, the next pass deletes it.
TEST_F(CleanupTest, GivesUpOnALockedRowWithinTheLockTimeoutAndDeletesItOnceReleased) {
  Insert(100, "2 days", "old");
  auto locker = Connect("cleanup test locker");
  ASSERT_NE(locker, nullptr);
  ASSERT_TRUE(locker->Query("BEGIN").ok());
  ASSERT_TRUE(
      locker->Query("SELECT id FROM public.outbox WHERE aggregate_id = 'old-7' FOR UPDATE").ok());

  options_.batch_size = 10;
  options_.lock_timeout = 400ms;
  options_.statement_timeout = 30s;
  const auto start = Clock::now();
  auto stats = RunCleanupPass(*conn_, options_);
  const auto elapsed = Since(start);
  ASSERT_TRUE(stats.ok()) << "a locked row must not fail the pass: " << stats.status().ToString();
  EXPECT_TRUE(stats->gave_up);
  EXPECT_FALSE(stats->other_cleaner);
  EXPECT_GE(elapsed, 350ms) << "the batch did not wait for the row";
  EXPECT_LT(elapsed, 5s);
  EXPECT_EQ(PQtransactionStatus(conn_->get()), PQTRANS_IDLE) << "the batch was not rolled back";
  EXPECT_EQ(Count("aggregate_id = 'old-7'"), 1);
  // The batch that reached the row was rolled back whole: at least the other
  // rows it had deleted are back (a multiple of 10 is left), and what earlier
  // batches committed stays deleted.
  EXPECT_EQ(static_cast<int64_t>(stats->rows) + Count(), 100);
  EXPECT_EQ(Count() % 10, 0) << Count();
  // The locker was never blocked: it still holds its row and can go on.
  ASSERT_TRUE(locker
                  ->Query("UPDATE public.outbox SET event_type = 'Locked' WHERE aggregate_id = "
                          "'old-7'")
                  .ok());

  // Still locked: the next pass gives up again and deletes nothing of it.
  stats = RunCleanupPass(*conn_, options_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_TRUE(stats->gave_up);
  EXPECT_EQ(Count("aggregate_id = 'old-7'"), 1);

  // Released, it goes on the next pass.
  ASSERT_TRUE(locker->Query("COMMIT").ok());
  const int64_t left = Count();
  stats = RunCleanupPass(*conn_, options_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_FALSE(stats->gave_up);
  EXPECT_EQ(static_cast<int64_t>(stats->rows), left);
  EXPECT_EQ(Count(), 0);
}

// The role sql/role.sql creates (SELECT, DELETE on the outbox, nothing else)
// can run a pass; a row-locking clause (FOR UPDATE) would need UPDATE.
TEST_F(CleanupTest, RunsAsTheRoleWithOnlySelectAndDelete) {
  std::ifstream in(std::string(PGOUTBOX_SOURCE_DIR) + "/sql/role.sql");
  ASSERT_TRUE(in.good());
  std::stringstream sql;
  sql << in.rdbuf();
  ASSERT_TRUE(Exec(sql.str()));
  ASSERT_EQ(server_->QueryValue(db_,
                                "SELECT has_table_privilege('pgoutbox', 'public.outbox', "
                                "'UPDATE')::text || has_table_privilege('pgoutbox', "
                                "'public.outbox', 'DELETE')"),
            "falsetrue");
  Insert(25, "2 days", "old");
  Insert(5, "1 hour", "keep");
  auto conn = pg::PgConnection::Connect(server_->ConnInfo(db_, "pgoutbox"),
                                        pg::PgConnection::Kind::kOrdinary, "cleanup test role");
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  options_.batch_size = 10;
  auto stats = RunCleanupPass(**conn, options_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows, 25u);
  EXPECT_EQ(stats->batches, 3);
  EXPECT_FALSE(stats->gave_up);
  EXPECT_EQ(Count("aggregate_type = 'old'"), 0);
  EXPECT_EQ(Count("aggregate_type = 'keep'"), 5);
}

// Two cleaners of one table never wait for each other's rows: while one
// holds the cleanup lock (here inside a batch waiting for a locked row), a
// second ends its pass at once without deleting anything and says why.
TEST_F(CleanupTest, ASecondCleanerSkipsItsPassWhileAnotherHoldsTheCleanupLock) {
  Insert(50, "2 days", "old");
  auto locker = Connect("cleanup test locker");
  ASSERT_NE(locker, nullptr);
  ASSERT_TRUE(locker->Query("BEGIN").ok());
  ASSERT_TRUE(
      locker->Query("SELECT id FROM public.outbox WHERE aggregate_id = 'old-3' FOR UPDATE").ok());

  auto first_conn = Connect("cleanup test first");
  ASSERT_NE(first_conn, nullptr);
  CleanupOptions first_options = options_;
  first_options.lock_timeout = 20s;
  Result<CleanupStats> first = Status::Internal("not run");
  std::thread first_cleaner([&] { first = RunCleanupPass(*first_conn, first_options); });
  const bool waiting = WaitUntil(
      [&] {
        return server_->QueryValue(db_,
                                   "SELECT count(*) FROM pg_stat_activity WHERE application_name "
                                   "= 'cleanup test first' AND wait_event_type = 'Lock'") == "1";
      },
      10s);
  if (!waiting) {
    locker->Query("ROLLBACK");
    first_cleaner.join();
    FAIL() << "the first cleaner never waited for the locked row";
  }

  options_.lock_timeout = 20s;
  const auto start = Clock::now();
  auto second = RunCleanupPass(*conn_, options_);
  const auto elapsed = Since(start);
  ASSERT_TRUE(locker->Query("COMMIT").ok());
  first_cleaner.join();

  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->other_cleaner);
  EXPECT_FALSE(second->gave_up);
  EXPECT_EQ(second->rows, 0u);
  EXPECT_EQ(second->batches, 0);
  EXPECT_LT(elapsed, 2s) << "the second cleaner waited";
  EXPECT_EQ(PQtransactionStatus(conn_->get()), PQTRANS_IDLE);

  // The first one, once the row was released, deleted everything.
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->other_cleaner);
  EXPECT_FALSE(first->gave_up);
  EXPECT_EQ(first->rows, 50u);
  EXPECT_EQ(Count(), 0);

  // The lock ends with the first's transactions: the second runs now.
  Insert(5, "2 days", "old");
  second = RunCleanupPass(*conn_, options_);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->other_cleaner);
  EXPECT_EQ(second->rows, 5u);
}

// Cleaners of different tables do not share the lock.
TEST_F(CleanupTest, CleanersOfDifferentTablesDoNotShareTheLock) {
  ASSERT_TRUE(
      Exec("CREATE TABLE public.other (n int, created_at timestamptz NOT NULL);"
           "INSERT INTO public.other SELECT g, now() - interval '2 days' "
           "FROM generate_series(1, 4) g"));
  Insert(6, "2 days", "old");
  // Hold the lock of public.outbox's cleaners: a batch in an open transaction.
  auto holder = Connect("cleanup test holder");
  ASSERT_NE(holder, nullptr);
  ASSERT_TRUE(holder->Query("BEGIN").ok());
  auto got = holder->Query(
      "SELECT pg_try_advisory_xact_lock((x'70676f62'::bigint << 32) | "
      "'public.outbox'::regclass::oid::bigint)");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->Get(0, 0), "t");

  auto stats = RunCleanupPass(*conn_, options_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_TRUE(stats->other_cleaner);
  EXPECT_EQ(Count(), 6);

  CleanupOptions other = options_;
  other.table = pg::TableName{"public", "other"};
  stats = RunCleanupPass(*conn_, other);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_FALSE(stats->other_cleaner);
  EXPECT_EQ(stats->rows, 4u);
  ASSERT_TRUE(holder->Query("ROLLBACK").ok());
}

TEST_F(CleanupTest, GivesUpOnLockTimeoutAndRetriesOnTheNextPass) {
  Insert(50, "2 days", "old");
  auto locker = Connect("cleanup test locker");
  ASSERT_NE(locker, nullptr);
  ASSERT_TRUE(locker->Query("BEGIN").ok());
  ASSERT_TRUE(locker->Query("LOCK TABLE public.outbox IN ACCESS EXCLUSIVE MODE").ok());

  options_.lock_timeout = 300ms;
  const auto start = Clock::now();
  auto stats = RunCleanupPass(*conn_, options_);
  const auto elapsed = Since(start);
  ASSERT_TRUE(stats.ok()) << "a lock timeout must not fail the pass: " << stats.status().ToString();
  EXPECT_TRUE(stats->gave_up);
  EXPECT_EQ(stats->rows, 0u);
  EXPECT_EQ(stats->batches, 0);
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 5s);
  EXPECT_EQ(PQtransactionStatus(conn_->get()), PQTRANS_IDLE) << "the batch was not rolled back";

  ASSERT_TRUE(locker->Query("ROLLBACK").ok());
  stats = RunCleanupPass(*conn_, options_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_FALSE(stats->gave_up);
  EXPECT_EQ(stats->rows, 50u);
  EXPECT_EQ(Count(), 0);
}

TEST_F(CleanupTest, GivesUpOnStatementTimeout) {
  Insert(20000, "2 days", "old");
  options_.batch_size = 20000;
  options_.statement_timeout = 1ms;  // no server deletes 20,000 rows that fast
  auto stats = RunCleanupPass(*conn_, options_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_TRUE(stats->gave_up);
  EXPECT_EQ(stats->rows, 0u);
  EXPECT_EQ(Count(), 20000);
  EXPECT_EQ(PQtransactionStatus(conn_->get()), PQTRANS_IDLE);
}

TEST_F(CleanupTest, ZeroRetentionIsDisabledAndTouchesNothing) {
  Insert(20, "2 days", "old");
  options_.retention = 0ms;
  EXPECT_FALSE(options_.enabled());
  auto stats = RunCleanupPass(*conn_, options_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows, 0u);
  EXPECT_EQ(stats->batches, 0);
  EXPECT_EQ(Count(), 20);

  // Not even the table is looked at.
  options_.table = pg::TableName{"public", "no_such_table"};
  stats = RunCleanupPass(*conn_, options_);
  EXPECT_TRUE(stats.ok()) << stats.status().ToString();
}

TEST_F(CleanupTest, StopsBeforeTheNextBatch) {
  Insert(20, "2 days", "old");
  std::atomic<bool> stop{true};
  auto stats = RunCleanupPass(*conn_, options_, &stop);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_TRUE(stats->stopped);
  EXPECT_EQ(stats->batches, 0);
  EXPECT_EQ(Count(), 20);
}

TEST_F(CleanupTest, MissingTableOrColumnIsAnErrorAndTheConnectionStaysUsable) {
  Insert(5, "2 days", "old");
  CleanupOptions bad = options_;
  bad.table = pg::TableName{"public", "nope"};
  auto stats = RunCleanupPass(*conn_, bad);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), Status::Code::kNotFound);
  EXPECT_NE(stats.status().message().find("public.nope does not exist"), std::string::npos)
      << stats.status().message();

  bad = options_;
  bad.created_at_column = "made_at";
  stats = RunCleanupPass(*conn_, bad);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), Status::Code::kNotFound);
  EXPECT_NE(stats.status().message().find("public.outbox has no column made_at"), std::string::npos)
      << stats.status().message();
  EXPECT_EQ(PQtransactionStatus(conn_->get()), PQTRANS_IDLE);

  bad.created_at_column = "aggregate_type";  // text
  stats = RunCleanupPass(*conn_, bad);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), Status::Code::kFailedPrecondition);

  bad = options_;
  bad.batch_size = 0;
  stats = RunCleanupPass(*conn_, bad);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), Status::Code::kInvalidArgument);

  stats = RunCleanupPass(*conn_, options_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows, 5u);
}

// A ctid names a row only within one partition: rows of different partitions
// share ctids, so a partitioned outbox is cleaned partition by partition.
TEST_F(CleanupTest, PartitionedTableDeletesOnlyOldRowsOfEachPartition) {
  ASSERT_TRUE(
      Exec("CREATE TABLE public.pout (id uuid NOT NULL DEFAULT gen_random_uuid(), n int NOT NULL, "
           "created_at timestamptz NOT NULL) PARTITION BY HASH (id);"
           "CREATE TABLE public.pout_0 PARTITION OF public.pout FOR VALUES WITH (MODULUS 3, "
           "REMAINDER 0);"
           "CREATE TABLE public.pout_1 PARTITION OF public.pout FOR VALUES WITH (MODULUS 3, "
           "REMAINDER 1);"
           "CREATE TABLE public.pout_2 PARTITION OF public.pout FOR VALUES WITH (MODULUS 3, "
           "REMAINDER 2);"
           "INSERT INTO public.pout (n, created_at) SELECT g, CASE WHEN g % 2 = 0 THEN now() - "
           "interval '2 days' ELSE now() END FROM generate_series(1, 600) g"));
  ASSERT_NE(server_->QueryValue(db_,
                                "SELECT count(*) FROM public.pout_0 a JOIN public.pout_1 b ON "
                                "a.ctid = b.ctid WHERE (a.n % 2 = 0) <> (b.n % 2 = 0)"),
            "0")
      << "the test needs old and recent rows sharing ctids across partitions";

  options_.table = pg::TableName{"public", "pout"};
  options_.batch_size = 7;
  auto stats = RunCleanupPass(*conn_, options_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows, 300u);
  EXPECT_EQ(server_->QueryValue(db_, "SELECT count(*) FROM public.pout WHERE n % 2 = 1"), "300");
  EXPECT_EQ(server_->QueryValue(db_, "SELECT count(*) FROM public.pout"), "300");
}

// Partitions are named directly, so a role needs the privileges on each:
// without them the pass fails and says what to grant; with them it cleans.
TEST_F(CleanupTest, PartitionedTableAsARoleNeedsSelectAndDeleteOnEachPartition) {
  ASSERT_TRUE(
      Exec("CREATE TABLE public.pout (n int NOT NULL, created_at timestamptz NOT NULL) "
           "PARTITION BY RANGE (n);"
           "CREATE TABLE public.pout_a PARTITION OF public.pout FOR VALUES FROM (0) TO (100);"
           "CREATE TABLE public.pout_b PARTITION OF public.pout FOR VALUES FROM (100) TO (200);"
           "INSERT INTO public.pout SELECT g, now() - interval '2 days' "
           "FROM generate_series(0, 199) g;"
           "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'part_cleaner') "
           "THEN CREATE ROLE part_cleaner LOGIN; END IF; END $$;"
           "GRANT SELECT, DELETE ON public.pout TO part_cleaner;"));
  auto conn = pg::PgConnection::Connect(server_->ConnInfo(db_, "part_cleaner"),
                                        pg::PgConnection::Kind::kOrdinary, "cleanup test role");
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  options_.table = pg::TableName{"public", "pout"};
  auto stats = RunCleanupPass(**conn, options_);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(stats.status().message().find("permission denied for table pout_a (SQLSTATE 42501); "
                                          "cleanup needs SELECT and DELETE on public.pout, and on "
                                          "each of its partitions"),
            std::string::npos)
      << stats.status().message();
  EXPECT_EQ(server_->QueryValue(db_, "SELECT count(*) FROM public.pout"), "200");

  ASSERT_TRUE(Exec("GRANT SELECT, DELETE ON public.pout_a, public.pout_b TO part_cleaner"));
  stats = RunCleanupPass(**conn, options_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows, 200u);
  EXPECT_EQ(server_->QueryValue(db_, "SELECT count(*) FROM public.pout"), "0");
}

TEST_F(CleanupTest, QuotesSchemaTableAndColumnNames) {
  ASSERT_TRUE(
      Exec("CREATE SCHEMA \"My Schema\";"
           "CREATE TABLE \"My Schema\".\"Out Box\" (n int, \"Created At\" timestamptz NOT NULL);"
           "INSERT INTO \"My Schema\".\"Out Box\" SELECT g, now() - g * interval '1 hour' "
           "FROM generate_series(1, 48) g"));
  auto table = pg::ParseTableName("\"My Schema\".\"Out Box\"");
  ASSERT_TRUE(table.ok());
  options_.table = *table;
  options_.created_at_column = "Created At";
  options_.retention = std::chrono::hours(10) + 30min;
  auto stats = RunCleanupPass(*conn_, options_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows, 38u);  // 11 h .. 48 h
  EXPECT_EQ(server_->QueryValue(db_, "SELECT max(n) FROM \"My Schema\".\"Out Box\""), "10");
}

// Several tables: the tenant schemas' outboxes (one without created_at).
class CleanupTablesTest : public CleanupTest {
 protected:
  void SetUp() override {
    CleanupTest::SetUp();
    for (const char* schema : {"tenant_a", "tenant_b", "tenant_c"}) {
      ASSERT_TRUE(Exec(std::string("CREATE SCHEMA ") + schema + "; CREATE TABLE " + schema +
                       ".outbox (LIKE public.outbox INCLUDING ALL)"));
    }
    ASSERT_TRUE(Exec("CREATE SCHEMA tenant_x; CREATE TABLE tenant_x.outbox (id bigint)"));
  }
  void InsertInto(const std::string& table, int n, const std::string& age) {
    ASSERT_TRUE(Exec(
        "INSERT INTO " + table +
        " (aggregate_type, aggregate_id, event_type, payload, created_at) SELECT 't', g::text, "
        "'Created', '{}', now() - '" +
        age + "'::interval FROM generate_series(1, " + std::to_string(n) + ") g"));
  }
  int64_t CountIn(const std::string& table) {
    return std::stoll(server_->QueryValue(db_, "SELECT count(*) FROM " + table));
  }
  pg::TableSelection Select(const std::vector<std::string>& entries) {
    auto selection = pg::TableSelection::Parse(entries);
    EXPECT_TRUE(selection.ok());
    return selection.ok() ? *selection : pg::TableSelection::Of(pg::TableName{});
  }
};

std::vector<std::string> Names(const std::vector<pg::TableName>& tables) {
  std::vector<std::string> out;
  for (const auto& t : tables) out.push_back(t.ToString());
  return out;
}

TEST_F(CleanupTablesTest, FindsTheTablesWithTheColumn) {
  auto found =
      FindCleanupTables(*conn_, Select({"tenant_*.outbox", "public.outbox"}), "created_at");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(Names(found->tables), (std::vector<std::string>{"public.outbox", "tenant_a.outbox",
                                                            "tenant_b.outbox", "tenant_c.outbox"}));
  EXPECT_EQ(Names(found->without_column), std::vector<std::string>{"tenant_x.outbox"});

  auto missing =
      FindCleanupTables(*conn_, Select({"tenant_*.outbox", "public.nope"}), "created_at");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("public.nope does not exist"), std::string::npos)
      << missing.status().ToString();
}

TEST_F(CleanupTablesTest, OnePassCleansEveryTableAndSumsTheStats) {
  InsertInto("tenant_a.outbox", 12, "2 days");
  InsertInto("tenant_a.outbox", 3, "1 hour");
  InsertInto("tenant_b.outbox", 7, "3 days");
  InsertInto("tenant_c.outbox", 2, "1 hour");
  Insert(5, "2 days", "old");
  options_.batch_size = 5;
  const std::vector<pg::TableName> tables = {
      {"public", "outbox"}, {"tenant_a", "outbox"}, {"tenant_b", "outbox"}, {"tenant_c", "outbox"}};
  CleanupStats progress;
  auto stats = RunCleanupPasses(*conn_, options_, tables, nullptr, &progress);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows, 24u);
  // public 5 (+ an empty batch), tenant_a 12 in 3, tenant_b 7 in 2, tenant_c 1 empty.
  EXPECT_EQ(stats->batches, 2 + 3 + 2 + 1);
  EXPECT_EQ(progress.rows, 24u);
  EXPECT_EQ(CountIn("public.outbox"), 0);
  EXPECT_EQ(CountIn("tenant_a.outbox"), 3);
  EXPECT_EQ(CountIn("tenant_b.outbox"), 0);
  EXPECT_EQ(CountIn("tenant_c.outbox"), 2);
}

TEST_F(CleanupTablesTest, AFailingTableDoesNotKeepTheOthersFromBeingCleaned) {
  InsertInto("tenant_a.outbox", 4, "2 days");
  InsertInto("tenant_c.outbox", 6, "2 days");
  auto stats = RunCleanupPasses(
      *conn_, options_, {{"tenant_a", "outbox"}, {"tenant_x", "outbox"}, {"tenant_c", "outbox"}});
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("tenant_x.outbox has no column created_at"),
            std::string::npos)
      << stats.status().ToString();
  EXPECT_EQ(CountIn("tenant_a.outbox"), 0);
  EXPECT_EQ(CountIn("tenant_c.outbox"), 0);
}

TEST_F(CleanupTablesTest, StopsBeforeTheNextTable) {
  InsertInto("tenant_a.outbox", 4, "2 days");
  std::atomic<bool> stop{true};
  auto stats = RunCleanupPasses(*conn_, options_, {{"tenant_a", "outbox"}}, &stop);
  ASSERT_TRUE(stats.ok());
  EXPECT_TRUE(stats->stopped);
  EXPECT_EQ(CountIn("tenant_a.outbox"), 4);
}

TEST_F(CleanupTablesTest, PeriodicCleanerCleansEveryTableEachPass) {
  observe::Metrics metrics;
  InsertInto("tenant_a.outbox", 10, "2 days");
  InsertInto("tenant_b.outbox", 20, "2 days");
  InsertInto("tenant_b.outbox", 5, "1 hour");
  Insert(3, "2 days", "old");
  PeriodicCleanerOptions o;
  o.conninfo = server_->ConnInfo(db_);
  o.cleanup = options_;
  o.interval = 100ms;
  PeriodicCleaner cleaner(o, {{"tenant_a", "outbox"}, {"tenant_b", "outbox"}}, &metrics);
  ASSERT_TRUE(cleaner.Start().ok());
  EXPECT_TRUE(WaitUntil([&] { return metrics.cleanup_deleted_total() == 30; }, 10s))
      << metrics.cleanup_deleted_total();
  InsertInto("tenant_a.outbox", 4, "3 days");
  EXPECT_TRUE(WaitUntil([&] { return metrics.cleanup_deleted_total() == 34; }, 10s))
      << metrics.cleanup_deleted_total();
  cleaner.Stop();
  EXPECT_EQ(CountIn("tenant_a.outbox"), 0);
  EXPECT_EQ(CountIn("tenant_b.outbox"), 5);
  EXPECT_EQ(Count(), 3);  // public.outbox is not among its tables
}

TEST(CleanupFormatTest, DescribePass) {
  CleanupStats stats;
  stats.rows = 1;
  stats.batches = 1;
  stats.elapsed = 12ms;
  CleanupOptions options;
  EXPECT_EQ(DescribePass(stats, options), "deleted 1 outbox row older than 24h in 1 batch (12 ms)");
  stats.rows = 0;
  stats.batches = 0;
  EXPECT_EQ(DescribePass(stats, options),
            "deleted 0 outbox rows older than 24h in 0 batches (12 ms)");
}

// ---------------------------------------------------------------------------
// PeriodicCleaner

class CleanupPeriodicTest : public CleanupTest {
 protected:
  PeriodicCleanerOptions Options() {
    PeriodicCleanerOptions o;
    o.conninfo = server_->ConnInfo(db_);
    o.cleanup = options_;
    o.interval = 100ms;
    o.reconnect_delay = 200ms;
    return o;
  }
  int64_t CleanerSessions(const std::string& extra = "true") {
    return std::stoll(server_->QueryValue(
        db_,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgoutbox cleanup' "
        "AND " +
            extra));
  }
};

TEST_F(CleanupPeriodicTest, DeletesEveryIntervalAndCountsRows) {
  observe::Metrics metrics;
  Insert(50, "2 days", "old");
  Insert(10, "1 hour", "keep");
  PeriodicCleaner cleaner(Options(), &metrics);
  ASSERT_TRUE(cleaner.Start().ok());
  EXPECT_TRUE(WaitUntil([&] { return Count("aggregate_type = 'old'") == 0; }, 10s));
  Insert(30, "3 days", "old");
  EXPECT_TRUE(WaitUntil([&] { return Count("aggregate_type = 'old'") == 0; }, 10s));
  EXPECT_TRUE(WaitUntil([&] { return metrics.cleanup_deleted_total() == 80; }, 5s))
      << metrics.cleanup_deleted_total();
  cleaner.Stop();
  EXPECT_EQ(metrics.cleanup_deleted_total(), 80u);
  EXPECT_EQ(Count(), 10);
  EXPECT_TRUE(WaitUntil([&] { return CleanerSessions() == 0; }, 5s)) << "connection left open";
}

TEST_F(CleanupPeriodicTest, DisabledRetentionStartsNothing) {
  Insert(20, "2 days", "old");
  options_.retention = 0ms;
  PeriodicCleaner cleaner(Options(), nullptr);
  ASSERT_TRUE(cleaner.Start().ok());
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(Count(), 20);
  EXPECT_EQ(CleanerSessions(), 0);
}

TEST_F(CleanupPeriodicTest, RejectsBadOptions) {
  PeriodicCleanerOptions o = Options();
  o.interval = 0ms;
  EXPECT_EQ(PeriodicCleaner(o, nullptr).Start().code(), Status::Code::kInvalidArgument);
  o = Options();
  o.cleanup.batch_size = 0;
  EXPECT_EQ(PeriodicCleaner(o, nullptr).Start().code(), Status::Code::kInvalidArgument);
  o = Options();
  o.cleanup.lock_timeout = 0ms;
  EXPECT_EQ(PeriodicCleaner(o, nullptr).Start().code(), Status::Code::kInvalidArgument);
}

TEST_F(CleanupPeriodicTest, StopIsPromptBetweenPasses) {
  Insert(20, "2 days", "old");
  PeriodicCleanerOptions o = Options();
  o.interval = 1h;
  PeriodicCleaner cleaner(o, nullptr);
  ASSERT_TRUE(cleaner.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return Count() == 0; }, 10s)) << "the first pass did not run";
  const auto start = Clock::now();
  cleaner.Stop();
  EXPECT_LT(Since(start), 1s);
}

TEST_F(CleanupPeriodicTest, StopCancelsABatchWaitingForALock) {
  Insert(20, "2 days", "old");
  auto locker = Connect("cleanup test locker");
  ASSERT_NE(locker, nullptr);
  ASSERT_TRUE(locker->Query("BEGIN").ok());
  ASSERT_TRUE(locker->Query("LOCK TABLE public.outbox IN ACCESS EXCLUSIVE MODE").ok());

  options_.lock_timeout = 60s;
  options_.statement_timeout = 60s;
  PeriodicCleaner cleaner(Options(), nullptr);
  ASSERT_TRUE(cleaner.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return CleanerSessions("wait_event_type = 'Lock'") == 1; }, 10s))
      << "the cleaner never waited for the lock";
  const auto start = Clock::now();
  cleaner.Stop();
  EXPECT_LT(Since(start), 2s);
  EXPECT_TRUE(WaitUntil([&] { return CleanerSessions() == 0; }, 5s));
  ASSERT_TRUE(locker->Query("ROLLBACK").ok());
  EXPECT_EQ(Count(), 20);
}

TEST_F(CleanupPeriodicTest, ReconnectsAfterLosingItsConnection) {
  observe::Metrics metrics;
  Insert(10, "2 days", "old");
  PeriodicCleaner cleaner(Options(), &metrics);
  ASSERT_TRUE(cleaner.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return Count() == 0; }, 10s));
  ASSERT_EQ(server_->QueryValue(db_,
                                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE application_name = 'pgoutbox cleanup'"),
            "1");
  Insert(15, "2 days", "old");
  EXPECT_TRUE(WaitUntil([&] { return Count() == 0; }, 10s)) << "no pass after the connection loss";
  EXPECT_TRUE(WaitUntil([&] { return metrics.cleanup_deleted_total() == 25; }, 5s));
  EXPECT_EQ(CleanerSessions(), 1);
}

}  // namespace
}  // namespace pgoutbox::admin
