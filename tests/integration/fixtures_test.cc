// Self-tests of the shared test fixtures (tests/support): the throwaway
// PostgreSQL server, the mock Kafka cluster with its consumer, and the child
// process runner. Integration tests build on these, so they must behave.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "support/child_process.h"
#include "support/kafka_cluster.h"
#include "support/pg_server.h"

namespace pgoutbox::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct PgConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;

TEST(PgServerTest, StartsWithLogicalWalLevelAndAnswersQueries) {
  const auto started = std::chrono::steady_clock::now();
  auto pg = PgServer::Start();
  ASSERT_NE(pg, nullptr);
  const auto took =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
  std::cerr << "PgServer::Start took " << took.count() << " ms\n";

  EXPECT_GT(pg->port(), 0);
  EXPECT_TRUE(std::filesystem::exists(pg->data_dir() + "/PG_VERSION"));
  EXPECT_EQ(pg->QueryValue("postgres", "SHOW wal_level"), "logical");
  EXPECT_EQ(pg->QueryValue("postgres", "SHOW server_encoding"), "UTF8");
  EXPECT_GE(std::stoi(pg->QueryValue("postgres", "SHOW max_replication_slots")), 10);

  const std::string db = pg->CreateDatabase("fixture_db");
  EXPECT_EQ(db, "fixture_db");
  ASSERT_TRUE(pg->Exec(db,
                       "CREATE TABLE t (id int, note text);"
                       "INSERT INTO t VALUES (1, 'one'), (2, NULL);"));
  auto rows = pg->Query(db, "SELECT id, note FROM t ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"1", "one"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"2", ""}));  // NULL as ""
  EXPECT_EQ(pg->QueryValue(db, "SELECT id FROM t WHERE false"), "");
  EXPECT_NE(pg->ServerLog().find("database system is ready"), std::string::npos);
}

TEST(PgServerTest, ExecReportsServerErrorsAsFailures) {
  auto pg = PgServer::Start();
  ASSERT_NE(pg, nullptr);
  static PgServer* server;
  server = pg.get();
  EXPECT_NONFATAL_FAILURE(server->Exec("postgres", "SELECT * FROM no_such_table"), "no_such_table");
}

TEST(PgServerTest, PasswordUserNeedsTheRightPassword) {
  auto pg = PgServer::Start();
  ASSERT_NE(pg, nullptr);
  pg->CreatePasswordUser("s3cr'et");

  PgConnPtr wrong(PQconnectdb((pg->ConnInfo("postgres", "pwuser") + " password=wrong").c_str()));
  EXPECT_EQ(PQstatus(wrong.get()), CONNECTION_BAD);
  EXPECT_NE(std::string(PQerrorMessage(wrong.get())).find("password authentication failed"),
            std::string::npos)
      << PQerrorMessage(wrong.get());

  PgConnPtr none(PQconnectdb(pg->ConnInfo("postgres", "pwuser").c_str()));
  EXPECT_EQ(PQstatus(none.get()), CONNECTION_BAD);

  PgConnPtr right(PQconnectdb((pg->ConnInfo("postgres", "pwuser") + " password=s3cr'et").c_str()));
  EXPECT_EQ(PQstatus(right.get()), CONNECTION_OK) << PQerrorMessage(right.get());

  PgConnPtr replication(PQconnectdb(
      (pg->ConnInfo("postgres", "pwuser") + " password=s3cr'et replication=database").c_str()));
  EXPECT_EQ(PQstatus(replication.get()), CONNECTION_OK) << PQerrorMessage(replication.get());

  // Every other role is trusted on loopback.
  PgConnPtr trusted(PQconnectdb((pg->ConnInfo() + " replication=database").c_str()));
  EXPECT_EQ(PQstatus(trusted.get()), CONNECTION_OK) << PQerrorMessage(trusted.get());
}

TEST(PgServerTest, CreatesAndDropsSlots) {
  auto pg = PgServer::Start();
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(pg->ConfirmedFlushLsn("s1"), "");
  ASSERT_TRUE(pg->Exec("postgres", "SELECT pg_create_logical_replication_slot('s1', 'pgoutput')"));
  const std::string lsn = pg->ConfirmedFlushLsn("s1");
  EXPECT_NE(lsn, "");
  EXPECT_GT(CompareLsn(lsn, "0/0"), 0);

  pg->DropSlot("s1");
  EXPECT_EQ(pg->ConfirmedFlushLsn("s1"), "");
  pg->DropSlot("s1");  // already gone: nothing to do, no failure
}

TEST(PgServerTest, DropSlotWaitsForTheWalsenderToLetGo) {
  auto pg = PgServer::Start();
  ASSERT_NE(pg, nullptr);
  ASSERT_TRUE(pg->Exec("postgres", "SELECT pg_create_logical_replication_slot('s2', 'pgoutput')"));

  PgConnPtr conn(PQconnectdb((pg->ConnInfo() + " replication=database").c_str()));
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  PGresult* res = PQexec(conn.get(),
                         "START_REPLICATION SLOT \"s2\" LOGICAL 0/0 "
                         "(proto_version '1', publication_names '\"p\"')");
  ASSERT_EQ(PQresultStatus(res), PGRES_COPY_BOTH) << PQerrorMessage(conn.get());
  PQclear(res);
  EXPECT_EQ(
      pg->QueryValue("postgres", "SELECT active FROM pg_replication_slots WHERE slot_name = 's2'"),
      "t");

  std::thread closer([&conn] {
    std::this_thread::sleep_for(milliseconds(500));
    conn.reset();
  });
  pg->DropSlot("s2");
  closer.join();
  EXPECT_EQ(pg->ConfirmedFlushLsn("s2"), "");
}

TEST(PgServerTest, StartsWithReplicaWalLevel) {
  PgServerOptions options;
  options.wal_level = "replica";
  options.extra_settings = {"work_mem = '8MB'"};
  auto pg = PgServer::Start(options);
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(pg->QueryValue("postgres", "SHOW wal_level"), "replica");
  EXPECT_EQ(pg->QueryValue("postgres", "SHOW work_mem"), "8MB");

  // Logical slots need wal_level=logical: SQLSTATE 55000.
  PgConnPtr conn(PQconnectdb(pg->ConnInfo().c_str()));
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK);
  PGresult* res = PQexec(conn.get(), "SELECT pg_create_logical_replication_slot('s', 'pgoutput')");
  EXPECT_EQ(PQresultStatus(res), PGRES_FATAL_ERROR);
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  EXPECT_STREQ(state, "55000");
  PQclear(res);
}

