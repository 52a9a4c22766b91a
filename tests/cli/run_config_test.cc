#include "cli/run_config.h"

#include <gtest/gtest.h>

#include "cli/duration.h"

namespace pgoutbox::cli {
namespace {

using std::chrono::milliseconds;

TEST(DurationTest, ParsesUnits) {
  EXPECT_EQ(*ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(*ParseDuration("1s"), milliseconds(1000));
  EXPECT_EQ(*ParseDuration("30"), milliseconds(30000));
  EXPECT_EQ(*ParseDuration("5m"), milliseconds(300000));
  EXPECT_EQ(*ParseDuration("24h"), milliseconds(86400000));
  EXPECT_EQ(*ParseDuration("1d"), milliseconds(86400000));
  EXPECT_EQ(*ParseDuration("0"), milliseconds(0));
}

TEST(DurationTest, RejectsGarbage) {
  for (const char* bad : {"", "s", "-1s", "1.5s", "1w", "1 s", "abc", "99999999999999999999"}) {
    auto d = ParseDuration(bad);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), Status::Code::kInvalidArgument);
    }
  }
}

// Parses a `run` command line the way main() does.
Result<RunConfig> Parse(std::vector<std::string> args) {
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

TEST(RunConfigTest, Defaults) {
  auto c = Parse({"--db", "dbname=shop", "--brokers", "k1:9092"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->table, "public.outbox");
  EXPECT_EQ(c->slot, "pgoutbox");
  EXPECT_EQ(c->publication, "pgoutbox");
  EXPECT_EQ(c->columns.key, "aggregate_id");
  EXPECT_EQ(c->columns.headers, "headers");
  EXPECT_EQ(c->topic_template, "outbox.event.{aggregate_type}");
  EXPECT_EQ(c->feedback_interval, milliseconds(1000));
  EXPECT_FALSE(c->end_lsn.has_value());
}

TEST(RunConfigTest, DebeziumPresetWithOverride) {
  auto c =
      Parse({"--db", "x", "--brokers", "y", "--preset", "debezium", "--column-payload", "body"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->columns.id, "id");
  EXPECT_EQ(c->columns.key, "aggregateid");
  EXPECT_EQ(c->columns.aggregate_type, "aggregatetype");
  EXPECT_EQ(c->columns.event_type, "type");
  EXPECT_EQ(c->columns.payload, "body");
  EXPECT_EQ(c->columns.headers, "");
  EXPECT_EQ(c->columns.topic, "");
}

TEST(RunConfigTest, KafkaPropertiesAndEndLsn) {
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

TEST(RunConfigTest, RedactsDatabasePassword) {
  auto c = Parse({"--db", "host=db1 password=hunter2 user=u", "--brokers", "y"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->Describe().find("hunter2"), std::string::npos) << c->Describe();
  auto u = Parse({"--db", "postgresql://u:hunter2@db1/shop", "--brokers", "y"});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->Describe().find("hunter2"), std::string::npos) << u->Describe();
}

TEST(RunConfigTest, OnBadRow) {
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

TEST(RunConfigTest, RejectsBadValues) {
  EXPECT_FALSE(Parse({"--db", "x", "--brokers", "y", "-X", "novalue"}).ok());
  EXPECT_FALSE(Parse({"--db", "x", "--brokers", "y", "--end-lsn", "12"}).ok());
  EXPECT_FALSE(Parse({"--db", "x", "--brokers", "y", "--feedback-interval", "0"}).ok());
  EXPECT_FALSE(Parse({"--db", "x", "--brokers", "y", "--feedback-interval", "soon"}).ok());
  EXPECT_FALSE(Parse({"--db", "x", "--brokers", "y", "--preset", "other"}).ok());
  EXPECT_FALSE(Parse({"--db", "x", "--brokers", "y", "--no-such-flag"}).ok());
  EXPECT_FALSE(Parse({"--brokers", "y"}).ok());  // --db is required
}

}  // namespace
}  // namespace pgoutbox::cli
