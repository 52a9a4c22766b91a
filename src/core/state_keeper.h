// StateKeeper: decides when the deployment's DeliveryState is written to
// the state topic, and what it says (see core/delivery_state.h).
//
// Delivered marks (pg::DeliveredMark) arrive in the order they were taken,
// from the thread that polls the server. The streaming thread tells which
// server it streams from and, as the slot's confirmed position moves, asks
// Due() for the record to produce. A mark becomes the delivered mark once
// the confirmed position reaches its insert position. A record is due when
// what it would say differs from the last one written (the delivered mark,
// the confirmed position, the server, the phase), no earlier record is
// waiting for its acknowledgement, and `min_interval` has passed since the
// last one (a change of server or phase is due at once). Nothing is due
// until the confirmed position has moved past the first one Due() saw: until
// something was delivered there is nothing to vouch for.
//
// Memory: at most `max_marks` marks wait; when more arrive (the stream is far
// behind), every second one is dropped, which only delays the mark.
// Thread safety: AddMark() from any thread; everything else from the
// streaming thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "common/status.h"
#include "common/types.h"
#include "core/delivery_state.h"
#include "pg/delivered_mark.h"

namespace pgoutbox::core {

struct StateKeeperOptions {
  std::string database;
  std::string slot;
  std::chrono::milliseconds min_interval{5000};
  size_t max_marks = 64;
};

class StateKeeper {
 public:
  using Clock = std::chrono::steady_clock;

  explicit StateKeeper(StateKeeperOptions options);

  // A mark just taken on the primary `taken_on` (its system identifier and
  // timeline; nullopt: unknown, taken to be the stream's). A mark taken on
  // another server or timeline than the one streamed from is dropped when
  // it comes up: the confirmed position says nothing about it. Any thread.
  void AddMark(const pg::DeliveredMark& mark,
               std::optional<pg::ServerIdentity> taken_on = std::nullopt);

  // The server streamed from now (IDENTIFY_SYSTEM); the phase.
  void SetServer(const pg::ServerIdentity& server);
  void SetPhase(DeliveryPhase phase);

  // The record to produce now, if one is due (see the header comment); it
  // then counts as in flight until Written() or NotWritten(). Nothing is
  // due before SetServer().
  std::optional<std::string> Due(Lsn confirmed, Clock::time_point now);
  // The record Due() last returned was acknowledged, or failed (it is due
  // again at the next call).
  void Written();
  void NotWritten();

  // The state as it stands with the slot confirmed at `confirmed`, due or
  // not (nullopt before SetServer()): what a recovery starts from when the
  // slot vanished under a running stream, fresher than the last record.
  std::optional<DeliveryState> Current(Lsn confirmed);

  // The state as the last acknowledged record said it (nullopt before one).
  const std::optional<DeliveryState>& written() const { return written_; }
  const std::optional<pg::DeliveredMark>& delivered_mark() const { return delivered_mark_; }
  size_t pending_marks() const;
  // The state topic's key of this deployment (DeliveryStateKey).
  const std::string& key() const { return key_; }

 private:
  StateKeeperOptions options_;
  std::string key_;
  mutable std::mutex mu_;
  struct TakenMark {
    pg::DeliveredMark mark;
    std::optional<pg::ServerIdentity> taken_on;
  };
  std::deque<TakenMark> marks_;  // guarded by mu_
  std::optional<pg::ServerIdentity> server_;
  DeliveryPhase phase_ = DeliveryPhase::kStreaming;
  std::optional<pg::DeliveredMark> delivered_mark_;
  std::optional<DeliveryState> in_flight_;
  std::optional<DeliveryState> written_;
  Clock::time_point last_due_{};
  std::optional<Lsn> first_confirmed_;

  // Makes the marks the confirmed position reached the delivered mark.
  void PromoteMarks(Lsn confirmed);
  DeliveryState Build(Lsn confirmed) const;
};

}  // namespace pgoutbox::core
