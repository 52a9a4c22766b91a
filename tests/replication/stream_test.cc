#include "replication/stream.h"

#include <gtest/gtest.h>

namespace pgoutbox::replication {
namespace {

// START_REPLICATION failures that mean "not now" are retried; the others
// stop pgoutbox (exit 1).
TEST(StartFailureTest, NotNowIsTransient) {
  EXPECT_TRUE(IsTransientStartFailure("57P03", "the database system is shutting down", ""));
  EXPECT_TRUE(IsTransientStartFailure("57P03", "the database system is starting up", ""));
  EXPECT_TRUE(IsTransientStartFailure("57P01",
                                      "terminating connection due to administrator "
                                      "command",
                                      ""));
  // A synced slot on a standby (17+), as the server words it.
  EXPECT_TRUE(IsTransientStartFailure(
      "55000", "cannot use replication slot \"pgoutbox\" for logical decoding",
      "This replication slot is being synchronized from the primary server."));
  // Logical decoding on a server in recovery (14, 15).
  EXPECT_TRUE(
      IsTransientStartFailure("55000", "logical decoding cannot be used while in recovery", ""));
  EXPECT_TRUE(IsTransientStartFailure("55000", "recovery is in progress", ""));
}

TEST(StartFailureTest, WhatARetryCannotHealIsNot) {
  EXPECT_FALSE(
      IsTransientStartFailure("42704", "replication slot \"pgoutbox\" does not exist", ""));
  EXPECT_FALSE(IsTransientStartFailure(
      "55000", "can no longer get changes from replication slot \"pgoutbox\"",
      "This slot has been invalidated because it exceeded the maximum reserved size."));
  EXPECT_FALSE(
      IsTransientStartFailure("55000", "logical decoding requires wal_level >= logical", ""));
  EXPECT_FALSE(IsTransientStartFailure("42501", "permission denied to start WAL sender", ""));
  EXPECT_FALSE(IsTransientStartFailure("", "", ""));
}

}  // namespace
}  // namespace pgoutbox::replication