TEST(PgServerTest, RestartKeepsPortAndData) {
  auto pg = PgServer::Start();
  ASSERT_NE(pg, nullptr);
  const int port = pg->port();
  ASSERT_TRUE(pg->Exec("postgres", "CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)"));
  ASSERT_TRUE(pg->Restart());
  EXPECT_EQ(pg->port(), port);
  EXPECT_EQ(pg->QueryValue("postgres", "SELECT x FROM kept"), "7");
}

TEST(PgServerTest, TwoServersRunSideBySide) {
  auto a = PgServer::Start();
  auto b = PgServer::Start();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->port(), b->port());
  EXPECT_NE(a->data_dir(), b->data_dir());
  const std::string dir = a->data_dir();
  a.reset();
  EXPECT_FALSE(std::filesystem::exists(dir));  // cleaned up
  EXPECT_EQ(b->QueryValue("postgres", "SELECT 1"), "1");
}

TEST(CompareLsnTest, OrdersByBothHalves) {
  EXPECT_EQ(CompareLsn("0/16B3748", "0/16B3748"), 0);
  EXPECT_LT(CompareLsn("0/16B3748", "0/16B3749"), 0);
  EXPECT_GT(CompareLsn("1/0", "0/FFFFFFFF"), 0);
  EXPECT_LT(CompareLsn("F/B374D848", "16/B374D848"), 0);
  EXPECT_EQ(CompareLsn("", "0/0"), 0);
}

