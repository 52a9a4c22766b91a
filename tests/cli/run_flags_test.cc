#include "cli/run_flags.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "admin/cleanup.h"
#include "cli/scoped_env.h"

namespace pgoutbox::cli {
namespace {

using std::chrono::milliseconds;

// Parses a `run` command line the way main() does.
Result<app::RunConfig> Parse(std::vector<std::string> args) {
  CLI::App app;
  CLI::App* run = app.add_subcommand("run");
  RunFlags flags;
  AddRunFlags(run, &flags);
  args.insert(args.begin(), "run");
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return Status::InvalidArgument(e.what());
  }
  return Resolve(flags);
}

TEST(RunFlagsTest, Defaults) {
  auto c = Parse({"--db", "dbname=shop", "--brokers", "k1:9092"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->tables, std::vector<std::string>{"public.outbox"});
  EXPECT_EQ(c->slot, "pgoutbox");
  EXPECT_EQ(c->publication, "pgoutbox");
  EXPECT_EQ(c->mapping.columns.key, "aggregate_id");
  EXPECT_EQ(c->mapping.columns.headers, "headers");
  EXPECT_EQ(c->mapping.topic_template, "outbox.event.{aggregate_type}");
  EXPECT_EQ(c->feedback_interval, milliseconds(1000));
  EXPECT_FALSE(c->end_lsn.has_value());
}

TEST(RunFlagsTest, DebeziumPresetWithOverride) {
  auto c =
      Parse({"--db", "x", "--brokers", "y", "--preset", "debezium", "--column-payload", "body"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->mapping.columns.id, "id");
  EXPECT_EQ(c->mapping.columns.key, "aggregateid");
  EXPECT_EQ(c->mapping.columns.aggregate_type, "aggregatetype");
  EXPECT_EQ(c->mapping.columns.event_type, "type");
  EXPECT_EQ(c->mapping.columns.payload, "body");
  EXPECT_EQ(c->mapping.columns.headers, "");
  EXPECT_EQ(c->mapping.columns.topic, "");
}

TEST(RunFlagsTest, KafkaPropertiesAndEndLsn) {
  auto c = Parse({"--db", "x", "--brokers", "y", "-X", "security.protocol=SASL_SSL", "-X",
                  "sasl.password=a=b", "--end-lsn", "16/B374D848"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->kafka_config.size(), 2u);
  EXPECT_EQ(c->kafka_config[1].first, "sasl.password");
  EXPECT_EQ(c->kafka_config[1].second, "a=b");
  EXPECT_EQ(c->end_lsn->ToString(), "16/B374D848");
  // Secrets never reach the start-up line.
  EXPECT_EQ(c->Describe().find("a=b"), std::string::npos) << c->Describe();
}

TEST(RunFlagsTest, RedactsDatabasePassword) {
  auto c = Parse({"--db", "host=db1 password=hunter2 user=u", "--brokers", "y"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->Describe().find("hunter2"), std::string::npos) << c->Describe();
  auto u = Parse({"--db", "postgresql://u:hunter2@db1/shop", "--brokers", "y"});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->Describe().find("hunter2"), std::string::npos) << u->Describe();
}

TEST(RunFlagsTest, OnBadRow) {
  auto c = Parse({"--db", "x", "--brokers", "y"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->on_bad_row, core::BadRowAction::kHalt);
  EXPECT_NE(c->Describe().find("on_bad_row=halt"), std::string::npos) << c->Describe();
  c = Parse({"--db", "x", "--brokers", "y", "--on-bad-row", "dlq", "--dlq-topic", "app.dead"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->on_bad_row, core::BadRowAction::kDeadLetter);
  EXPECT_EQ(c->dead_letter_topic, "app.dead");
  EXPECT_NE(c->Describe().find("on_bad_row=dlq dlq_topic=app.dead"), std::string::npos);
  c = Parse({"--db", "x", "--brokers", "y", "--on-bad-row", "skip"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->on_bad_row, core::BadRowAction::kSkip);
  EXPECT_FALSE(Parse({"--db", "x", "--brokers", "y", "--on-bad-row", "ignore"}).ok());
  EXPECT_FALSE(
      Parse({"--db", "x", "--brokers", "y", "--on-bad-row", "dlq", "--dlq-topic", "a b"}).ok());
}

TEST(RunFlagsTest, RejectsBadValues) {
  EXPECT_FALSE(Parse({"--db", "x", "--brokers", "y", "-X", "novalue"}).ok());
  EXPECT_FALSE(Parse({"--db", "x", "--brokers", "y", "--end-lsn", "12"}).ok());
  EXPECT_FALSE(Parse({"--db", "x", "--brokers", "y", "--feedback-interval", "0"}).ok());
  EXPECT_FALSE(Parse({"--db", "x", "--brokers", "y", "--feedback-interval", "soon"}).ok());
  EXPECT_FALSE(Parse({"--db", "x", "--brokers", "y", "--preset", "other"}).ok());
  // Longer than an int of milliseconds (the flag is named), or than a clock
  // holds.
  for (const char* flag : {"--feedback-interval", "--startup-timeout", "--shutdown-timeout"}) {
    auto c = Parse({"--db", "x", "--brokers", "y", flag, "25d"});
    ASSERT_FALSE(c.ok()) << flag;
    EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(c.status().message().rfind(std::string(flag) + ": \"25d\" is too long", 0), 0u)
        << c.status().message();
  }
  EXPECT_FALSE(Parse({"--db", "x", "--brokers", "y", "--stall-timeout", "36501d"}).ok());
  // A retention of months is fine: it is no int of milliseconds.
  EXPECT_TRUE(Parse({"--db", "x", "--brokers", "y", "--retention", "90d"}).ok());
  EXPECT_FALSE(Parse({"--db", "x", "--brokers", "y", "--no-such-flag"}).ok());
  EXPECT_FALSE(Parse({"--brokers", "y"}).ok());  // --db is required
}

// Exit 2 before connecting to anything, not exit 1 after.
TEST(RunFlagsTest, RejectsABadTopicTemplate) {
  for (const char* bad : {"a{b", "orders.{}", "a b"}) {
    auto c = Parse({"--db", "x", "--brokers", "y", "--topic", bad});
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(c.status().message().find("--topic"), std::string::npos) << c.status().ToString();
  }
  EXPECT_TRUE(Parse({"--db", "x", "--brokers", "y", "--topic", "app.{aggregate_type}.v1"}).ok());
}

TEST(RunFlagsTest, DescribeWritesDurationsAsAUserWould) {
  auto c = Parse({"--db", "x", "--brokers", "y"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const std::string line = c->Describe();
  for (const char* part :
       {" feedback_interval=1s ", " stall_timeout=1m ", " heartbeat_interval=off ",
        " retention=24h ", " cleanup_interval=1m "}) {
    EXPECT_NE(line.find(part), std::string::npos) << part << " in " << line;
  }
  EXPECT_EQ(line.find("000ms"), std::string::npos) << line;
  c = Parse({"--db", "x", "--brokers", "y", "--retention", "90m", "--feedback-interval", "250ms",
             "--heartbeat-interval", "30s", "--stall-timeout", "90s"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  for (const char* part : {" retention=90m ", " feedback_interval=250ms ",
                           " heartbeat_interval=30s ", " stall_timeout=90s "}) {
    EXPECT_NE(c->Describe().find(part), std::string::npos) << part << " in " << c->Describe();
  }
  c = Parse({"--db", "x", "--brokers", "y", "--retention", "0"});
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->Describe().find(" retention=off "), std::string::npos) << c->Describe();
}

// README: "empty disables". An empty variable must say what --http-addr ''
// says, though CLI11 skips empty variables.
TEST(RunFlagsTest, EmptyHttpAddrVariableDisablesTheEndpoint) {
  {
    auto c = Parse({"--db", "x", "--brokers", "y", "--http-addr", ""});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->http_addr, "");
  }
  {
    ScopedEnv env("PGOUTBOX_HTTP_ADDR", "");
    auto c = Parse({"--db", "x", "--brokers", "y"});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->http_addr, "");
    EXPECT_NE(c->Describe().find("http_addr=off"), std::string::npos) << c->Describe();
    // The command line still wins over the variable.
    c = Parse({"--db", "x", "--brokers", "y", "--http-addr", "127.0.0.1:0"});
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->http_addr, "127.0.0.1:0");
  }
  {
    ScopedEnv env("PGOUTBOX_HTTP_ADDR", "0.0.0.0:9187");
    auto c = Parse({"--db", "x", "--brokers", "y"});
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->http_addr, "0.0.0.0:9187");
  }
  unsetenv("PGOUTBOX_HTTP_ADDR");
  auto c = Parse({"--db", "x", "--brokers", "y"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->http_addr, "127.0.0.1:9187");
}

// --message-prefix: pgoutbox by default, '' (flag or empty variable) turns
// message events off, and the heartbeat's own prefix is refused.
TEST(RunFlagsTest, MessagePrefix) {
  auto c = Parse({"--db", "x", "--brokers", "y"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->message_prefix, "pgoutbox");
  c = Parse({"--db", "x", "--brokers", "y", "--message-prefix", "shop.events"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->message_prefix, "shop.events");
  EXPECT_NE(c->Describe().find("message_prefix=shop.events"), std::string::npos);
  c = Parse({"--db", "x", "--brokers", "y", "--message-prefix", ""});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->message_prefix, "");
  EXPECT_NE(c->Describe().find("message_prefix=off"), std::string::npos);
  {
    ScopedEnv env("PGOUTBOX_MESSAGE_PREFIX", "");
    c = Parse({"--db", "x", "--brokers", "y"});
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->message_prefix, "");
  }
  auto heartbeat = Parse({"--db", "x", "--brokers", "y", "--message-prefix", "pgoutbox.heartbeat"});
  ASSERT_FALSE(heartbeat.ok());
  EXPECT_EQ(heartbeat.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(heartbeat.status().message().find("--message-prefix"), std::string::npos);
}

// README: --column-headers '' and --column-topic '' disable the column; so
// do the variables set to nothing.
TEST(RunFlagsTest, EmptyColumnVariablesDisableTheColumns) {
  auto c = Parse({"--db", "x", "--brokers", "y", "--column-headers", "", "--column-topic", ""});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->mapping.columns.headers, "");
  EXPECT_EQ(c->mapping.columns.topic, "");
  EXPECT_TRUE(c->mapping.headers_column_explicit);
  EXPECT_TRUE(c->mapping.topic_column_explicit);

  ScopedEnv headers("PGOUTBOX_COLUMN_HEADERS", "");
  ScopedEnv topic("PGOUTBOX_COLUMN_TOPIC", "");
  c = Parse({"--db", "x", "--brokers", "y"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->mapping.columns.headers, "");
  EXPECT_EQ(c->mapping.columns.topic, "");
  EXPECT_TRUE(c->mapping.headers_column_explicit);
  EXPECT_TRUE(c->mapping.topic_column_explicit);
  // Other columns keep their defaults.
  EXPECT_EQ(c->mapping.columns.key, "aggregate_id");
}

TEST(RunFlagsTest, CleanupFlagsAreNamedAsOnCleanup) {
  auto c = Parse({"--db", "x", "--brokers", "y", "--cleanup-lock-timeout", "5s",
                  "--cleanup-statement-timeout", "2m"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->cleanup.cleanup.lock_timeout, milliseconds(5000));
  EXPECT_EQ(c->cleanup.cleanup.statement_timeout, milliseconds(120000));
  auto bad = Parse({"--db", "x", "--brokers", "y", "--cleanup-lock-timeout", "0"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--cleanup-lock-timeout"), std::string::npos)
      << bad.status().ToString();
}

}  // namespace
}  // namespace pgoutbox::cli
