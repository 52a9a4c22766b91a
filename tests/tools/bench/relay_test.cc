// The benchmark's naive relay end to end: a real PostgreSQL, the mock Kafka
// cluster, `pgoutbox-bench relay` as a child process on a slot of its own,
// and an independent consumer. Every inserted row must arrive once with its
// aggregate id as key, and the slot must be confirmed past the inserts only
// once the broker acknowledged them.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.h"
#include "support/kafka_cluster.h"
#include "support/pg_server.h"

namespace pgoutbox::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kSlot[] = "relay_test";
constexpr char kPublication[] = "relay_test";
// The relay's default topic template, relay.{aggregate_type}, for the rows here.
constexpr char kTopic[] = "relay.order";

class RelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = PgServer::Start();
    kafka_ = MockKafka::Start(3);
    ASSERT_TRUE(pg_ && kafka_);
    pg_->CreateDatabase(db_);
    std::ifstream in(std::string(PGOUTBOX_SOURCE_DIR) + "/sql/outbox.sql");
    std::stringstream sql;
    sql << in.rdbuf();
    ASSERT_TRUE(Exec(sql.str()));
    ASSERT_TRUE(Exec(std::string("CREATE PUBLICATION ") + kPublication +
                     " FOR TABLE public.outbox WITH (publish = 'insert')"));
    Query(std::string("SELECT pg_create_logical_replication_slot('") + kSlot + "', 'pgoutput')");
    kafka_->CreateTopic(kTopic, 3);
  }

  std::vector<std::string> RelayArgs(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv = {
        PGOUTBOX_BENCH_BINARY, "relay",  "--db", pg_->ConnInfo(db_), "--brokers",
        kafka_->bootstraps(),  "--slot", kSlot,  "--publication",    kPublication};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  // The relay in the background, once it streams; nullptr (and a failure) if
  // it does not get there.
  std::unique_ptr<ChildProcess> StartRelay(const std::vector<std::string>& extra = {}) {
    auto relay = ChildProcess::Start(RelayArgs(extra));
    if (relay == nullptr) return nullptr;
    if (!WaitFor([&] { return relay->Output().find("ready=1") != std::string::npos; }, 20s)) {
      ADD_FAILURE() << "the relay did not start streaming:\n" << relay->Output();
      return nullptr;
    }
    return relay;
  }

  // Inserts one outbox row of aggregate type "order" in a transaction of
  // its own, or `rows` rows in one transaction; aggregate ids order-<first>
  // and up.
  void Insert(int first, int rows = 1) {
    ASSERT_TRUE(
        Exec("INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, headers) "
             "SELECT 'order', 'order-' || n, 'OrderPlaced', jsonb_build_object('n', n), "
             "'{\"source\": \"relay-test\"}' FROM generate_series(" +
             std::to_string(first) + ", " + std::to_string(first + rows - 1) + ") AS n"));
  }

  // The outbox rows: id -> aggregate id.
  std::map<std::string, std::string> Rows() const {
    std::map<std::string, std::string> rows;
    for (const auto& row : Query("SELECT id, aggregate_id FROM outbox")) rows[row[0]] = row[1];
    return rows;
  }

  std::string InsertLsn() const {
    return pg_->QueryValue(db_, "SELECT pg_current_wal_insert_lsn()");
  }
  std::string Confirmed() const { return pg_->ConfirmedFlushLsn(kSlot); }

  bool Exec(const std::string& sql) const { return pg_->Exec(db_, sql); }
  std::vector<std::vector<std::string>> Query(const std::string& sql) const {
    return pg_->Query(db_, sql);
  }

  template <typename Predicate>
  static bool WaitFor(Predicate done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }

  // Every row arrived once on kTopic, keyed by its aggregate id, with its
  // id, event type and the headers column's field as headers.
  void ExpectEveryRowOnce(const TopicConsumer& consumer) const {
    const std::map<std::string, std::string> rows = Rows();
    std::map<std::string, int> seen;
    for (const ConsumedRecord& r : consumer.Records()) {
      const std::string id = r.Header("id").value_or("<no id>");
      ++seen[id];
      ASSERT_TRUE(rows.count(id)) << "a record for no row: " << id;
      EXPECT_EQ(r.topic, kTopic);
      EXPECT_EQ(r.key, rows.at(id));
      EXPECT_EQ(r.Header("event_type"), "OrderPlaced");
      EXPECT_EQ(r.Header("source"), "relay-test");
      EXPECT_EQ(r.value, "{\"n\": " + rows.at(id).substr(6) + "}");
    }
    EXPECT_EQ(seen.size(), rows.size());
    for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << id;
  }

  std::string db_ = "app";
  std::unique_ptr<PgServer> pg_;
  std::unique_ptr<MockKafka> kafka_;
};

