// The command line as main() parses it (cli/app.h), in process: what a
// mistyped subcommand or flag, `help`, -V and a missing subcommand print and
// which exit code they get.
#include "cli/app.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgoutbox::cli {
namespace {

ParseOutcome Parse(const std::vector<std::string>& args) {
  CommandLine command_line;
  return command_line.Parse(args);
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Lines that scripts and the end-to-end tests read as the error: those
// starting with "pgoutbox: ". A message has one.
int ErrorLines(const std::string& text) {
  int n = 0;
  for (size_t at = 0; at < text.size(); at = text.find('\n', at) + 1) {
    if (text.compare(at, 10, "pgoutbox: ") == 0) ++n;
    if (text.find('\n', at) == std::string::npos) break;
  }
  return n;
}

void ExpectListsSubcommands(const std::string& text) {
  for (const char* name : {"  run ", "  setup ", "  status ", "  cleanup "}) {
    EXPECT_TRUE(Contains(text, name)) << name << " missing in:\n" << text;
  }
}

TEST(CommandLineTest, UnknownSubcommandSuggestsTheCloseOne) {
  for (const auto& [typed, meant] :
       std::vector<std::pair<std::string, std::string>>{{"rnu", "run"},
                                                        {"stauts", "status"},
                                                        {"clenaup", "cleanup"},
                                                        {"steup", "setup"},
                                                        {"replya", "replay"}}) {
    ParseOutcome o = Parse({typed, "--db", "x"});
    EXPECT_EQ(o.command, nullptr);
    EXPECT_EQ(o.exit_code, 2) << typed;
    EXPECT_TRUE(Contains(o.err, "unknown subcommand '" + typed + "'")) << o.err;
    EXPECT_TRUE(Contains(o.err, "did you mean '" + meant + "'?")) << o.err;
    ExpectListsSubcommands(o.err);
    EXPECT_FALSE(Contains(o.err, "A subcommand is required")) << o.err;
    EXPECT_EQ(ErrorLines(o.err), 1) << o.err;
  }
  // Far from every subcommand ("deploy" is two edits from "replay").
  ParseOutcome o = Parse({"migrate"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_TRUE(Contains(o.err, "unknown subcommand 'migrate'")) << o.err;
  EXPECT_FALSE(Contains(o.err, "did you mean")) << o.err;
}

TEST(CommandLineTest, NoSubcommandListsThem) {
  ParseOutcome o = Parse({});
  EXPECT_EQ(o.command, nullptr);
  EXPECT_EQ(o.exit_code, 2);
  ExpectListsSubcommands(o.err);
  o = Parse({"--log-level", "debug"});
  EXPECT_EQ(o.exit_code, 2);
  ExpectListsSubcommands(o.err);
}

TEST(CommandLineTest, HelpSubcommandPrintsHelp) {
  ParseOutcome o = Parse({"help"});
  EXPECT_EQ(o.command, nullptr);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_TRUE(o.err.empty()) << o.err;
  EXPECT_TRUE(Contains(o.out, "Usage: pgoutbox")) << o.out;
  EXPECT_TRUE(Contains(o.out, "cleanup")) << o.out;

  o = Parse({"help", "run"});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_TRUE(Contains(o.out, "pgoutbox run")) << o.out;
  EXPECT_TRUE(Contains(o.out, "--brokers")) << o.out;

  o = Parse({"help", "rnu"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_TRUE(Contains(o.err, "did you mean 'run'?")) << o.err;
}

TEST(CommandLineTest, VersionFlags) {
  for (const char* flag : {"-V", "--version"}) {
    ParseOutcome o = Parse({flag});
    EXPECT_EQ(o.command, nullptr);
    EXPECT_EQ(o.exit_code, 0) << flag;
    EXPECT_EQ(o.out, std::string("pgoutbox ") + PGOUTBOX_VERSION + "\n") << flag;
  }
}

struct FlagTypo {
  std::vector<std::string> args;
  std::string unknown;  // named in the message
  std::string meant;    // suggested
};

TEST(CommandLineTest, UnknownFlagSuggestsTheCloseOneOnEverySubcommand) {
  const std::vector<FlagTypo> typos = {
      {{"run", "--retenion", "1h", "--db", "x", "--brokers", "y"}, "--retenion", "--retention"},
      {{"run", "--retenion=1h", "--db", "x", "--brokers", "y"}, "--retenion", "--retention"},
      // Reported before the missing --db it explains.
      {{"run", "--dbb", "x", "--brokers", "y"}, "--dbb", "--db"},
      {{"run", "--db", "x", "--borkers", "y"}, "--borkers", "--brokers"},
      {{"run", "--db", "x", "--brokers", "y", "--log-levle", "debug"},
       "--log-levle",
       "--log-level"},
      {{"--log-fromat", "json", "status", "--db", "x"}, "--log-fromat", "--log-format"},
      {{"setup", "--db", "x", "--dry-rnu"}, "--dry-rnu", "--dry-run"},
      {{"status", "--db", "x", "--max-lga", "1GB"}, "--max-lga", "--max-lag"},
      {{"status", "--db", "x", "--jsno"}, "--jsno", "--json"},
      {{"cleanup", "--db", "x", "--retenion", "1h"}, "--retenion", "--retention"},
      // The names of an older release.
      {{"cleanup", "--db", "x", "--lock-timeout", "1s"},
       "--lock-timeout",
       "--cleanup-lock-timeout"},
      {{"cleanup", "--db", "x", "--statement-timeout", "1s"},
       "--statement-timeout",
       "--cleanup-statement-timeout"},
  };
  for (const FlagTypo& t : typos) {
    ParseOutcome o = Parse(t.args);
    EXPECT_EQ(o.command, nullptr);
    EXPECT_EQ(o.exit_code, 2) << t.unknown;
    EXPECT_EQ(o.err.rfind("pgoutbox: unknown flag " + t.unknown, 0), 0u) << o.err;
    EXPECT_TRUE(Contains(o.err, "did you mean " + t.meant + "?")) << o.err;
    EXPECT_EQ(ErrorLines(o.err), 1) << o.err;
  }
}

TEST(CommandLineTest, FlagOfAnotherSubcommandSaysWhose) {
  ParseOutcome o = Parse({"cleanup", "--db", "x", "--cleanup-interval", "1m"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_TRUE(Contains(o.err, "pgoutbox: unknown flag --cleanup-interval for cleanup")) << o.err;
  EXPECT_TRUE(Contains(o.err, "--cleanup-interval is a flag of 'pgoutbox run'")) << o.err;
}

TEST(CommandLineTest, OtherErrorsStayUsageErrors) {
  ParseOutcome o = Parse({"run", "--brokers", "y"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_TRUE(Contains(o.err, "--db")) << o.err;
  o = Parse({"run", "--db", "x", "--brokers", "y", "stray"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_TRUE(Contains(o.err, "unexpected argument 'stray'")) << o.err;
  o = Parse({"run", "--db", "x", "--brokers", "y", "--log-level", "loud"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_TRUE(Contains(o.err, "--log-level")) << o.err;
}

TEST(CommandLineTest, ValidCommandLineChoosesTheCommand) {
  CommandLine command_line;
  ParseOutcome o = command_line.Parse(
      {"run", "--db", "x", "--brokers", "y", "--log-level", "debug", "--log-format", "json"});
  ASSERT_NE(o.command, nullptr) << o.err;
  EXPECT_EQ(o.command->subcommand()->get_name(), "run");
  EXPECT_EQ(command_line.log_level(), "debug");
  EXPECT_EQ(command_line.log_format(), "json");
  EXPECT_TRUE(o.err.empty()) << o.err;
}

}  // namespace
}  // namespace pgoutbox::cli
