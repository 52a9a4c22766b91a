// AckTracker: where the delivery guarantee lives.
//
// It keeps the transactions received from the replication stream in commit
// order, each with its count of events handed to the broker but not yet
// acknowledged. The confirmable position is the commit end LSN of the longest
// prefix of transactions that are committed and fully acknowledged; it never
// moves backwards. When a transaction's delivery fails for good, nothing at or
// after it ever becomes confirmable.
//
// Server positions reported while no transaction is open (keepalives) are
// kept as empty, already-acknowledged entries: once every transaction before
// them is acknowledged, the confirmable position moves on to them, so WAL of
// other tables or an idle database does not pile up behind the slot.
//
// Memory: one small entry per transaction with events in flight; server
// positions and transactions without events are merged into the entry before
// them.
//
// Thread safety: none; owned and called by the streaming thread only (the
// delivery reports are served on that thread too).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>

#include "common/types.h"

namespace pgoutbox {

class AckTracker {
 public:
  // A transaction's handle; also the opaque value carried by its events.
  using TxnId = uint64_t;
  using Clock = std::chrono::steady_clock;

  // What Ack() tells of the event's transaction.
  struct Acked {
    PgTimestamp commit_time;  // as given to BeginTransaction()
    // When its Commit message arrived (CommitTransaction()); empty (the
    // epoch) while it is still open.
    Clock::time_point commit_arrived{};
  };

  // `confirmed` is where the slot stands now (its confirmed_flush_lsn).
  explicit AckTracker(Lsn confirmed) : confirmed_(confirmed) {}

  // Opens a transaction at the end of the commit order; `commit_time` is
  // handed back by Ack() (for the delivery latency).
  // REQUIRES: !has_open_transaction().
  TxnId BeginTransaction(PgTimestamp commit_time = PgTimestamp());

  // One more event of the open transaction was handed to the broker.
  // REQUIRES: has_open_transaction().
  void AddEvent();

  // Closes the open transaction, whose Commit message arrived at `arrived`;
  // it becomes confirmable at `end_lsn` once all its events are
  // acknowledged. REQUIRES: has_open_transaction().
  void CommitTransaction(Lsn end_lsn, Clock::time_point arrived = {});

  // Forgets the open transaction without ever confirming it (the stream broke
  // before its Commit arrived; the server will send it again). Acks of its
  // events are still accepted. No-op without an open transaction.
  void AbandonTransaction();

  // The broker acknowledged one event of transaction `txn`. Returns its
  // transaction's commit time and the arrival of its Commit message.
  Acked Ack(TxnId txn);

  // One event of transaction `txn` failed for good: neither it nor anything
  // after it will ever be confirmable.
  void Fail(TxnId txn);

  // The server reported `wal_end` while no transaction was open: every commit
  // before it has been received. REQUIRES: !has_open_transaction().
  void ServerPosition(Lsn wal_end);

  // The slot stands at `slot_confirmed`, read when the stream (re)connected
  // and before any of its data: whoever held the slot (this process before a
  // reconnect, or another one before a hot standby's takeover) delivered and
  // confirmed everything before it, and the server sends nothing before it
  // again. The confirmable position moves there at once when nothing is
  // pending, else once every transaction kept now is acknowledged (like a
  // server position); never backwards, never past an unacknowledged event.
  // REQUIRES: !has_open_transaction().
  void SlotPosition(Lsn slot_confirmed) { ServerPosition(slot_confirmed); }

  // The slot stands at `slot_confirmed` on another server or timeline: the
  // confirmable position becomes it, backwards too (positions on the old
  // server past the promotion point name other WAL).
  // REQUIRES: no transaction kept (every event acknowledged) and none open.
  // A tracker that failed() stays failed.
  void Rebase(Lsn slot_confirmed);

  // The highest position that is safe to confirm to the server.
  Lsn confirmable() const { return confirmed_; }

  bool has_open_transaction() const { return open_; }
  bool failed() const { return failed_; }
  // Events handed to the broker and not yet acknowledged or failed.
  uint64_t inflight_events() const { return inflight_; }
  // Entries kept (transactions and merged server positions) not yet confirmed.
  size_t pending_entries() const { return entries_.size(); }

 private:
  struct Entry {
    TxnId id = 0;
    PgTimestamp commit_time;
    Clock::time_point commit_arrived{};
    Lsn end;               // position confirmed once this entry is done; invalid: moves nothing
    uint64_t pending = 0;  // events not yet acknowledged
    bool closed = false;   // committed or abandoned
    bool failed = false;
  };

  Entry* Find(TxnId txn);
  void Advance();

  std::deque<Entry> entries_;
  TxnId next_id_ = 0;
  Lsn confirmed_;
  uint64_t inflight_ = 0;
  bool open_ = false;
  bool failed_ = false;
};

}  // namespace pgoutbox
