// The exit-code rule of every command (README, "Stopping and exit codes"):
// 0 success, 2 the command line or configuration (InvalidArgument), 1 every
// other failure.
#include "cli/command.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
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

// --db with --db-password-file, parsed the way a command declares them.
struct DbParse {
  std::string db;
  std::string error;  // what the parse threw, if it failed
};
DbParse ParseDb(std::vector<std::string> args) {
  CLI::App app;
  CLI::App* sub = app.add_subcommand("status");
  DbParse out;
  AddDbFlag(sub, &out.db);
  args.insert(args.begin(), "status");
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    out.error = e.what();
  }
  return out;
}

class PasswordFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/pgoutbox-password-XXXXXX";
    dir_ = mkdtemp(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& content, mode_t mode) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }
  std::string dir_;
};

TEST_F(PasswordFileTest, ThePasswordIsAddedToTheConninfo) {
  const std::string file = Write("pw", "s3cret pass\n", 0600);
  DbParse p = ParseDb({"--db", "host=db1 user=pgoutbox", "--db-password-file", file});
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.db, "host=db1 user=pgoutbox password='s3cret pass'");
  // Group-readable is fine (root:pgoutbox 0640); from the environment too.
  const std::string group = Write("group", "g\r\n", 0640);
  setenv("PGOUTBOX_DB_PASSWORD_FILE", group.c_str(), 1);
  p = ParseDb({"--db", "postgresql://u@db1/shop"});
  unsetenv("PGOUTBOX_DB_PASSWORD_FILE");
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.db, "postgresql://u@db1/shop?password=g");
  // Without the flag, --db is left as it is.
  EXPECT_EQ(ParseDb({"--db", "host=db1"}).db, "host=db1");
}

TEST_F(PasswordFileTest, WhatCannotBeTheSecretIsRefused) {
  struct Case {
    std::string path;
    std::string db;
    std::string message;
  };
  const std::vector<Case> cases = {
      {Write("world", "pw\n", 0644), "host=db1",
       "is accessible by every user (mode 0644): only its owner and group may read it"},
      {Write("other-x", "pw\n", 0601), "host=db1", "(mode 0601)"},
      {Write("empty", "\n", 0600), "host=db1", "is empty"},
      {Write("two", "pw\nmore\n", 0600), "host=db1", "holds more than one line"},
      {dir_ + "/missing", "host=db1", "No such file or directory"},
      {dir_, "host=db1", "is not a file"},
      {Write("ok", "pw\n", 0600), "host=db1 password=inline", "already holds a password"},
  };
  for (const Case& c : cases) {
    chmod(dir_.c_str(), 0700);
    DbParse p = ParseDb({"--db", c.db, "--db-password-file", c.path});
    EXPECT_NE(p.error.find("--db-password-file: "), std::string::npos) << c.path << ": " << p.error;
    EXPECT_NE(p.error.find(c.message), std::string::npos) << c.path << ": " << p.error;
    EXPECT_EQ(p.error.find("inline"), std::string::npos) << p.error;
  }
}

}  // namespace
}  // namespace pgoutbox::cli