TEST_F(RelayTest, EveryInsertArrivesKeyedAndTheSlotIsConfirmedPastIt) {
  TopicConsumer consumer(kafka_->bootstraps(), {kTopic});
  auto relay = StartRelay();
  ASSERT_NE(relay, nullptr);
  Insert(1, 5);
  Insert(6);
  const std::string before_last = InsertLsn();
  Insert(7);
  ASSERT_TRUE(consumer.WaitForCount(7, 20s)) << relay->Output();
  ASSERT_TRUE(WaitFor([&] { return CompareLsn(Confirmed(), before_last) > 0; }, 10s))
      << "confirmed_flush_lsn " << Confirmed() << ", last insert after " << before_last;
  relay->Signal(SIGTERM);
  EXPECT_EQ(relay->Wait(30s), 0);
  EXPECT_NE(relay->Output().find("events=7 acked=7 confirmed="), std::string::npos)
      << relay->Output();
  ExpectEveryRowOnce(consumer);
}

TEST_F(RelayTest, ConfirmsNothingTheBrokerHasNotAcknowledged) {
  TopicConsumer consumer(kafka_->bootstraps(), {kTopic});
  auto relay = StartRelay({"-X", "reconnect.backoff.max.ms=200"});
  ASSERT_NE(relay, nullptr);
  const std::string before = InsertLsn();
  Insert(1);
  ASSERT_TRUE(consumer.WaitForCount(1, 20s));
  ASSERT_TRUE(WaitFor([&] { return CompareLsn(Confirmed(), before) > 0; }, 10s));
  const std::string acked = Confirmed();

  kafka_->SetAllBrokersDown(true);
  Insert(2);
  // Status updates go out every second: three of them while the broker is away.
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(Confirmed(), acked) << "confirmed a record the broker never acknowledged";

  kafka_->SetAllBrokersDown(false);
  ASSERT_TRUE(consumer.WaitForCount(2, 30s)) << relay->Output();
  EXPECT_TRUE(WaitFor([&] { return CompareLsn(Confirmed(), acked) > 0; }, 10s));
  relay->Signal(SIGINT);
  EXPECT_EQ(relay->Wait(30s), 0);
  ExpectEveryRowOnce(consumer);
}

TEST_F(RelayTest, EndLsnEndsTheRun) {
  TopicConsumer consumer(kafka_->bootstraps(), {kTopic});
  Insert(1, 3);
  const std::string end = pg_->QueryValue(db_, "SELECT pg_current_wal_lsn()");
  auto relay = ChildProcess::Start(RelayArgs({"--end-lsn", end}));
  ASSERT_NE(relay, nullptr);
  EXPECT_EQ(relay->Wait(30s), 0);
  EXPECT_NE(relay->Output().find("events=3 acked=3"), std::string::npos) << relay->Output();
  ASSERT_TRUE(consumer.WaitForCount(3, 20s));
  ExpectEveryRowOnce(consumer);
}

}  // namespace
}  // namespace pgoutbox::testing
