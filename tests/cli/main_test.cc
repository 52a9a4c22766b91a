// The built binary's answers to what a new user types first: a mistyped
// subcommand or flag, `help`, -V, nothing at all. No database or Kafka is
// needed: all of it is decided before either is touched.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace pgoutbox::testing {
namespace {

using namespace std::chrono_literals;

struct Outcome {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Outcome Pgoutbox(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), PgoutboxBinary());
  Outcome run;
  auto child = ChildProcess::Start(args, env);
  if (child == nullptr) return run;
  auto code = child->Wait(30s);
  run.output = child->Output();
  if (!code) {
    ADD_FAILURE() << "pgoutbox did not exit within 30 s:\n" << run.output;
    return run;
  }
  run.exit_code = *code;
  return run;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(MainTest, MistypedSubcommand) {
  Outcome r = Pgoutbox({"rnu", "--db", "dbname=x", "--brokers", "mock:1"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Contains(r.output, "unknown subcommand 'rnu'; did you mean 'run'?")) << r.output;
  EXPECT_TRUE(Contains(r.output, "  cleanup ")) << r.output;

  r = Pgoutbox({"stauts"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Contains(r.output, "did you mean 'status'?")) << r.output;
}

TEST(MainTest, HelpAndVersion) {
  Outcome r = Pgoutbox({"help"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "Usage: pgoutbox")) << r.output;
  r = Pgoutbox({"help", "run"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "--retention")) << r.output;
  for (const char* flag : {"-V", "--version"}) {
    r = Pgoutbox({flag});
    EXPECT_EQ(r.exit_code, 0) << flag << ": " << r.output;
    EXPECT_EQ(r.output, std::string("pgoutbox ") + PGOUTBOX_VERSION + "\n") << flag;
  }
}

TEST(MainTest, NoSubcommand) {
  Outcome r = Pgoutbox({});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  for (const char* name : {"run", "setup", "status", "cleanup"}) {
    EXPECT_TRUE(Contains(r.output, std::string("  ") + name + " ")) << name << ":\n" << r.output;
  }
}

TEST(MainTest, MistypedFlag) {
  Outcome r = Pgoutbox({"run", "--retenion", "1h", "--db", "dbname=x", "--brokers", "mock:1"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Contains(r.output,
                       "pgoutbox: unknown flag --retenion for run; did you mean "
                       "--retention?"))
      << r.output;
  r = Pgoutbox({"cleanup", "--db", "dbname=x", "--lock-timeout", "1s"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Contains(r.output, "did you mean --cleanup-lock-timeout?")) << r.output;
}

// A duration no clock can hold is a usage error naming the flag, decided
// before anything is connected to (dbname=x and mock:1 lead nowhere).
TEST(MainTest, DurationTooLongExitsTwo) {
  Outcome r = Pgoutbox(
      {"run", "--db", "dbname=x", "--brokers", "mock:1", "--feedback-interval", "1000000000h"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Contains(r.output, "--feedback-interval: \"1000000000h\" is too long (at most 24d)"))
      << r.output;
  r = Pgoutbox({"cleanup", "--db", "dbname=x", "--cleanup-statement-timeout", "30d"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Contains(r.output, "--cleanup-statement-timeout: \"30d\" is too long")) << r.output;
}

}  // namespace
}  // namespace pgoutbox::testing
