// The benchmark's ceiling against a real PostgreSQL: it must count as events
// what pgoutbox publishes, inserts and transactional messages with the event
// prefix, and nothing else, so that the message backlogs of scripts/bench.sh
// are measured against the same ceiling as the row backlogs.
#include "tools/bench/receiver.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "support/pg_server.h"

namespace pgoutbox::testing {
namespace {

constexpr char kSlot[] = "receiver_test";
constexpr char kPublication[] = "receiver_test";

class ReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = PgServer::Start();
    ASSERT_TRUE(pg_);
    pg_->CreateDatabase(db_);
    std::ifstream in(std::string(PGOUTBOX_SOURCE_DIR) + "/sql/outbox.sql");
    std::stringstream sql;
    sql << in.rdbuf();
    ASSERT_TRUE(Exec(sql.str()));
    ASSERT_TRUE(Exec(std::string("CREATE PUBLICATION ") + kPublication +
                     " FOR TABLE public.outbox WITH (publish = 'insert')"));
    pg_->Query(
        db_, std::string("SELECT pg_create_logical_replication_slot('") + kSlot + "', 'pgoutput')");
  }

  bool Exec(const std::string& sql) const { return pg_->Exec(db_, sql); }

  // Receives from the slot up to the current insert position.
  Result<bench::ReceiveResult> ReceiveAll(const std::string& prefix = "pgoutbox") const {
    bench::ReceiveOptions options;
    options.conninfo = pg_->ConnInfo(db_);
    options.slot = kSlot;
    options.publication = kPublication;
    options.message_prefix = prefix;
    auto end = Lsn::Parse(pg_->QueryValue(db_, "SELECT pg_current_wal_insert_lsn()"));
    EXPECT_TRUE(end);
    options.end_lsn = end.value_or(Lsn());
    return bench::Receive(options);
  }

  std::string db_ = "app";
  std::unique_ptr<PgServer> pg_;
};

std::string Emit(bool transactional, const std::string& prefix) {
  return std::string("SELECT pg_logical_emit_message(") + (transactional ? "true" : "false") +
         ", '" + prefix +
         "', '{\"aggregate_type\": \"order\", \"aggregate_id\": \"1\", \"event_type\": \"e\", "
         "\"payload\": {}}');";
}

constexpr char kInsert[] =
    "INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) "
    "SELECT 'order', 'order-' || n, 'OrderPlaced', '{}' FROM generate_series(1, 2) AS n;";

TEST_F(ReceiverTest, CountsInsertsAndEventMessages) {
  // Not events: a non-transactional message (sent even if its transaction
  // rolls back), another prefix, the heartbeat's, a rolled-back transaction.
  ASSERT_TRUE(Exec(Emit(false, "pgoutbox")));
  ASSERT_TRUE(Exec("BEGIN; " + Emit(true, "other") + Emit(true, "pgoutbox.heartbeat") + kInsert +
                   "COMMIT;"));
  ASSERT_TRUE(Exec("BEGIN; " + Emit(true, "pgoutbox") + kInsert + "ROLLBACK;"));
  // Events: 2 + 2 inserts, 1 + 10 messages.
  ASSERT_TRUE(Exec("BEGIN; " + Emit(true, "pgoutbox") + kInsert + "COMMIT;"));
  ASSERT_TRUE(
      Exec("SELECT pg_logical_emit_message(true, 'pgoutbox', '{}') FROM generate_series(1, 10)"));
  auto r = ReceiveAll();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->events, 4u + 11u);
  EXPECT_EQ(r->event_messages, 11u);
  EXPECT_GT(r->bytes, 0u);
}

TEST_F(ReceiverTest, CountsTheConfiguredPrefixOnly) {
  ASSERT_TRUE(Exec(Emit(true, "pgoutbox")));
  ASSERT_TRUE(Exec(Emit(true, "events")));
  auto r = ReceiveAll("events");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->events, 1u);
  EXPECT_EQ(r->event_messages, 1u);
}

}  // namespace
}  // namespace pgoutbox::testing
