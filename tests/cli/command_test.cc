// The exit-code rule of every command (README, "Stopping and exit codes"):
// 0 success, 2 the command line or configuration (InvalidArgument), 1 every
// other failure.
#include "cli/command.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace pgoutbox::cli