TEST(PgServerTest, MissingVersionFailsNamingTheInstallScript) {
  static PgServerOptions options;
  options.version = 13;  // never installed by scripts/install-pg-versions.sh
  static std::unique_ptr<PgServer> pg;
  EXPECT_NONFATAL_FAILURE(pg = PgServer::Start(options), "scripts/install-pg-versions.sh");
  EXPECT_EQ(pg, nullptr);
}

TEST(PgServerTest, VersionFromTheEnvironmentIsTheDefault) {
  const char* before = std::getenv("PGOUTBOX_TEST_PG_VERSION");
  const std::string saved = before == nullptr ? "" : before;
  setenv("PGOUTBOX_TEST_PG_VERSION", "17", 1);
  auto pg = PgServer::Start();
  if (before == nullptr) {
    unsetenv("PGOUTBOX_TEST_PG_VERSION");
  } else {
    setenv("PGOUTBOX_TEST_PG_VERSION", saved.c_str(), 1);
  }
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(pg->version(), 17);
  EXPECT_EQ(pg->QueryValue("postgres", "SELECT current_setting('server_version_num')::int / 10000"),
            "17");
}

// The server of each major version that scripts/install-pg-versions.sh
// installs: physical replication to a standby made from a cold copy, and a
// failover to it after the primary crashed.
class PgServerVersionTest : public ::testing::TestWithParam<int> {};

TEST_P(PgServerVersionTest, PromotedStandbyHasTheRowsOfACrashedPrimary) {
  const int version = GetParam();
  PgServerOptions options;
  options.version = version;
  auto primary = PgServer::Start(options);
  ASSERT_NE(primary, nullptr);
  EXPECT_EQ(primary->version(), version);
  EXPECT_EQ(
      primary->QueryValue("postgres", "SELECT current_setting('server_version_num')::int / 10000"),
      std::to_string(version));
  ASSERT_TRUE(primary->Exec("postgres", "CREATE TABLE t (id int PRIMARY KEY)"));
  ASSERT_TRUE(
      primary->Exec("postgres", "SELECT pg_create_logical_replication_slot('outbox', 'pgoutput')"));

  auto standby = primary->StartStandby({.slot = "standby"});
  ASSERT_NE(standby, nullptr);
  EXPECT_NE(standby->port(), primary->port());
  EXPECT_NE(primary->SystemIdentifier(), "");
  EXPECT_EQ(standby->SystemIdentifier(), primary->SystemIdentifier());
  EXPECT_TRUE(standby->InRecovery());
  EXPECT_FALSE(primary->InRecovery());

  // Written after the copy: only streaming carries these to the standby.
  ASSERT_TRUE(primary->Exec("postgres", "INSERT INTO t SELECT generate_series(1, 100)"));
  const std::string written = primary->QueryValue("postgres", "SELECT pg_current_wal_lsn()");
  ASSERT_TRUE(standby->WaitForReplay(written, seconds(30)))
      << "the standby did not replay up to " << written;
  EXPECT_EQ(primary->QueryValue(
                "postgres", "SELECT active FROM pg_replication_slots WHERE slot_name = 'standby'"),
            "t");

  ASSERT_TRUE(primary->Stop(StopMode::kImmediate));
  EXPECT_FALSE(primary->running());
  ASSERT_TRUE(standby->Promote());
  EXPECT_FALSE(standby->InRecovery());
  EXPECT_EQ(standby->QueryValue("postgres", "SELECT count(*) FROM t"), "100");
  ASSERT_TRUE(standby->Exec("postgres", "INSERT INTO t VALUES (101)"));  // it takes writes
  // The cold copy carried the logical slot, not the physical one it streamed from.
  EXPECT_EQ(standby->QueryValue("postgres",
                                "SELECT string_agg(slot_name || ':' || slot_type, ',') "
                                "FROM pg_replication_slots"),
            "outbox:logical");

  // The old primary comes back through crash recovery with its own rows.
  ASSERT_TRUE(primary->StartAgain());
  EXPECT_EQ(primary->QueryValue("postgres", "SELECT count(*) FROM t"), "100");
}

INSTANTIATE_TEST_SUITE_P(Versions, PgServerVersionTest, ::testing::ValuesIn(kPgVersions),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return "pg" + std::to_string(info.param);
                         });

