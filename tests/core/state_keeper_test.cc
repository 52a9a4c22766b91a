#include "core/state_keeper.h"

#include <gtest/gtest.h>

namespace pgoutbox::core {
namespace {

using std::chrono::milliseconds;
using Clock = StateKeeper::Clock;

pg::DeliveredMark Mark(uint64_t lsn, uint64_t xmin) {
  return pg::DeliveredMark{Lsn(lsn), xmin, "t" + std::to_string(xmin)};
}

class StateKeeperTest : public ::testing::Test {
 protected:
  StateKeeperTest() : keeper_({"shop", "pgoutbox", milliseconds(5000), 4}) {}

  // The record Due() returns, parsed; acknowledged at once.
  std::optional<DeliveryState> DueAndWritten(Lsn confirmed, milliseconds at) {
    auto json = keeper_.Due(confirmed, start_ + at);
    if (!json) return std::nullopt;
    auto state = DeliveryState::Parse(*json);
    EXPECT_TRUE(state.ok()) << state.status().ToString();
    keeper_.Written();
    return state.ok() ? std::optional<DeliveryState>(*state) : std::nullopt;
  }

  // The first position Due() sees; nothing is due until it moves past it.
  void Start(Lsn at = Lsn(0x10)) { EXPECT_FALSE(keeper_.Due(at, start_).has_value()); }

  StateKeeper keeper_;
  const Clock::time_point start_ = Clock::now();
};

TEST_F(StateKeeperTest, NothingIsDueBeforeTheServerIsKnownOrSomethingWasDelivered) {
  keeper_.AddMark(Mark(0x100, 10));
  Start();
  EXPECT_FALSE(keeper_.Due(Lsn(0x200), start_).has_value());
  keeper_.SetServer({"7300", 1, Lsn()});
  EXPECT_FALSE(keeper_.Due(Lsn(0x10), start_).has_value()) << "nothing confirmed since the start";
  keeper_.SetServer({"7300", 1, Lsn()});
  auto state = DueAndWritten(Lsn(0x200), milliseconds(0));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->system_identifier, "7300");
  EXPECT_EQ(state->database, "shop");
  EXPECT_EQ(state->confirmed, Lsn(0x200));
}

TEST_F(StateKeeperTest, AMarkIsDeliveredOnlyOnceTheConfirmedPositionReachesIt) {
  Start();
  keeper_.SetServer({"7300", 1, Lsn()});
  keeper_.AddMark(Mark(0x100, 10));
  keeper_.AddMark(Mark(0x300, 20));
  auto state = DueAndWritten(Lsn(0x0FF), milliseconds(0));
  ASSERT_TRUE(state.has_value());
  EXPECT_FALSE(state->mark.has_value()) << "0x100 is not confirmed yet";

  state = DueAndWritten(Lsn(0x2FF), milliseconds(6000));
  ASSERT_TRUE(state.has_value());
  ASSERT_TRUE(state->mark.has_value());
  EXPECT_EQ(state->mark->xmin, 10u);
  EXPECT_EQ(keeper_.pending_marks(), 1u);

  state = DueAndWritten(Lsn(0x300), milliseconds(12000));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->mark->xmin, 20u);
  EXPECT_EQ(keeper_.pending_marks(), 0u);
}

TEST_F(StateKeeperTest, RecordsAreSpacedUnlessTheServerOrPhaseChanges) {
  Start();
  keeper_.SetServer({"7300", 1, Lsn()});
  ASSERT_TRUE(DueAndWritten(Lsn(0x100), milliseconds(0)).has_value());
  EXPECT_FALSE(DueAndWritten(Lsn(0x100), milliseconds(10000)).has_value()) << "nothing changed";
  EXPECT_FALSE(DueAndWritten(Lsn(0x200), milliseconds(1000)).has_value()) << "too soon";
  EXPECT_TRUE(DueAndWritten(Lsn(0x200), milliseconds(5000)).has_value());

  keeper_.SetServer({"7300", 2, Lsn()});
  auto state = DueAndWritten(Lsn(0x200), milliseconds(5001));
  ASSERT_TRUE(state.has_value()) << "a new timeline is written at once";
  EXPECT_EQ(state->timeline, 2u);
  keeper_.SetPhase(DeliveryPhase::kRecovering);
  state = DueAndWritten(Lsn(0x200), milliseconds(5002));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->phase, DeliveryPhase::kRecovering);
}

