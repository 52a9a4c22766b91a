#include "cli/suggest.h"

#include <gtest/gtest.h>

namespace pgoutbox::cli {
namespace {

const std::vector<std::string> kSubcommands = {"run", "setup", "status", "cleanup"};

TEST(EditDistanceTest, CountsEditsAndAdjacentSwaps) {
  EXPECT_EQ(EditDistance("run", "run"), 0u);
  EXPECT_EQ(EditDistance("rnu", "run"), 1u);        // swap
  EXPECT_EQ(EditDistance("stauts", "status"), 1u);  // swap
  EXPECT_EQ(EditDistance("retenion", "retention"), 1u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(ClosestMatchTest, SubcommandTypos) {
  EXPECT_EQ(ClosestMatch("rnu", kSubcommands), "run");
  EXPECT_EQ(ClosestMatch("stauts", kSubcommands), "status");
  EXPECT_EQ(ClosestMatch("RUN", kSubcommands), "run");
  EXPECT_EQ(ClosestMatch("clean", kSubcommands), "cleanup");
  EXPECT_EQ(ClosestMatch("setpu", kSubcommands), "setup");
  EXPECT_EQ(ClosestMatch("deploy", kSubcommands), std::nullopt);
  EXPECT_EQ(ClosestMatch("x", kSubcommands), std::nullopt);
  EXPECT_EQ(ClosestMatch("", kSubcommands), std::nullopt);
}

TEST(ClosestMatchTest, FlagTypos) {
  const std::vector<std::string> flags = {
      "--db", "--brokers", "--retention", "--cleanup-lock-timeout", "--log-level", "-X"};
  EXPECT_EQ(ClosestMatch("--retenion", flags), "--retention");
  EXPECT_EQ(ClosestMatch("-retention", flags), "--retention");
  EXPECT_EQ(ClosestMatch("--dbb", flags), "--db");
  EXPECT_EQ(ClosestMatch("--borkers", flags), "--brokers");
  EXPECT_EQ(ClosestMatch("--log-levle", flags), "--log-level");
  EXPECT_EQ(ClosestMatch("--retent", flags), "--retention");                   // a prefix
  EXPECT_EQ(ClosestMatch("--lock-timeout", flags), "--cleanup-lock-timeout");  // a tail
  EXPECT_EQ(ClosestMatch("--x", flags), "-X");
  EXPECT_EQ(ClosestMatch("--frobnicate", flags), std::nullopt);
}

TEST(ClosestMatchTest, AmbiguousPartIsNoSuggestion) {
  EXPECT_EQ(ClosestMatch("--column", {"--column-id", "--column-key"}), std::nullopt);
  EXPECT_EQ(ClosestMatch("--timeout", {"--lock-timeout", "--statement-timeout"}), std::nullopt);
}

}  // namespace
}  // namespace pgoutbox::cli
