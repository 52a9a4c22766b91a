// End-to-end tests of pgoutbox's start-up checks: every kind of bad input
// ends the process with a non-zero exit code and one clear line saying what
// is wrong, and nothing is created in the database (no publication, no slot)
// before everything has been checked. Secrets never reach the output.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "integration/harness.h"
#include "integration/output_checks.h"

namespace pgoutbox::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// How long one pgoutbox run may take.
constexpr auto kRunTimeout = seconds(30);

// The outbox table as sql/outbox.sql has it, with `payload_type` for payload
// and without the column `omit`.
std::string OutboxVariant(const std::string& omit, const std::string& payload_type = "jsonb") {
  std::vector<std::pair<std::string, std::string>> columns = {
      {"id", "uuid PRIMARY KEY DEFAULT gen_random_uuid()"},
      {"aggregate_type", "text NOT NULL"},
      {"aggregate_id", "text NOT NULL"},
      {"event_type", "text NOT NULL"},
      {"topic", "text"},
      {"payload", payload_type + " NOT NULL"},
      {"headers", "jsonb"},
      {"created_at", "timestamptz NOT NULL DEFAULT now()"},
  };
  std::string sql = "CREATE TABLE public.outbox (";
  bool first = true;
  for (const auto& [name, type] : columns) {
    if (name == omit) continue;
    sql += (first ? "" : ", ") + name + " " + type;
    first = false;
  }
  return sql + ")";
}

TEST(BadInput, UnreachableDatabase) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  const std::string db = "host=127.0.0.1 port=" + std::to_string(ClosedPort()) +
                         " dbname=app user=postgres password=Unreach-Pw-41";
  std::string output;
  EXPECT_EQ(RunToExit(h.ArgsWith("--db", db), &output, kRunTimeout), 1) << output;
  ExpectOneClearLine(output, {"cannot connect"});
  EXPECT_EQ(output.find("Unreach-Pw-41"), std::string::npos) << "password printed:\n" << output;
  ExpectNothingCreated(h);
}

TEST(BadInput, WrongPassword) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.pg->CreatePasswordUser("secret");
  std::string output;
  EXPECT_EQ(RunToExit(h.ArgsWith("--db", h.pg->ConnInfo(h.db, "pwuser") + " password=Wr0ng-Pw-77"),
                      &output, kRunTimeout),
            1)
      << output;
  ExpectOneClearLine(output, {"password authentication failed"});
  EXPECT_EQ(output.find("Wr0ng-Pw-77"), std::string::npos) << "password printed:\n" << output;
  ExpectNothingCreated(h);

  // The same with a URI.
  const std::string uri =
      "postgresql://pwuser:Wr0ng-Uri-Pw-78@127.0.0.1:" + std::to_string(h.pg->port()) + "/" + h.db;
  EXPECT_EQ(RunToExit(h.ArgsWith("--db", uri), &output, kRunTimeout), 1) << output;
  ExpectOneClearLine(output, {"password authentication failed"});
  EXPECT_EQ(output.find("Wr0ng-Uri-Pw-78"), std::string::npos) << "password printed:\n" << output;
  ExpectNothingCreated(h);
}

// A run that works must not print the password either (the start-up line
// describes the connection).
TEST(BadInput, PasswordNeverAppearsInOutput) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  const std::string password = "Corr3ct-Pw-93";
  h.pg->CreatePasswordUser(password);
  std::string output;

  EXPECT_EQ(RunToExit(h.ArgsWith("--db", h.pg->ConnInfo(h.db, "pwuser") + " password=" + password,
                                 {"--exit-when-caught-up", "-X", "sasl.password=Kafka-Pw-94"}),
                      &output, kRunTimeout),
            0)
      << output;
  EXPECT_NE(output.find("starting"), std::string::npos) << output;
  EXPECT_EQ(output.find(password), std::string::npos) << "password printed:\n" << output;
  EXPECT_EQ(output.find("Kafka-Pw-94"), std::string::npos) << "-X password printed:\n" << output;

  const std::string uri =
      "postgresql://pwuser:" + password + "@127.0.0.1:" + std::to_string(h.pg->port()) + "/" + h.db;
  EXPECT_EQ(RunToExit(h.ArgsWith("--db", uri, {"--exit-when-caught-up"}), &output, kRunTimeout), 0)
      << output;
  EXPECT_EQ(output.find(password), std::string::npos) << "password printed:\n" << output;

  // Quoted key/value form.
  EXPECT_EQ(RunToExit(h.ArgsWith("--db",
                                 h.pg->ConnInfo(h.db, "pwuser") + " password = '" + password + "'",
                                 {"--exit-when-caught-up"}),
                      &output, kRunTimeout),
            0)
      << output;
  EXPECT_EQ(output.find(password), std::string::npos) << "password printed:\n" << output;
}

TEST(BadInput, WalLevelNotLogical) {
  PgServerOptions options;
  options.wal_level = "replica";
  Harness h(3, options);
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  std::string output;
  EXPECT_EQ(RunToExit(h.Args(), &output, kRunTimeout), 1) << output;
  ExpectOneClearLine(output, {"wal_level"});
  ExpectNothingCreated(h);
}

