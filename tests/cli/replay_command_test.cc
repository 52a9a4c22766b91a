// The command line of `pgoutbox replay`: exactly one of --since and --ids,
// --until only with --since, --brokers unless --dry-run, and the mapping and
// bad-row flags read as `run` reads them. The replay itself is tested end to
// end in tests/integration/replay_test.cc.
#include "cli/replay_command.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cli/run_flags.h"

namespace pgoutbox::cli {
namespace {

// Parses a `replay` command line the way main() does.
Result<app::ReplayConfig> Parse(std::vector<std::string> args) {
  CLI::App app;
  CLI::App* replay = app.add_subcommand("replay");
  ReplayFlags flags;
  AddReplayFlags(replay, &flags);
  args.insert(args.begin(), "replay");
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return Status::InvalidArgument(e.what());
  }
  return ResolveReplayFlags(flags);
}

void ExpectUsageError(const std::vector<std::string>& args, const std::string& phrase) {
  SCOPED_TRACE(phrase);
  auto c = Parse(args);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find(phrase), std::string::npos) << c.status().message();
}

TEST(ReplayFlagsTest, SinceOrIds) {
  auto since = Parse({"--db", "x", "--brokers", "b", "--since", "yesterday", "--until", "today"});
  ASSERT_TRUE(since.ok()) << since.status().ToString();
  EXPECT_EQ(since->since, "yesterday");
  EXPECT_EQ(since->until, "today");
  EXPECT_TRUE(since->ids.empty());
  EXPECT_FALSE(since->dry_run);

  auto ids = Parse({"--db", "x", "--brokers", "b", "--ids", "a,b,a", "--ids", "c"});
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(ids->ids, (std::vector<std::string>{"a", "b", "c"}));  // each once
  EXPECT_FALSE(ids->since.has_value());

  ExpectUsageError({"--db", "x", "--brokers", "b"}, "exactly one of --since and --ids");
  ExpectUsageError({"--db", "x", "--brokers", "b", "--since", "y", "--ids", "a"}, "not both");
  ExpectUsageError({"--db", "x", "--brokers", "b", "--ids", "a", "--until", "t"},
                   "--until needs --since");
  ExpectUsageError({"--db", "x", "--brokers", "b", "--since", ""}, "--since must not be empty");
  // An empty --ids is no selection of every row.
  ExpectUsageError({"--db", "x", "--brokers", "b", "--ids", ""}, "--ids");
  ExpectUsageError({"--db", "x", "--brokers", "b", "--ids", ","}, "--ids");
}

TEST(ReplayFlagsTest, BrokersUnlessDryRun) {
  ExpectUsageError({"--db", "x", "--since", "y"}, "--brokers is required");
  auto dry = Parse({"--db", "x", "--since", "y", "--dry-run"});
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_TRUE(dry->dry_run);
}

TEST(ReplayFlagsTest, TheMappingAndBadRowFlagsAreRuns) {
  auto c = Parse({"--db",
                  "x",
                  "--brokers",
                  "b",
                  "--since",
                  "y",
                  "--preset",
                  "debezium",
                  "--column-payload",
                  "body",
                  "--topic",
                  "t.{key}",
                  "-X",
                  "linger.ms=1",
                  "--on-bad-row",
                  "dlq",
                  "--dlq-topic",
                  "dead",
                  "--column-created-at",
                  "ts"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->mapping.columns.key, "aggregateid");
  EXPECT_EQ(c->mapping.columns.payload, "body");
  EXPECT_EQ(c->mapping.topic_template, "t.{key}");
  ASSERT_EQ(c->kafka_config.size(), 1u);
  EXPECT_EQ(c->kafka_config[0].first, "linger.ms");
  EXPECT_EQ(c->on_bad_row, core::BadRowAction::kDeadLetter);
  EXPECT_EQ(c->dead_letter_topic, "dead");
  EXPECT_EQ(c->created_at_column, "ts");

  ExpectUsageError({"--db", "x", "--brokers", "b", "--since", "y", "--on-bad-row", "ignore"},
                   "ignore");
  ExpectUsageError({"--db", "x", "--brokers", "b", "--since", "y", "--topic", "t.{"}, "--topic");

  // The same flags, the same help and defaults as on `run`.
  CLI::App app;
  RunFlags run_flags;
  ReplayFlags replay_flags;
  CLI::App* run = app.add_subcommand("run");
  CLI::App* replay = app.add_subcommand("replay");
  AddRunFlags(run, &run_flags);
  AddReplayFlags(replay, &replay_flags);
  for (const char* name : {"--brokers", "--preset", "--column-id", "--column-key", "--column-type",
                           "--column-aggregate-type", "--column-payload", "--column-headers",
                           "--column-topic", "--topic", "-X", "--on-bad-row", "--dlq-topic"}) {
    const CLI::Option* a = run->get_option(name);
    const CLI::Option* b = replay->get_option(name);
    EXPECT_EQ(a->get_description(), b->get_description()) << name;
    EXPECT_EQ(a->get_default_str(), b->get_default_str()) << name;
    EXPECT_EQ(a->get_envname(), b->get_envname()) << name;
  }
}

TEST(ReplaySummaryTest, OneLine) {
  app::ReplayStats stats;
  stats.rows = 3;
  stats.events = 2;
  stats.bad_rows = 1;
  stats.first_created_at = "2026-12-06 10:00:00+00";
  stats.last_created_at = "2026-12-06 11:00:00+00";
  EXPECT_EQ(ReplaySummary(stats, false),
            "replayed 2 events from 3 rows (created_at 2026-12-06 10:00:00+00 to 2026-12-06 "
            "11:00:00+00); 1 bad row skipped or dead-lettered");
  stats.bad_rows = 0;
  EXPECT_EQ(ReplaySummary(stats, true),
            "would replay 3 rows (created_at 2026-12-06 10:00:00+00 to 2026-12-06 11:00:00+00)");
  EXPECT_EQ(ReplaySummary(app::ReplayStats{}, false), "replayed 0 events from 0 rows");
}

}  // namespace
}  // namespace pgoutbox::cli
