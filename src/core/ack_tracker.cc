#include "core/ack_tracker.h"

#include <algorithm>
#include <cassert>

namespace pgoutbox {

AckTracker::TxnId AckTracker::BeginTransaction() {
  assert(!open_);
  open_ = true;
  entries_.push_back(Entry{});
  return first_id_ + entries_.size() - 1;
}

void AckTracker::AddEvent() {
  assert(open_);
  ++entries_.back().pending;
  ++inflight_;
}

void AckTracker::CommitTransaction(Lsn end_lsn) {
  assert(open_);
  open_ = false;
  Entry& e = entries_.back();
  e.end = end_lsn;
  e.closed = true;
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
  if (txn < first_id_ || txn - first_id_ >= entries_.size()) return nullptr;
  return &entries_[txn - first_id_];
}

void AckTracker::Ack(TxnId txn) {
  Entry* e = Find(txn);
  assert(e != nullptr && e->pending > 0);
  if (e == nullptr || e->pending == 0) return;
  --e->pending;
  --inflight_;
  Advance();
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
  Entry& back = entries_.back();
  if (back.position_only) {
    back.end = std::max(back.end, wal_end);
    return;
  }
  Entry e;
  e.end = wal_end;
  e.closed = true;
  e.position_only = true;
  entries_.push_back(e);
}

void AckTracker::Advance() {
  while (!entries_.empty()) {
    const Entry& front = entries_.front();
    if (!front.closed || front.pending > 0 || front.failed) break;
    confirmed_ = std::max(confirmed_, front.end);
    entries_.pop_front();
    ++first_id_;
  }
}

}  // namespace pgoutbox
