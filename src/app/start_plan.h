// StartPlan: how `run` starts, from what it remembers (the deployment's
// DeliveryState in the state topic), what the server it reached is, and
// whether its slot is there. The rule that no event is skipped silently
// lives here:
//
//  - Nothing remembered: a first start. An existing slot is streamed from;
//    a missing one is created (rows committed before it are not streamed,
//    as `setup` says).
//  - Remembered from another cluster (a different system identifier under
//    the same conninfo): refused; the events of the old server would be
//    skipped, and this server's rows would be taken for them.
//  - The slot is there and usable: streamed from; on a new timeline (the
//    server was promoted and the slot followed it, PostgreSQL 17's failover
//    slots) with a log line saying so.
//  - The slot is gone, lost (its WAL removed) or a recovery was interrupted:
//    recovered from the table. The slot is created again with a consistent
//    snapshot, and the retained rows from the delivered mark on are
//    published before streaming, unless the retained rows cannot cover the
//    gap (the mark is older than the retention): then refused, unless the
//    operator accepts the gap.
//
// Pure; thread safety: none needed.
#pragma once

#include <optional>
#include <string>

#include "core/delivery_state.h"
#include "pg/delivered_mark.h"

namespace pgoutbox::app {

enum class StartAction {
  kCreateSlot,            // first start, no slot: create it
  kStream,                // stream from the slot
  kStreamAfterPromotion,  // stream from the slot, which followed a promotion
  kRecover,               // create the slot with a snapshot, publish retained rows, stream
  kRecoverAcceptingGap,   // the same, knowing some rows may be gone (--accept-gap)
  kRefuseOtherServer,     // the state names another cluster
  kRefuseGap,             // recovery needed, the retained rows cannot cover it
};
const char* StartActionName(StartAction action);

enum class SlotCondition {
  kMissing,
  kUsable,
  kLost,  // wal_status = 'lost' or invalidated: it cannot be streamed from
};

struct StartInputs {
  std::optional<core::DeliveryState> state;  // from the state topic
  pg::ServerIdentity server;                 // the server reached now
  SlotCondition slot = SlotCondition::kMissing;
  // Whether the rows from the mark on are all still in the table: no
  // cleanup can have deleted them (the mark is younger than the retention,
  // or cleanup is off; without a mark, only when cleanup is off). Only read
  // when recovery is needed.
  bool rows_cover_mark = true;
  bool accept_gap = false;  // --accept-gap
  // This process streamed from the slot, which then vanished: not a first
  // start even with nothing remembered.
  bool streamed_before = false;
};

struct StartPlan {
  StartAction action = StartAction::kCreateSlot;
  // For the log (or, when refused, the error): what was found and why this.
  std::string reason;
};

StartPlan PlanStart(const StartInputs& inputs);

}  // namespace pgoutbox::app
