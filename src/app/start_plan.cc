#include "app/start_plan.h"

namespace pgoutbox::app {

const char* StartActionName(StartAction action) {
  switch (action) {
    case StartAction::kCreateSlot:
      return "create the slot";
    case StartAction::kStream:
      return "stream";
    case StartAction::kStreamAfterPromotion:
      return "stream after a promotion";
    case StartAction::kRecover:
      return "recover from the table";
    case StartAction::kRecoverAcceptingGap:
      return "recover from the table, accepting a gap";
    case StartAction::kRefuseOtherServer:
      return "refuse: another server";
    case StartAction::kRefuseGap:
      return "refuse: a gap";
  }
  return "?";
}

StartPlan PlanStart(const StartInputs& in) {
  const std::string slot_word = in.slot == SlotCondition::kMissing ? "does not exist"
                                : in.slot == SlotCondition::kLost  ? "is lost (its WAL was removed)"
                                                                   : "exists";
  if (!in.state) {
    if (in.slot == SlotCondition::kUsable) {
      return {StartAction::kStream, "no state remembered yet; the slot exists"};
    }
    if (in.slot == SlotCondition::kMissing && !in.streamed_before) {
      return {StartAction::kCreateSlot,
              "first start: no state remembered and the slot " + slot_word};
    }
    // A lost slot, or one that vanished under this process, with nothing
    // remembered: nothing tells which rows were delivered, so every retained
    // row is published again.
    const std::string why = "the slot " + slot_word + " and no state is remembered";
    if (in.rows_cover_mark) return {StartAction::kRecover, why};
    if (in.accept_gap) {
      return {StartAction::kRecoverAcceptingGap,
              why + "; every retained row is published, older ones may be gone (--accept-gap)"};
    }
    return {StartAction::kRefuseGap,
            why +
                ": nothing tells which rows were delivered, and cleanup may have deleted "
                "some that were not"};
  }
  const core::DeliveryState& state = *in.state;
  if (state.system_identifier != in.server.system_identifier) {
    return {StartAction::kRefuseOtherServer,
            "the state remembered for slot " + state.slot + " of database " + state.database +
                " was written streaming from the cluster with system identifier " +
                state.system_identifier + ", but this server is system " +
                in.server.system_identifier + ": another cluster answers this conninfo"};
  }
  const std::string where =
      "delivered up to " + state.confirmed.ToString() +
      (state.mark ? " (rows from transaction " + std::to_string(state.mark->xmin) + " on, since " +
                        state.mark->taken_at + ", may be undelivered)"
                  : " (no delivered mark yet: every retained row may be "
                    "undelivered)");
  const bool interrupted = state.phase == core::DeliveryPhase::kRecovering;
  if (in.slot == SlotCondition::kUsable && !interrupted) {
    if (state.timeline != in.server.timeline) {
      return {StartAction::kStreamAfterPromotion,
              "the server moved from timeline " + std::to_string(state.timeline) + " to " +
                  std::to_string(in.server.timeline) + " and slot " + state.slot +
                  " followed it; " + where};
    }
    return {StartAction::kStream, "slot " + state.slot + " exists; " + where};
  }
  const std::string why = interrupted ? "a recovery from the table was interrupted"
                                      : "slot " + state.slot + " " + slot_word;
  if (in.rows_cover_mark) return {StartAction::kRecover, why + "; " + where};
  if (in.accept_gap) {
    return {StartAction::kRecoverAcceptingGap,
            why + "; " + where + "; rows older than the retention may be gone (--accept-gap)"};
  }
  return {StartAction::kRefuseGap,
          why + "; " + where + ", but rows older than the retention may have been deleted"};
}

}  // namespace pgoutbox::app