TEST_F(StateKeeperTest, OneRecordInFlightAtATimeAndAFailedOneIsDueAgain) {
  Start();
  keeper_.SetServer({"7300", 1, Lsn()});
  ASSERT_TRUE(keeper_.Due(Lsn(0x100), start_).has_value());
  EXPECT_FALSE(keeper_.Due(Lsn(0x200), start_ + milliseconds(9000)).has_value());
  EXPECT_FALSE(keeper_.written().has_value());
  keeper_.NotWritten();
  auto again = keeper_.Due(Lsn(0x200), start_ + milliseconds(9001));
  ASSERT_TRUE(again.has_value());
  keeper_.Written();
  ASSERT_TRUE(keeper_.written().has_value());
  EXPECT_EQ(keeper_.written()->confirmed, Lsn(0x200));
}

TEST_F(StateKeeperTest, TooManyWaitingMarksAreThinnedKeepingTheNewest) {
  Start();
  keeper_.SetServer({"7300", 1, Lsn()});
  for (uint64_t i = 1; i <= 9; ++i) keeper_.AddMark(Mark(0x100 * i, i));
  EXPECT_LE(keeper_.pending_marks(), 4u);
  auto state = DueAndWritten(Lsn(0x900), milliseconds(0));
  ASSERT_TRUE(state.has_value());
  ASSERT_TRUE(state->mark.has_value());
  EXPECT_EQ(state->mark->xmin, 9u) << "the newest mark survives the thinning";
  // Whatever was dropped, a delivered mark is never one whose position is
  // not yet confirmed.
  for (uint64_t i = 10; i <= 20; ++i) keeper_.AddMark(Mark(0x100 * i, i));
  state = DueAndWritten(Lsn(0x0E00), milliseconds(6000));
  ASSERT_TRUE(state.has_value());
  ASSERT_TRUE(state->mark.has_value());
  EXPECT_LE(state->mark->insert_lsn, Lsn(0x0E00));
}

TEST_F(StateKeeperTest, CurrentIsNothingBeforeTheServerIsKnown) {
  keeper_.AddMark(Mark(0x100, 10));
  EXPECT_FALSE(keeper_.Current(Lsn(0x200)).has_value());
  keeper_.SetServer({"7300", 3, Lsn()});
  auto state = keeper_.Current(Lsn(0x200));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->system_identifier, "7300");
  EXPECT_EQ(state->timeline, 3u);
  EXPECT_EQ(state->database, "shop");
  EXPECT_EQ(state->slot, "pgoutbox");
  EXPECT_EQ(state->confirmed, Lsn(0x200));
  ASSERT_TRUE(state->mark.has_value());
  EXPECT_EQ(state->mark->xmin, 10u);
}

TEST_F(StateKeeperTest, CurrentPromotesOnlyTheMarksTheConfirmedPositionReached) {
  keeper_.SetServer({"7300", 1, Lsn()});
  keeper_.AddMark(Mark(0x100, 10));
  keeper_.AddMark(Mark(0x300, 20));
  auto state = keeper_.Current(Lsn(0x0FF));
  ASSERT_TRUE(state.has_value());
  EXPECT_FALSE(state->mark.has_value()) << "0x100 is not confirmed yet";
  EXPECT_EQ(keeper_.pending_marks(), 2u);

  state = keeper_.Current(Lsn(0x100));
  ASSERT_TRUE(state.has_value());
  ASSERT_TRUE(state->mark.has_value());
  EXPECT_EQ(state->mark->xmin, 10u) << "a mark at exactly the confirmed position is delivered";
  EXPECT_EQ(state->mark->insert_lsn, Lsn(0x100));
  EXPECT_EQ(keeper_.pending_marks(), 1u);

  state = keeper_.Current(Lsn(0x2FF));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->mark->xmin, 10u);
  state = keeper_.Current(Lsn(0x500));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->mark->xmin, 20u);
  EXPECT_EQ(keeper_.pending_marks(), 0u);
}

