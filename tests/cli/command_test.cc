// The exit-code rule of every command (README, "Stopping and exit codes"):
// 0 success, 2 the command line or configuration (InvalidArgument), 1 every
// other failure.
#include "cli/command.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

namespace pgoutbox::cli {
namespace {

TEST(ExitCodeTest, OneRuleForEveryStatus) {
  EXPECT_EQ(ExitCodeFor(Status::Ok()), kExitOk);
  EXPECT_EQ(ExitCodeFor(Status::InvalidArgument("--slot Bad-Slot")), kExitUsage);
  for (const Status& failure :
       {Status::NotFound("table"), Status::FailedPrecondition("slot lost"),
        Status::Corruption("message"), Status::Unavailable("brokers"), Status::Aborted("bad row"),
        Status::Internal("bug"), Status::Cancelled("signal")}) {
    EXPECT_EQ(ExitCodeFor(failure), kExitFailure) << failure.ToString();
  }
}

// --table parsed the way a command declares it: repeatable, comma-separated,
// from PGOUTBOX_TABLE, default public.outbox.
std::vector<std::string> ParseTables(std::vector<std::string> args) {
  CLI::App app;
  CLI::App* sub = app.add_subcommand("status");
  std::vector<std::string> tables{"public.outbox"};
  AddTableFlag(sub, &tables);
  args.insert(args.begin(), "status");
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  app.parse(reversed);
  return tables;
}

TEST(TableFlagTest, RepeatableCommaSeparatedFromTheEnvironmentWithADefault) {
  using V = std::vector<std::string>;
  EXPECT_EQ(ParseTables({}), V{"public.outbox"});
  EXPECT_EQ(ParseTables({"--table", "a.outbox"}), V{"a.outbox"});
  EXPECT_EQ(ParseTables({"--table", "tenant_*.outbox,public.outbox", "--table", "b.events"}),
            (V{"tenant_*.outbox", "public.outbox", "b.events"}));
  setenv("PGOUTBOX_TABLE", "x.outbox,y.outbox", 1);
  const V from_env = ParseTables({});
  const V flag_wins = ParseTables({"--table", "z.outbox"});
  unsetenv("PGOUTBOX_TABLE");
  EXPECT_EQ(from_env, (V{"x.outbox", "y.outbox"}));
  EXPECT_EQ(flag_wins, V{"z.outbox"});

  CLI::App app;
  std::vector<std::string> tables{"public.outbox"};
  AddTableFlag(&app, &tables);
  EXPECT_EQ(app.get_option("--table")->get_default_str(), "public.outbox");
}

}  // namespace
}  // namespace pgoutbox::cli
