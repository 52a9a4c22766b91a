#include "core/ack_tracker.h"

#include <algorithm>
#include <cassert>

namespace pgoutbox {

AckTracker::TxnId AckTracker::BeginTransaction(PgTimestamp commit_time) {
  assert(!open_);
  open_ = true;
  Entry e;
  e.id = next_id_++;
  e.commit_time = commit_time;
  entries_.push_back(e);
  return e.id;
}

void AckTracker::AddEvent() {
  assert(open_);
  ++entries_.back().pending;
  ++inflight_;
}

void AckTracker::CommitTransaction(Lsn end_lsn, Clock::time_point arrived) {
  assert(open_);
  open_ = false;
  Entry& e = entries_.back();
  e.end = end_lsn;
  e.commit_arrived = arrived;
  e.closed = true;
  // A transaction without events becomes confirmable exactly when the entry
  // before it does: merge it there so memory stays bounded by the events in
  // flight, not by the transactions.
  if (e.pending == 0 && !e.failed && entries_.size() >= 2) {
    Entry& prev = entries_[entries_.size() - 2];
    if (prev.closed && !prev.failed) {
      prev.end = std::max(prev.end, end_lsn);
      entries_.pop_back();
    }
  }
  Advance();
}

void AckTracker::AbandonTransaction() {
  if (!open_) return;
  open_ = false;
  Entry& e = entries_.back();
  e.end = Lsn();  // confirms nothing
  e.closed = true;
  Advance();
}

AckTracker::Entry* AckTracker::Find(TxnId txn) {
  // Ids increase along the deque (merged entries leave gaps).
  auto it = std::lower_bound(entries_.begin(), entries_.end(), txn,
                             [](const Entry& e, TxnId id) { return e.id < id; });
  if (it == entries_.end() || it->id != txn) return nullptr;
  return &*it;
}

AckTracker::Acked AckTracker::Ack(TxnId txn) {
  Entry* e = Find(txn);
  assert(e != nullptr && e->pending > 0);
  if (e == nullptr || e->pending == 0) return Acked{};
  const Acked acked{e->commit_time, e->commit_arrived};
  --e->pending;
  --inflight_;
  Advance();
  return acked;
}

void AckTracker::Fail(TxnId txn) {
  Entry* e = Find(txn);
  assert(e != nullptr && e->pending > 0);
  failed_ = true;
  if (e == nullptr || e->pending == 0) return;
  --e->pending;
  --inflight_;
  e->failed = true;
}

void AckTracker::ServerPosition(Lsn wal_end) {
  assert(!open_);
  if (entries_.empty()) {
    confirmed_ = std::max(confirmed_, wal_end);
    return;
  }
  // Confirmable once everything before it is: merge into the last entry.
  Entry& back = entries_.back();
  if (!back.failed) {
    back.end = std::max(back.end, wal_end);
  }
}

void AckTracker::Advance() {
  while (!entries_.empty()) {
    const Entry& front = entries_.front();
    if (!front.closed || front.pending > 0 || front.failed) break;
    confirmed_ = std::max(confirmed_, front.end);
    entries_.pop_front();
  }
}

void AckTracker::Rebase(Lsn slot_confirmed) {
  // Entries left are empty server positions or acknowledged transactions.
  entries_.clear();
  confirmed_ = slot_confirmed;
}

}  // namespace pgoutbox