TEST_F(StateKeeperTest, CurrentIgnoresTheRulesThatSpaceTheRecords) {
  // Nothing was confirmed past the first position Due() saw: Due() says
  // nothing, Current() still tells the state.
  Start(Lsn(0x400));
  keeper_.SetServer({"7300", 1, Lsn()});
  keeper_.AddMark(Mark(0x300, 30));
  auto state = keeper_.Current(Lsn(0x400));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->confirmed, Lsn(0x400));
  ASSERT_TRUE(state->mark.has_value());
  EXPECT_EQ(state->mark->xmin, 30u);
  EXPECT_FALSE(keeper_.Due(Lsn(0x400), start_).has_value());

  // A record is in flight: Due() waits for it, Current() does not.
  ASSERT_TRUE(keeper_.Due(Lsn(0x500), start_).has_value());
  keeper_.AddMark(Mark(0x600, 40));
  state = keeper_.Current(Lsn(0x700));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->confirmed, Lsn(0x700));
  EXPECT_EQ(state->mark->xmin, 40u);
  EXPECT_FALSE(keeper_.Due(Lsn(0x700), start_ + milliseconds(9000)).has_value());
  // ... and leaves the record in flight as Due() returned it.
  keeper_.Written();
  ASSERT_TRUE(keeper_.written().has_value());
  EXPECT_EQ(keeper_.written()->confirmed, Lsn(0x500));
  EXPECT_EQ(keeper_.written()->mark->xmin, 30u);

  // Too soon after the last record: Due() waits, Current() does not.
  keeper_.AddMark(Mark(0x800, 50));
  state = keeper_.Current(Lsn(0x900));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->confirmed, Lsn(0x900));
  EXPECT_EQ(state->mark->xmin, 50u);
  EXPECT_FALSE(keeper_.Due(Lsn(0x900), start_ + milliseconds(1000)).has_value());
  keeper_.SetPhase(DeliveryPhase::kRecovering);
  EXPECT_EQ(keeper_.Current(Lsn(0x900))->phase, DeliveryPhase::kRecovering);
}

// A mark taken on another server or timeline than the one streamed from
// (the monitor reached a promoted standby before the stream did) is never
// the delivered mark, whatever the confirmed position; marks of the stream's
// own server still are.
TEST_F(StateKeeperTest, AMarkOfAnotherServerOrTimelineIsNeverDelivered) {
  keeper_.SetServer({"7300", 1, Lsn()});
  keeper_.AddMark(Mark(0x100, 10), pg::ServerIdentity{"7300", 1, Lsn(0x100)});
  keeper_.AddMark(Mark(0x180, 15), pg::ServerIdentity{"7300", 2, Lsn(0x180)});
  keeper_.AddMark(Mark(0x1C0, 17), pg::ServerIdentity{"9999", 1, Lsn(0x1C0)});
  keeper_.AddMark(Mark(0x200, 20), pg::ServerIdentity{"7300", 1, Lsn(0x200)});
  auto state = keeper_.Current(Lsn(0x1FF));
  ASSERT_TRUE(state.has_value());
  ASSERT_TRUE(state->mark.has_value());
  EXPECT_EQ(state->mark->xmin, 10u) << "the marks of timeline 2 and of system 9999 are skipped";
  state = keeper_.Current(Lsn(0x200));
  ASSERT_TRUE(state->mark.has_value());
  EXPECT_EQ(state->mark->xmin, 20u);
  EXPECT_EQ(keeper_.pending_marks(), 0u);

  // After the promotion the stream is on timeline 2: only its marks count.
  keeper_.SetServer({"7300", 2, Lsn()});
  keeper_.AddMark(Mark(0x150, 30), pg::ServerIdentity{"7300", 1, Lsn(0x150)});
  keeper_.AddMark(Mark(0x250, 40), pg::ServerIdentity{"7300", 2, Lsn(0x250)});
  state = keeper_.Current(Lsn(0x300));
  ASSERT_TRUE(state->mark.has_value());
  EXPECT_EQ(state->mark->xmin, 40u);
  EXPECT_EQ(state->timeline, 2u);
}

}  // namespace
}  // namespace pgoutbox::core
