#include "tools/faults/mock_faults.h"

#include <gtest/gtest.h>

namespace pgoutbox::faults {
namespace {

const std::vector<rd_kafka_resp_err_t> kErrors = {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                                  RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT};

TEST(MockFaultsTest, ExactlyThePercentOfEachBlockFails) {
  ProduceErrorPlan plan(7, kErrors);
  plan.set_percent(10);
  for (int block = 0; block < 5; ++block) {
    int errors = 0, replicas = 0;
    for (int i = 0; i < 100; ++i) {
      rd_kafka_resp_err_t err = plan.Next();
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) ++errors;
      if (err == RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS) ++replicas;
    }
    EXPECT_EQ(errors, 10) << "block " << block;
    EXPECT_EQ(replicas, 5) << "the codes take turns";
  }
}

TEST(MockFaultsTest, ZeroPercentNeverFailsAndTheSeedDecides) {
  ProduceErrorPlan off(1, kErrors);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(off.Next(), RD_KAFKA_RESP_ERR_NO_ERROR);

  ProduceErrorPlan a(42, kErrors), b(42, kErrors), c(43, kErrors);
  a.set_percent(10);
  b.set_percent(10);
  c.set_percent(10);
  std::vector<rd_kafka_resp_err_t> sa, sb, sc;
  for (int i = 0; i < 100; ++i) {
    sa.push_back(a.Next());
    sb.push_back(b.Next());
    sc.push_back(c.Next());
  }
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);

  a.set_percent(0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.Next(), RD_KAFKA_RESP_ERR_NO_ERROR);
}

TEST(MockFaultsTest, TheLedgerCountsWhatTheBrokerTookOldestFirst) {
  ErrorStackLedger ledger;
  ledger.Pushed(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  ledger.Pushed(RD_KAFKA_RESP_ERR_NO_ERROR);
  ledger.Pushed(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  ledger.Observe(3);
  EXPECT_EQ(ledger.taken(), 0u);
  ledger.Observe(1);  // took the first two
  EXPECT_EQ(ledger.taken(), 2u);
  EXPECT_EQ(ledger.errors_taken(), 1u);
  EXPECT_EQ(ledger.errors_by_code().at(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS), 1u);
  EXPECT_EQ(ledger.pending(), 1u);
  ledger.Pushed(RD_KAFKA_RESP_ERR_NO_ERROR);
  ledger.Observe(0);
  EXPECT_EQ(ledger.taken(), 4u);
  EXPECT_EQ(ledger.errors_taken(), 2u);
  EXPECT_EQ(ledger.errors_by_code().at(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT), 1u);
}

TEST(MockFaultsTest, FindsErrorCodesByName) {
  auto code = ErrorCodeByName("not_enough_replicas");
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  code = ErrorCodeByName("REQUEST_TIMED_OUT");
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  EXPECT_FALSE(ErrorCodeByName("NOT_A_KAFKA_ERROR").ok());
}

TEST(MockFaultsTest, ParsesControlCommands) {
  using Kind = ControlCommand::Kind;
  EXPECT_EQ(ParseControlCommand("down\n").kind, Kind::kDown);
  EXPECT_EQ(ParseControlCommand("up").kind, Kind::kUp);
  EXPECT_EQ(ParseControlCommand("stats").kind, Kind::kStats);
  ControlCommand e = ParseControlCommand("errors 10\n");
  EXPECT_EQ(e.kind, Kind::kErrors);
  EXPECT_EQ(e.percent, 10);
  EXPECT_EQ(ParseControlCommand("errors 0").percent, 0);
  EXPECT_EQ(ParseControlCommand("errors 101").kind, Kind::kInvalid);
  EXPECT_EQ(ParseControlCommand("errors ten").kind, Kind::kInvalid);
  EXPECT_EQ(ParseControlCommand("reboot").kind, Kind::kInvalid);
}

}  // namespace
}  // namespace pgoutbox::faults
