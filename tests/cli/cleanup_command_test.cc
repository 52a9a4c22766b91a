#include "cli/cleanup_command.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <string>
#include <vector>

namespace pgoutbox::cli {
namespace {

using std::chrono::milliseconds;

// Parses a `cleanup` command line the way main() does.
Result<admin::PeriodicCleanerOptions> Parse(std::vector<std::string> args) {
  CLI::App app;
  CLI::App* cleanup = app.add_subcommand("cleanup");
  CleanupFlags flags;
  AddCleanupFlags(cleanup, &flags, CleanupFlagScope::kCleanupCommand);
  args.insert(args.begin(), "cleanup");
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return Status::InvalidArgument(e.what());
  }
  return ResolveCleanupFlags(flags, "dbname=x", {"public.outbox"});
}

// One name per setting: `cleanup` and `run` both say --cleanup-lock-timeout
// and PGOUTBOX_CLEANUP_LOCK_TIMEOUT.
TEST(CleanupFlagsTest, TimeoutsHaveTheNamesOfRun) {
  auto o = Parse({"--cleanup-lock-timeout", "5s", "--cleanup-statement-timeout", "2m"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->cleanup.lock_timeout, milliseconds(5000));
  EXPECT_EQ(o->cleanup.statement_timeout, milliseconds(120000));
  EXPECT_FALSE(Parse({"--lock-timeout", "5s"}).ok());
  EXPECT_FALSE(Parse({"--statement-timeout", "5s"}).ok());

  auto bad = Parse({"--cleanup-statement-timeout", "0"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("--cleanup-statement-timeout"), std::string::npos)
      << bad.status().ToString();
}

TEST(CleanupFlagsTest, TimeoutVariablesHaveTheNamesOfRun) {
  setenv("PGOUTBOX_CLEANUP_LOCK_TIMEOUT", "7s", 1);
  setenv("PGOUTBOX_CLEANUP_STATEMENT_TIMEOUT", "3m", 1);
  auto o = Parse({});
  unsetenv("PGOUTBOX_CLEANUP_LOCK_TIMEOUT");
  unsetenv("PGOUTBOX_CLEANUP_STATEMENT_TIMEOUT");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->cleanup.lock_timeout, milliseconds(7000));
  EXPECT_EQ(o->cleanup.statement_timeout, milliseconds(180000));
}

TEST(CleanupFlagsTest, DefaultsAndRunOnlyInterval) {
  auto o = Parse({});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->cleanup.lock_timeout, milliseconds(1000));
  EXPECT_EQ(o->cleanup.statement_timeout, milliseconds(30000));
  EXPECT_FALSE(Parse({"--cleanup-interval", "1m"}).ok());
}

TEST(CleanupSummaryTest, CountsRowsInTheRightNumber) {
  admin::CleanupStats stats;
  stats.rows = 0;
  EXPECT_EQ(CleanupSummary(stats), "deleted 0 rows");
  stats.rows = 1;
  EXPECT_EQ(CleanupSummary(stats), "deleted 1 row");
  stats.rows = 200;
  EXPECT_EQ(CleanupSummary(stats), "deleted 200 rows");
}

}  // namespace
}  // namespace pgoutbox::cli