TEST(TopicConsumerTest, KeepsConsumingThroughABrokerOutage) {
  auto kafka = MockKafka::Start(3);
  ASSERT_NE(kafka, nullptr);
  EXPECT_EQ(kafka->broker_count(), 3);
  kafka->CreateTopic("outage", 3);
  TopicConsumer consumer(kafka->bootstraps(), {"outage"});

  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", kafka->bootstraps().c_str(), errstr,
                              sizeof(errstr)),
            RD_KAFKA_CONF_OK);
  ASSERT_EQ(rd_kafka_conf_set(conf, "reconnect.backoff.max.ms", "200", errstr, sizeof(errstr)),
            RD_KAFKA_CONF_OK);
  ASSERT_EQ(rd_kafka_conf_set(conf, "log_level", "2", errstr, sizeof(errstr)), RD_KAFKA_CONF_OK);
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> producer(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)), rd_kafka_destroy);
  ASSERT_NE(producer, nullptr) << errstr;
  auto produce = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      std::string value = "v" + std::to_string(i);
      ASSERT_EQ(rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC("outage"),
                                  RD_KAFKA_V_VALUE(value.data(), value.size()),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  };

  produce(0, 10);
  ASSERT_EQ(rd_kafka_flush(producer.get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_TRUE(consumer.WaitForCount(10, seconds(20))) << consumer.Count();

  kafka->SetAllBrokersDown(true);
  produce(10, 20);  // queued in the producer while the brokers are down
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(consumer.Count(), 10u);
  kafka->SetAllBrokersDown(false);

  ASSERT_EQ(rd_kafka_flush(producer.get(), 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_TRUE(consumer.WaitForCount(20, seconds(30))) << consumer.Count();
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(consumer.Count(), 20u);  // nothing read twice
  for (const auto& rec : consumer.Records()) {
    EXPECT_FALSE(rec.key.has_value());
    EXPECT_TRUE(rec.headers.empty());
  }
}

TEST(ChildProcessTest, CapturesOutputAndExitCode) {
  auto child = ChildProcess::Start(
      {"/bin/sh", "-c", "echo out; echo err >&2; echo \"$FIXTURE_VAR\"; exit 3"},
      {"FIXTURE_VAR=from-env"});
  ASSERT_NE(child, nullptr);
  EXPECT_GT(child->pid(), 0);
  EXPECT_EQ(child->Wait(seconds(10)), 3);
  EXPECT_FALSE(child->Running());
  const std::string out = child->Output();
  EXPECT_NE(out.find("out\n"), std::string::npos) << out;
  EXPECT_NE(out.find("err\n"), std::string::npos) << out;
  EXPECT_NE(out.find("from-env\n"), std::string::npos) << out;
}

TEST(ChildProcessTest, WaitTimesOutAndSignalStops) {
  auto child = ChildProcess::Start({"sleep", "30"});
  ASSERT_NE(child, nullptr);
  EXPECT_TRUE(child->Running());
  EXPECT_EQ(child->Wait(milliseconds(100)), std::nullopt);
  child->Signal(SIGTERM);
  EXPECT_EQ(child->Wait(seconds(10)), 128 + SIGTERM);
  child->Signal(SIGTERM);  // already reaped: a no-op
}

TEST(ChildProcessTest, DestructorKillsARunningChild) {
  int pid;
  {
    auto child = ChildProcess::Start({"sleep", "30"});
    ASSERT_NE(child, nullptr);
    pid = child->pid();
  }
  EXPECT_NE(kill(pid, 0), 0);  // gone and reaped
}

TEST(ChildProcessTest, MissingProgramIsAFailure) {
  EXPECT_NONFATAL_FAILURE(EXPECT_EQ(ChildProcess::Start({"/nonexistent/program"}), nullptr),
                          "cannot execute");
}

TEST(ChildProcessTest, PgoutboxBinaryIsBuilt) {
  EXPECT_TRUE(std::filesystem::exists(PgoutboxBinary())) << PgoutboxBinary();
}

}  // namespace
}  // namespace pgoutbox::testing
