#include "app/start_plan.h"

#include <gtest/gtest.h>

namespace pgoutbox::app {
namespace {

core::DeliveryState Remembered(uint32_t timeline = 1) {
  core::DeliveryState state;
  state.system_identifier = "7300000000000000001";
  state.timeline = timeline;
  state.database = "shop";
  state.slot = "pgoutbox";
  state.confirmed = Lsn(0x1000);
  state.mark = pg::DeliveredMark{Lsn(0x0F00), 742, "2026-12-06 23:40:00+00"};
  return state;
}

StartInputs Inputs(std::optional<core::DeliveryState> state, SlotCondition slot,
                   uint32_t timeline = 1) {
  StartInputs in;
  in.state = std::move(state);
  in.server = {"7300000000000000001", timeline, Lsn(0x2000)};
  in.slot = slot;
  return in;
}

TEST(PlanStartTest, AFirstStartCreatesTheSlotOrStreamsFromAnExistingOne) {
  EXPECT_EQ(PlanStart(Inputs(std::nullopt, SlotCondition::kMissing)).action,
            StartAction::kCreateSlot);
  EXPECT_EQ(PlanStart(Inputs(std::nullopt, SlotCondition::kUsable)).action, StartAction::kStream);
}

TEST(PlanStartTest, ARememberedSlotThatExistsIsStreamedFrom) {
  StartPlan plan = PlanStart(Inputs(Remembered(), SlotCondition::kUsable));
  EXPECT_EQ(plan.action, StartAction::kStream);
  EXPECT_NE(plan.reason.find("0/1000"), std::string::npos) << plan.reason;
}

TEST(PlanStartTest, ASlotThatFollowedAPromotionIsStreamedFromAndSaysSo) {
  StartPlan plan = PlanStart(Inputs(Remembered(1), SlotCondition::kUsable, 2));
  EXPECT_EQ(plan.action, StartAction::kStreamAfterPromotion);
  EXPECT_NE(plan.reason.find("timeline 1 to 2"), std::string::npos) << plan.reason;
}

TEST(PlanStartTest, AVanishedOrLostSlotIsNeverCreatedAgainSilently) {
  for (SlotCondition slot : {SlotCondition::kMissing, SlotCondition::kLost}) {
    for (uint32_t timeline : {1u, 2u}) {
      StartPlan plan = PlanStart(Inputs(Remembered(), slot, timeline));
      EXPECT_EQ(plan.action, StartAction::kRecover) << plan.reason;
      EXPECT_NE(plan.reason.find("transaction 742"), std::string::npos) << plan.reason;
    }
  }
}

TEST(PlanStartTest, ARecoveryThatWasInterruptedIsDoneAgainEvenIfTheSlotExists) {
  core::DeliveryState state = Remembered();
  state.phase = core::DeliveryPhase::kRecovering;
  StartPlan plan = PlanStart(Inputs(state, SlotCondition::kUsable));
  EXPECT_EQ(plan.action, StartAction::kRecover);
  EXPECT_NE(plan.reason.find("interrupted"), std::string::npos) << plan.reason;
}

TEST(PlanStartTest, AGapTheRetainedRowsCannotCoverIsRefusedUnlessAccepted) {
  StartInputs in = Inputs(Remembered(), SlotCondition::kMissing);
  in.rows_cover_mark = false;
  StartPlan plan = PlanStart(in);
  EXPECT_EQ(plan.action, StartAction::kRefuseGap);
  EXPECT_NE(plan.reason.find("retention"), std::string::npos) << plan.reason;
  in.accept_gap = true;
  EXPECT_EQ(PlanStart(in).action, StartAction::kRecoverAcceptingGap);
  // A usable slot needs no rows from the table, whatever the retention.
  in = Inputs(Remembered(), SlotCondition::kUsable);
  in.rows_cover_mark = false;
  EXPECT_EQ(PlanStart(in).action, StartAction::kStream);
}

TEST(PlanStartTest, AnotherClusterUnderTheSameConninfoIsRefusedWhateverItsSlot) {
  for (SlotCondition slot :
       {SlotCondition::kMissing, SlotCondition::kUsable, SlotCondition::kLost}) {
    StartInputs in = Inputs(Remembered(), slot);
    in.server.system_identifier = "7399999999999999999";
    in.accept_gap = true;
    StartPlan plan = PlanStart(in);
    EXPECT_EQ(plan.action, StartAction::kRefuseOtherServer);
    EXPECT_NE(plan.reason.find("7300000000000000001"), std::string::npos) << plan.reason;
    EXPECT_NE(plan.reason.find("7399999999999999999"), std::string::npos) << plan.reason;
  }
}

TEST(PlanStartTest, ALostSlotWithNothingRememberedRepublishesTheRetainedRows) {
  StartInputs in = Inputs(std::nullopt, SlotCondition::kLost);
  EXPECT_EQ(PlanStart(in).action, StartAction::kRecover);
  in.rows_cover_mark = false;
  EXPECT_EQ(PlanStart(in).action, StartAction::kRefuseGap);
}

TEST(PlanStartTest, ASlotThatVanishedUnderThisProcessIsRecoveredNotCreated) {
  StartInputs in = Inputs(std::nullopt, SlotCondition::kMissing);
  in.streamed_before = true;
  StartPlan plan = PlanStart(in);
  EXPECT_EQ(plan.action, StartAction::kRecover) << plan.reason;
  EXPECT_NE(plan.reason.find("does not exist"), std::string::npos) << plan.reason;
  in.rows_cover_mark = false;
  EXPECT_EQ(PlanStart(in).action, StartAction::kRefuseGap);
  in.accept_gap = true;
  EXPECT_EQ(PlanStart(in).action, StartAction::kRecoverAcceptingGap);
}

TEST(PlanStartTest, StreamedBeforeChangesNothingWhenTheSlotIsThere) {
  StartInputs in = Inputs(std::nullopt, SlotCondition::kUsable);
  in.streamed_before = true;
  in.rows_cover_mark = false;
  EXPECT_EQ(PlanStart(in).action, StartAction::kStream);
  // A lost slot is recovered whether or not this process streamed from it.
  in = Inputs(std::nullopt, SlotCondition::kLost);
  in.streamed_before = true;
  EXPECT_EQ(PlanStart(in).action, StartAction::kRecover);
  // With a state remembered the state decides, streamed before or not.
  in = Inputs(Remembered(), SlotCondition::kMissing);
  in.streamed_before = true;
  EXPECT_EQ(PlanStart(in).action, StartAction::kRecover);
  in = Inputs(Remembered(), SlotCondition::kUsable);
  in.streamed_before = true;
  EXPECT_EQ(PlanStart(in).action, StartAction::kStream);
}

}  // namespace
}  // namespace pgoutbox::app
