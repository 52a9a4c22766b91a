// The flag tables of README.md are generated from the flag definitions
// (cli/flag_table.h). FlagTable.ReadmeMatchesTheFlags fails, with a diff and
// the block to paste, when the README's block between
// <!-- run-flags:begin --> and <!-- run-flags:end --> differs from what
// `pgoutbox run` declares; FlagTable.ReadmeMatchesTheReplayFlags likewise
// for <!-- replay-flags:begin --> and `pgoutbox replay`. To rewrite the
// blocks in place:
//
//   PGOUTBOX_UPDATE_README=1 build/cli_tests --gtest_filter='FlagTable*'
//
// PGOUTBOX_FLAG_TABLE_OUT=FILE also writes the expected block of `run` to FILE.
#include "cli/flag_table.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/app.h"

namespace pgoutbox::cli {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A line diff: "-" lines only in `actual`, "+" lines only in `expected`,
// with the line numbers of the block.
std::string Diff(const std::string& actual, const std::string& expected) {
  const std::vector<std::string> a = Lines(actual), e = Lines(expected);
  // Longest common subsequence, then walk it.
  std::vector<std::vector<size_t>> lcs(a.size() + 1, std::vector<size_t>(e.size() + 1, 0));
  for (size_t i = a.size(); i-- > 0;) {
    for (size_t j = e.size(); j-- > 0;) {
      lcs[i][j] = a[i] == e[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::string out;
  size_t i = 0, j = 0;
  while (i < a.size() || j < e.size()) {
    if (i < a.size() && j < e.size() && a[i] == e[j]) {
      ++i, ++j;
    } else if (j < e.size() && (i == a.size() || lcs[i][j + 1] >= lcs[i + 1][j])) {
      out += "+ (line " + std::to_string(j + 1) + ") " + e[j] + "\n";
      ++j;
    } else {
      out += "- (line " + std::to_string(i + 1) + ") " + a[i] + "\n";
      ++i;
    }
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool EnvIsSet(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' && std::string(value) != "0";
}

TEST(FlagTable, RendersOneRowPerFlag) {
  CLI::App root("test", "tool");
  std::string level = "info";
  root.add_option("--log-level", level, "how much | to log")
      ->envname("TOOL_LOG_LEVEL")
      ->capture_default_str();
  CLI::App* run = root.add_subcommand("run");
  std::string db, topic = "a.b";
  bool dry = false;
  std::vector<std::string> props;
  run->add_option("--db", db, "the database")->envname("TOOL_DB")->required();
  run->add_option("--topic", topic, "topic template")->capture_default_str();
  run->add_flag("--dry-run", dry, "change nothing")->envname("TOOL_DRY_RUN");
  run->add_option("-X", props, "a property");
  auto table = RenderFlagTable(root, "run");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(*table,
            "| flag (environment variable) | default | meaning |\n"
            "|---|---|---|\n"
            "| `--db` (`TOOL_DB`) | required | the database |\n"
            "| `--topic` | `a.b` | topic template |\n"
            "| `--dry-run` (`TOOL_DRY_RUN`) | off | change nothing |\n"
            "| `-X` |  | a property |\n"
            "| `--log-level` (`TOOL_LOG_LEVEL`) | `info` | how much \\| to log |\n");
  EXPECT_FALSE(RenderFlagTable(root, "walk").ok());
}

TEST(FlagTable, BlockMarkers) {
  const std::string block = FlagTableBlock("| a |\n");
  EXPECT_EQ(block, "<!-- run-flags:begin -->\n| a |\n<!-- run-flags:end -->\n");
  const std::string text = "intro\n<!-- run-flags:begin -->\nold\n<!-- run-flags:end -->\nrest\n";
  auto replaced = ReplaceFlagTableBlock(text, block);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(*replaced, "intro\n" + block + "rest\n");
  EXPECT_EQ(*ExtractFlagTableBlock(*replaced), block);
  EXPECT_FALSE(ExtractFlagTableBlock("no markers\n").ok());
  EXPECT_FALSE(ExtractFlagTableBlock("<!-- run-flags:end -->\n<!-- run-flags:begin -->\n").ok());
  EXPECT_FALSE(ReplaceFlagTableBlock(text + text, block).ok());
}

// Every flag of `pgoutbox run` and the global ones have a meaning worth a
// README row, and the table has them all.
TEST(FlagTable, RunTableCoversEveryFlag) {
  CommandLine command_line;
  auto table = RenderFlagTable(command_line.app(), "run");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  for (const char* flag : {"`--db` (`PGOUTBOX_DB`) | required", "`--brokers`", "`--retention`",
                           "`--cleanup-lock-timeout` (`PGOUTBOX_CLEANUP_LOCK_TIMEOUT`) | `1s`",
                           "`--column-key` (`PGOUTBOX_COLUMN_KEY`) | `aggregate_id`",
                           "`--no-create` (`PGOUTBOX_NO_CREATE`) | off", "`-X` (`PGOUTBOX_X`)",
                           "`--log-level` (`PGOUTBOX_LOG_LEVEL`) | `info`", "`--log-format`"}) {
    EXPECT_NE(table->find(flag), std::string::npos) << flag << " in:\n" << *table;
  }
  EXPECT_EQ(table->find("--help"), std::string::npos) << *table;
  EXPECT_EQ(table->find("--version"), std::string::npos) << *table;
  const std::vector<std::string> lines = Lines(*table);
  for (size_t i = 2; i < lines.size(); ++i) {  // after the header
    // A meaning of a few words at least.
    const size_t meaning = lines[i].rfind(" | ");
    ASSERT_NE(meaning, std::string::npos) << lines[i];
    EXPECT_GT(lines[i].size() - meaning, 12u) << lines[i];
  }
}

// The README's table of `subcommand` is the one its flags render.
void ExpectReadmeMatches(const std::string& subcommand) {
  CommandLine command_line;
  auto table = RenderFlagTable(command_line.app(), subcommand);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  const std::string expected = FlagTableBlock(*table, subcommand);
  if (const char* out = std::getenv("PGOUTBOX_FLAG_TABLE_OUT");
      subcommand == "run" && out != nullptr && *out != '\0') {
    std::ofstream(out, std::ios::binary) << expected;
  }

  const std::string path = std::string(PGOUTBOX_SOURCE_DIR) + "/README.md";
  const std::string readme = ReadFile(path);
  ASSERT_FALSE(readme.empty()) << "cannot read " << path;
  const std::string regenerate =
      "Regenerate it with: PGOUTBOX_UPDATE_README=1 build/cli_tests "
      "--gtest_filter='FlagTable*'\n";
  if (EnvIsSet("PGOUTBOX_UPDATE_README")) {
    auto updated = ReplaceFlagTableBlock(readme, expected, subcommand);
    ASSERT_TRUE(updated.ok()) << path << ": " << updated.status().message()
                              << "; add them around the flag table of `pgoutbox " << subcommand
                              << "`, with:\n"
                              << expected;
    if (*updated != readme) std::ofstream(path, std::ios::binary) << *updated;
    return;
  }
  auto actual = ExtractFlagTableBlock(readme, subcommand);
  ASSERT_TRUE(actual.ok()) << path << ": " << actual.status().message()
                           << ". The flag table of `pgoutbox " << subcommand
                           << "` belongs between them:\n"
                           << expected;
  EXPECT_EQ(*actual, expected) << path
                               << ": the flag table differs from the flags this subcommand "
                                  "declares (- README, + flags): "
                               << subcommand << "\n"
                               << Diff(*actual, expected) << regenerate << "Expected block:\n"
                               << expected;
}

TEST(FlagTable, ReadmeMatchesTheFlags) { ExpectReadmeMatches("run"); }

TEST(FlagTable, ReadmeMatchesTheReplayFlags) { ExpectReadmeMatches("replay"); }

}  // namespace
}  // namespace pgoutbox::cli