TEST(BadInput, MissingTable) {
  Harness h;
  ASSERT_TRUE(h.ok());
  std::string output;
  EXPECT_EQ(RunToExit(h.Args(), &output, kRunTimeout), 1) << output;
  ExpectOneClearLine(output, {"public.outbox", "does not exist"});
  ExpectNothingCreated(h);
}

TEST(BadInput, MissingColumn) {
  Harness h;
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(h.Exec(OutboxVariant("aggregate_id")));
  std::string output;
  EXPECT_EQ(RunToExit(h.Args(), &output, kRunTimeout), 1) << output;
  ExpectOneClearLine(output, {"aggregate_id"});
  ExpectNothingCreated(h);
}

TEST(BadInput, MistypedColumn) {
  Harness h;
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(h.Exec(OutboxVariant("", "integer")));
  std::string output;
  EXPECT_EQ(RunToExit(h.Args(), &output, kRunTimeout), 1) << output;
  ExpectOneClearLine(output, {"payload", "type"});
  ExpectNothingCreated(h);
}

TEST(BadInput, UnreachableBrokers) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  std::string output;
  const auto started = Clock::now();
  EXPECT_EQ(RunToExit(h.ArgsWith("--brokers", "127.0.0.1:1", {"--startup-timeout", "2s"}), &output,
                      kRunTimeout),
            1)
      << output;
  const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - started).count();
  std::cerr << "gave up on the brokers after " << took << " ms\n";
  EXPECT_LT(took, 10000) << "--startup-timeout 2s was not honoured";
  ExpectOneClearLine(output, {"cannot reach", "127.0.0.1:1"});
  ExpectNothingCreated(h);
}

TEST(BadInput, UnknownFlag) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  std::string output;
  EXPECT_EQ(RunToExit(h.Args({"--no-such-flag"}), &output, kRunTimeout), 2) << output;
  ExpectOneClearLine(output, {"--no-such-flag"});
  ExpectNothingCreated(h);
}

TEST(BadInput, MalformedKafkaProperty) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  std::string output;
  EXPECT_EQ(RunToExit(h.Args({"-X", "foo"}), &output, kRunTimeout), 2) << output;
  ExpectOneClearLine(output, {"foo", "key=value"});
  ExpectNothingCreated(h);

  EXPECT_EQ(RunToExit(h.Args({"-X", "no.such.property=1"}), &output, kRunTimeout), 2) << output;
  ExpectOneClearLine(output, {"no.such.property"});
  ExpectNothingCreated(h);
}

// A producer setting that breaks the delivery guarantee is a usage error,
// refused before the database is touched (kafka/producer_guard.h).
TEST(BadInput, UnsafeProducerSetting) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  std::string output;
  EXPECT_EQ(RunToExit(h.Args({"-X", "enable.idempotence=false"}), &output, kRunTimeout), 2)
      << output;
  ExpectOneClearLine(output, {"-X enable.idempotence=false is refused", "idempotent producer"});
  ExpectNothingCreated(h);

  EXPECT_EQ(RunToExit(h.Args({"-X", "partitioner=random"}), &output, kRunTimeout), 2) << output;
  ExpectOneClearLine(output, {"-X partitioner=random is refused", "one partition"});
  ExpectNothingCreated(h);

  // Every other refused setting, each on its own: exit 2, one line naming it.
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"acks=1", "-X acks=1 is refused"},
      {"request.required.acks=0", "-X acks=0 is refused"},
      {"partitioner=consistent_random", "-X partitioner=consistent_random is refused"},
      {"delivery.report.only.error=true", "-X delivery.report.only.error=true is refused"},
      {"max.in.flight.requests.per.connection=6",
       "-X max.in.flight.requests.per.connection=6 is refused"},
      {"retries=0", "-X retries=0 is refused"},
      {"queuing.strategy=lifo", "-X queuing.strategy=lifo is refused"},
      {"transactional.id=outbox-1", "-X transactional.id=outbox-1 is refused"},
      {"queue.buffering.max.kbytes=512", "-X queue.buffering.max.kbytes=512 is refused"},
  };
  for (const auto& [setting, line] : refused) {
    EXPECT_EQ(RunToExit(h.Args({"-X", setting}), &output, kRunTimeout), 2) << output;
    ExpectOneClearLine(output, {line});
  }
  ExpectNothingCreated(h);

  // What only trades speed is not refused: the run gets past the check.
  EXPECT_EQ(RunToExit(h.Args({"--exit-when-caught-up", "-X", "linger.ms=50", "-X",
                              "batch.size=65536", "-X", "compression.type=zstd"}),
                      &output, kRunTimeout),
            0)
      << output;
}

TEST(BadInput, BadEndLsn) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  std::string output;
  for (const std::string bad : {"nonsense", "0/", "1/2/3", "G/0", "100000000/0"}) {
    EXPECT_EQ(RunToExit(h.Args({"--end-lsn", bad}), &output, kRunTimeout), 2) << bad << ":\n"
                                                                              << output;
    ExpectOneClearLine(output, {"--end-lsn"});
  }
  ExpectNothingCreated(h);
}

}  // namespace
}  // namespace pgoutbox::testing
