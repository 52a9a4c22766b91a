#include "core/ack_tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <vector>

namespace pgoutbox {
// Readable gtest failure output; static so each test file may have its own.
[[maybe_unused]] static void PrintTo(const Lsn& lsn, std::ostream* os) { *os << lsn.ToString(); }
}  // namespace pgoutbox

namespace pgoutbox {
namespace {

using TxnId = AckTracker::TxnId;

// Opens a transaction, adds `events` events and commits it at `end`.
TxnId CommittedTxn(AckTracker& t, int events, uint64_t end) {
  TxnId id = t.BeginTransaction();
  for (int i = 0; i < events; ++i) t.AddEvent();
  t.CommitTransaction(Lsn(end));
  return id;
}

TEST(AckTrackerTest, StartsAtTheSlotPosition) {
  AckTracker t(Lsn(0x1000));
  EXPECT_EQ(t.confirmable(), Lsn(0x1000));
  EXPECT_FALSE(t.has_open_transaction());
  EXPECT_FALSE(t.failed());
  EXPECT_EQ(t.inflight_events(), 0u);
  EXPECT_EQ(t.pending_entries(), 0u);
}

TEST(AckTrackerTest, InOrderAcks) {
  AckTracker t(Lsn(10));
  TxnId a = CommittedTxn(t, 2, 100);
  TxnId b = CommittedTxn(t, 1, 200);
  EXPECT_NE(a, b);
  EXPECT_EQ(t.confirmable(), Lsn(10));
  EXPECT_EQ(t.inflight_events(), 3u);
  t.Ack(a);
  EXPECT_EQ(t.confirmable(), Lsn(10));  // a has one event left
  t.Ack(a);
  EXPECT_EQ(t.confirmable(), Lsn(100));
  EXPECT_EQ(t.pending_entries(), 1u);
  t.Ack(b);
  EXPECT_EQ(t.confirmable(), Lsn(200));
  EXPECT_EQ(t.pending_entries(), 0u);
  EXPECT_EQ(t.inflight_events(), 0u);
}

TEST(AckTrackerTest, OutOfOrderAcksConfirmOnlyTheFullyAckedPrefix) {
  AckTracker t(Lsn(10));
  TxnId a = CommittedTxn(t, 1, 100);
  TxnId b = CommittedTxn(t, 2, 200);
  TxnId c = CommittedTxn(t, 1, 300);
  TxnId d = CommittedTxn(t, 1, 400);

  t.Ack(c);
  t.Ack(b);
  EXPECT_EQ(t.confirmable(), Lsn(10));  // a still unacked: nothing moves
  t.Ack(a);
  EXPECT_EQ(t.confirmable(), Lsn(100));  // b has one event left
  t.Ack(d);
  EXPECT_EQ(t.confirmable(), Lsn(100));
  t.Ack(b);
  EXPECT_EQ(t.confirmable(), Lsn(400));  // b, c and d were all done
  EXPECT_EQ(t.pending_entries(), 0u);
}

TEST(AckTrackerTest, AcksBeforeTheCommitConfirmOnlyAtTheCommit) {
  AckTracker t(Lsn(10));
  TxnId a = t.BeginTransaction();
  t.AddEvent();
  t.AddEvent();
  t.Ack(a);
  t.Ack(a);
  EXPECT_EQ(t.inflight_events(), 0u);
  EXPECT_EQ(t.confirmable(), Lsn(10));  // not committed yet
  t.AddEvent();
  t.Ack(a);
  EXPECT_EQ(t.confirmable(), Lsn(10));
  t.CommitTransaction(Lsn(100));
  EXPECT_EQ(t.confirmable(), Lsn(100));
  EXPECT_EQ(t.pending_entries(), 0u);
}

TEST(AckTrackerTest, AcksTellWhenTheCommitArrived) {
  AckTracker t(Lsn(100));
  const AckTracker::Clock::time_point arrived = AckTracker::Clock::now();
  const auto a = t.BeginTransaction(PgTimestamp::FromUnixMicros(7));
  t.AddEvent();
  t.AddEvent();
  // Acked before its Commit arrived: no arrival yet.
  EXPECT_EQ(t.Ack(a).commit_arrived, AckTracker::Clock::time_point{});
  t.CommitTransaction(Lsn(200), arrived);
  const AckTracker::Acked acked = t.Ack(a);
  EXPECT_EQ(acked.commit_arrived, arrived);
  EXPECT_EQ(acked.commit_time, PgTimestamp::FromUnixMicros(7));
  EXPECT_EQ(t.confirmable(), Lsn(200));
}

TEST(AckTrackerTest, EmptyTransactions) {
  AckTracker t(Lsn(10));
  CommittedTxn(t, 0, 50);
  EXPECT_EQ(t.confirmable(), Lsn(50));  // nothing to wait for
  EXPECT_EQ(t.pending_entries(), 0u);

  TxnId a = CommittedTxn(t, 1, 100);
  CommittedTxn(t, 0, 150);
  CommittedTxn(t, 0, 160);
  EXPECT_EQ(t.confirmable(), Lsn(50));  // the empty ones wait behind a
  t.Ack(a);
  EXPECT_EQ(t.confirmable(), Lsn(160));
  EXPECT_EQ(t.pending_entries(), 0u);
}

TEST(AckTrackerTest, ConfirmableNeverMovesBackwards) {
  AckTracker t(Lsn(1000));
  CommittedTxn(t, 0, 900);  // below the slot's position
  EXPECT_EQ(t.confirmable(), Lsn(1000));

  t.ServerPosition(Lsn(2000));
  EXPECT_EQ(t.confirmable(), Lsn(2000));
  t.ServerPosition(Lsn(1500));
  EXPECT_EQ(t.confirmable(), Lsn(2000));

  TxnId a = CommittedTxn(t, 1, 1800);  // a commit end lower than a previous server position
  t.Ack(a);
  EXPECT_EQ(t.confirmable(), Lsn(2000));

  TxnId b = CommittedTxn(t, 1, 2500);
  t.ServerPosition(Lsn(2200));  // lower than b's end, behind b
  t.Ack(b);
  EXPECT_EQ(t.confirmable(), Lsn(2500));
  EXPECT_EQ(t.pending_entries(), 0u);
}

TEST(AckTrackerTest, ServerPositionWhileIdleAdvancesAtOnce) {
  AckTracker t(Lsn(10));
  t.ServerPosition(Lsn(20));
  EXPECT_EQ(t.confirmable(), Lsn(20));
  t.ServerPosition(Lsn(30));
  EXPECT_EQ(t.confirmable(), Lsn(30));
  EXPECT_EQ(t.pending_entries(), 0u);
}

// A hot standby's takeover: the slot was moved by another process while
// this one waited; the tracker starts from where the slot stands now.
TEST(AckTrackerTest, SlotPositionWhileIdleMovesThereAtOnce) {
  AckTracker t(Lsn(10));
  t.SlotPosition(Lsn(500));
  EXPECT_EQ(t.confirmable(), Lsn(500));
  EXPECT_EQ(t.pending_entries(), 0u);
}

TEST(AckTrackerTest, SlotPositionNeverMovesBackwards) {
  AckTracker t(Lsn(500));
  t.SlotPosition(Lsn(10));
  EXPECT_EQ(t.confirmable(), Lsn(500));
  TxnId a = CommittedTxn(t, 1, 600);
  t.SlotPosition(Lsn(300));
  t.Ack(a);
  EXPECT_EQ(t.confirmable(), Lsn(600));
}

TEST(AckTrackerTest, SlotPositionNeverSkipsUnacknowledgedEvents) {
  AckTracker t(Lsn(10));
  TxnId a = CommittedTxn(t, 2, 100);
  t.AbandonTransaction();  // no-op: nothing open
  t.SlotPosition(Lsn(900));
  EXPECT_EQ(t.confirmable(), Lsn(10));
  t.Ack(a);
  EXPECT_EQ(t.confirmable(), Lsn(10));  // one event of a still in flight
  t.Ack(a);
  EXPECT_EQ(t.confirmable(), Lsn(900));
}

TEST(AckTrackerTest, SlotPositionBehindAFailureConfirmsNothing) {
  AckTracker t(Lsn(10));
  TxnId a = CommittedTxn(t, 1, 100);
  t.Fail(a);
  t.SlotPosition(Lsn(900));
  EXPECT_EQ(t.confirmable(), Lsn(10));
}

TEST(AckTrackerTest, ServerPositionWaitsForEventsInFlight) {
  AckTracker t(Lsn(10));
  TxnId a = CommittedTxn(t, 1, 100);
  t.ServerPosition(Lsn(150));
  EXPECT_EQ(t.confirmable(), Lsn(10));
  // Positions merge into the entry before them.
  for (uint64_t pos = 160; pos <= 1000; pos += 10) t.ServerPosition(Lsn(pos));
  EXPECT_EQ(t.pending_entries(), 1u);
  EXPECT_EQ(t.confirmable(), Lsn(10));

  TxnId b = CommittedTxn(t, 1, 1100);
  t.ServerPosition(Lsn(1200));
  t.ServerPosition(Lsn(1300));
  EXPECT_EQ(t.pending_entries(), 2u);  // a with positions, b with positions

  t.Ack(a);
  EXPECT_EQ(t.confirmable(), Lsn(1000));  // a and the merged positions up to 1000
  t.Ack(b);
  EXPECT_EQ(t.confirmable(), Lsn(1300));
  EXPECT_EQ(t.pending_entries(), 0u);
}

TEST(AckTrackerTest, EmptyTransactionsAndPositionsBehindASlowEvent) {
  // Empty transactions and positions merge into the entry before them, so
  // memory is bounded by the events in flight; all go when the slow event is
  // acked.
  AckTracker t(Lsn(1));
  TxnId slow = CommittedTxn(t, 1, 10);
  uint64_t lsn = 10;
  for (int i = 0; i < 100; ++i) {
    CommittedTxn(t, 0, lsn += 10);
    t.ServerPosition(Lsn(lsn += 1));
    t.ServerPosition(Lsn(lsn += 1));
  }
  EXPECT_EQ(t.pending_entries(), 1u);
  EXPECT_EQ(t.confirmable(), Lsn(1));
  t.Ack(slow);
  EXPECT_EQ(t.confirmable(), Lsn(lsn));
  EXPECT_EQ(t.pending_entries(), 0u);
}

TEST(AckTrackerTest, AbandonedTransactionIsNeverConfirmed) {
  AckTracker t(Lsn(10));
  TxnId a = t.BeginTransaction();
  t.AddEvent();
  t.AddEvent();
  t.AbandonTransaction();
  EXPECT_FALSE(t.has_open_transaction());
  EXPECT_EQ(t.inflight_events(), 2u);

  // After a reconnect the server sends it again as a new transaction.
  TxnId again = CommittedTxn(t, 2, 100);
  t.Ack(again);
  t.Ack(again);
  EXPECT_EQ(t.confirmable(), Lsn(10));  // the abandoned events are still in flight
  t.Ack(a);
  EXPECT_EQ(t.confirmable(), Lsn(10));
  t.Ack(a);
  EXPECT_EQ(t.confirmable(), Lsn(100));
  EXPECT_EQ(t.inflight_events(), 0u);
  EXPECT_EQ(t.pending_entries(), 0u);
  EXPECT_FALSE(t.failed());
}

TEST(AckTrackerTest, AbandonedTransactionAloneConfirmsNothing) {
  AckTracker t(Lsn(10));
  TxnId a = t.BeginTransaction();
  t.AddEvent();
  t.AbandonTransaction();
  t.Ack(a);
  EXPECT_EQ(t.confirmable(), Lsn(10));
  EXPECT_EQ(t.pending_entries(), 0u);

  t.BeginTransaction();
  t.AbandonTransaction();  // no events
  EXPECT_EQ(t.confirmable(), Lsn(10));
  EXPECT_EQ(t.pending_entries(), 0u);

  t.AbandonTransaction();  // nothing open: no-op
  EXPECT_EQ(t.confirmable(), Lsn(10));
  EXPECT_FALSE(t.has_open_transaction());
}

TEST(AckTrackerTest, FailBlocksTheTransactionAndEverythingAfterIt) {
  AckTracker t(Lsn(10));
  TxnId a = CommittedTxn(t, 1, 100);
  TxnId b = CommittedTxn(t, 2, 200);
  TxnId c = CommittedTxn(t, 1, 300);
  t.Fail(b);
  EXPECT_TRUE(t.failed());
  EXPECT_EQ(t.inflight_events(), 3u);
  t.Ack(c);
  EXPECT_EQ(t.confirmable(), Lsn(10));
  t.Ack(a);
  EXPECT_EQ(t.confirmable(), Lsn(100));  // earlier transactions still confirm
  t.Ack(b);                              // b's other event succeeded: b stays failed
  EXPECT_EQ(t.confirmable(), Lsn(100));
  EXPECT_EQ(t.inflight_events(), 0u);

  // Nothing later ever moves it: transactions, empty commits, positions.
  TxnId d = CommittedTxn(t, 1, 400);
  t.Ack(d);
  CommittedTxn(t, 0, 500);
  t.ServerPosition(Lsn(600));
  EXPECT_EQ(t.confirmable(), Lsn(100));
  EXPECT_TRUE(t.failed());
}

TEST(AckTrackerTest, FailOfTheOpenTransaction) {
  AckTracker t(Lsn(10));
  TxnId a = CommittedTxn(t, 1, 100);
  TxnId b = t.BeginTransaction();
  t.AddEvent();
  t.Fail(b);
  EXPECT_TRUE(t.failed());
  t.CommitTransaction(Lsn(200));
  t.Ack(a);
  EXPECT_EQ(t.confirmable(), Lsn(100));
  t.ServerPosition(Lsn(300));
  EXPECT_EQ(t.confirmable(), Lsn(100));
}

TEST(AckTrackerTest, FailOfAnAbandonedTransactionStillBlocks) {
  AckTracker t(Lsn(10));
  TxnId a = t.BeginTransaction();
  t.AddEvent();
  t.AbandonTransaction();
  t.Fail(a);
  CommittedTxn(t, 0, 100);
  EXPECT_EQ(t.confirmable(), Lsn(10));
  EXPECT_TRUE(t.failed());
}

TEST(AckTrackerTest, InflightEventsCount) {
  AckTracker t(Lsn(1));
  TxnId a = t.BeginTransaction();
  for (int i = 0; i < 5; ++i) t.AddEvent();
  EXPECT_EQ(t.inflight_events(), 5u);
  t.CommitTransaction(Lsn(10));
  TxnId b = t.BeginTransaction();
  t.AddEvent();
  EXPECT_EQ(t.inflight_events(), 6u);
  t.Ack(a);
  t.Fail(b);
  EXPECT_EQ(t.inflight_events(), 4u);
  t.CommitTransaction(Lsn(20));
  for (int i = 0; i < 4; ++i) t.Ack(a);
  EXPECT_EQ(t.inflight_events(), 0u);
  EXPECT_EQ(t.confirmable(), Lsn(10));
}

TEST(AckTrackerTest, TransactionIdsStayUniqueAcrossConfirmedEntries) {
  // Ids must keep identifying the right transaction after earlier ones are
  // confirmed and dropped.
  AckTracker t(Lsn(1));
  std::set<TxnId> seen;
  std::vector<TxnId> pending;
  for (uint64_t i = 1; i <= 50; ++i) {
    TxnId id = CommittedTxn(t, 1, i * 10);
    EXPECT_TRUE(seen.insert(id).second);
    pending.push_back(id);
    if (i % 3 == 0) {  // ack the oldest two
      t.Ack(pending[0]);
      t.Ack(pending[1]);
      pending.erase(pending.begin(), pending.begin() + 2);
    }
  }
  // Newest first: nothing moves until the oldest is acked.
  Lsn before = t.confirmable();
  for (size_t i = pending.size() - 1; i > 0; --i) t.Ack(pending[i]);
  EXPECT_EQ(t.confirmable(), before);
  t.Ack(pending[0]);
  EXPECT_EQ(t.confirmable(), Lsn(500));
}

// A promotion: the slot on the new server stands behind where the old one
// was confirmed; once nothing is pending the tracker starts from there.
TEST(AckTrackerTest, RebaseMovesTheConfirmablePositionBackwardsToo) {
  AckTracker t(Lsn(1000));
  TxnId a = CommittedTxn(t, 1, 2000);
  t.Ack(a);
  t.ServerPosition(Lsn(2500));
  ASSERT_EQ(t.confirmable(), Lsn(2500));
  t.Rebase(Lsn(1500));
  EXPECT_EQ(t.confirmable(), Lsn(1500));
  EXPECT_EQ(t.pending_entries(), 0u);
  t.Rebase(Lsn(3000));
  EXPECT_EQ(t.confirmable(), Lsn(3000));
  t.Rebase(Lsn(1200));
  EXPECT_EQ(t.confirmable(), Lsn(1200));
}

TEST(AckTrackerTest, AfterARebaseTheNewServersPositionsConfirmFromThere) {
  AckTracker t(Lsn(1000));
  t.ServerPosition(Lsn(5000));
  t.Rebase(Lsn(2000));
  // Below the position on the old server, above the rebased one.
  TxnId a = CommittedTxn(t, 1, 2600);
  EXPECT_EQ(t.confirmable(), Lsn(2000));
  t.Ack(a);
  EXPECT_EQ(t.confirmable(), Lsn(2600));
  t.ServerPosition(Lsn(3000));
  EXPECT_EQ(t.confirmable(), Lsn(3000));
  // Never backwards again without a rebase.
  t.ServerPosition(Lsn(2100));
  t.SlotPosition(Lsn(2100));
  EXPECT_EQ(t.confirmable(), Lsn(3000));
  TxnId b = CommittedTxn(t, 2, 3500);
  t.Ack(b);
  EXPECT_EQ(t.confirmable(), Lsn(3000));
  t.Ack(b);
  EXPECT_EQ(t.confirmable(), Lsn(3500));
  EXPECT_EQ(t.inflight_events(), 0u);
}

TEST(AckTrackerTest, RebaseAfterAnAbandonedTransactionWhoseEventsWereAcked) {
  AckTracker t(Lsn(1000));
  TxnId a = t.BeginTransaction();
  t.AddEvent();
  t.AbandonTransaction();
  t.Ack(a);
  ASSERT_EQ(t.inflight_events(), 0u);
  t.Rebase(Lsn(800));
  EXPECT_EQ(t.confirmable(), Lsn(800));
  EXPECT_EQ(t.pending_entries(), 0u);
  TxnId b = CommittedTxn(t, 1, 900);
  t.Ack(b);
  EXPECT_EQ(t.confirmable(), Lsn(900));
}

// ---------------------------------------------------------------------------
// Randomized: the tracker against a model recomputed from the whole history.

struct ModelTxn {
  TxnId id = 0;
  uint64_t added = 0;
  uint64_t acked = 0;
  uint64_t failed = 0;
  bool closed = false;
  bool abandoned = false;
  Lsn end;
};

struct ModelEntry {
  bool is_position = false;
  Lsn position;    // if is_position
  size_t txn = 0;  // index into txns otherwise
};

class Model {
 public:
  explicit Model(Lsn start) : start_(start) {}

  std::vector<ModelTxn> txns;
  std::vector<ModelEntry> history;  // transactions and server positions, in arrival order

  struct Expected {
    Lsn confirmable;
    size_t unfinished_txns = 0;  // transactions from the first one not done onwards
    bool failed = false;
  };

  // One pass over the whole history. Confirmable is the end of the longest
  // prefix whose transactions are closed, with every event acknowledged and
  // none failed (abandoned ones move nothing), never below the start.
  Expected Evaluate() const {
    Expected x;
    x.confirmable = start_;
    bool in_prefix = true;
    for (const ModelEntry& e : history) {
      if (e.is_position) {
        if (in_prefix) x.confirmable = std::max(x.confirmable, e.position);
        continue;
      }
      const ModelTxn& t = txns[e.txn];
      x.failed = x.failed || t.failed > 0;
      if (in_prefix && (!t.closed || t.failed > 0 || t.acked < t.added)) in_prefix = false;
      if (!in_prefix) {
        ++x.unfinished_txns;
      } else if (!t.abandoned) {
        x.confirmable = std::max(x.confirmable, t.end);
      }
    }
    return x;
  }

 private:
  Lsn start_;
};

struct RandomRunOptions {
  uint32_t seed = 1;
  int operations = 3000;
  bool with_failures = false;
};

// What a run exercised, so a generator change cannot quietly test nothing.
struct RandomRunStats {
  int advances = 0;  // steps after which confirmable moved
  size_t max_inflight = 0;
  bool failed = false;
};

RandomRunStats RandomRun(const RandomRunOptions& options) {
  RandomRunStats stats;
  SCOPED_TRACE(::testing::Message() << "seed " << options.seed);
  std::mt19937_64 rng(options.seed);
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  auto below = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };

  // Vary the mix per seed. Acks keep roughly `window` events in flight, so
  // some seeds ack almost at once and others lag by many transactions; now
  // and then the broker stalls for a while and then catches up.
  const double window = 1 + static_cast<double>(below(64));
  const int max_events = 1 + static_cast<int>(below(8));
  int stalled_steps = 0;

  const Lsn start(1000 + below(1000));
  AckTracker tracker(start);
  Model model(start);
  uint64_t wal = start.value();  // the server's WAL end so far
  std::vector<size_t> inflight;  // one model txn index per unresolved event
  std::optional<size_t> open;    // model index of the open transaction
  Lsn last_confirmable = tracker.confirmable();
  std::set<TxnId> ids;

  auto check = [&](int step) {
    SCOPED_TRACE(::testing::Message() << "step " << step);
    const Model::Expected expected = model.Evaluate();
    ASSERT_EQ(tracker.confirmable(), expected.confirmable);
    ASSERT_GE(tracker.confirmable(), last_confirmable);
    if (tracker.confirmable() > last_confirmable) ++stats.advances;
    last_confirmable = tracker.confirmable();
    stats.max_inflight = std::max(stats.max_inflight, inflight.size());
    stats.failed = expected.failed;
    ASSERT_EQ(tracker.inflight_events(), inflight.size());
    ASSERT_EQ(tracker.has_open_transaction(), open.has_value());
    ASSERT_EQ(tracker.failed(), expected.failed);
    // At most one entry per unfinished transaction (empty transactions and
    // positions merge into the entry before them), and some entry while any
    // transaction is unfinished.
    const size_t unfinished = expected.unfinished_txns;
    ASSERT_LE(tracker.pending_entries(), unfinished);
    ASSERT_EQ(tracker.pending_entries() == 0, unfinished == 0);
  };

  for (int step = 0; step < options.operations; ++step) {
    if (stalled_steps > 0) {
      --stalled_steps;
    } else if (chance(0.002)) {
      stalled_steps = static_cast<int>(below(300));
    }
    const double in_flight = static_cast<double>(inflight.size());
    if (stalled_steps == 0 && !inflight.empty() && chance(in_flight / (in_flight + window))) {
      size_t k = below(inflight.size());
      size_t txn = inflight[k];
      inflight[k] = inflight.back();
      inflight.pop_back();
      if (options.with_failures && chance(0.002)) {
        tracker.Fail(model.txns[txn].id);
        ++model.txns[txn].failed;
      } else {
        tracker.Ack(model.txns[txn].id);
        ++model.txns[txn].acked;
      }
    } else if (open) {
      ModelTxn& t = model.txns[*open];
      double r = std::uniform_real_distribution<double>(0, 1)(rng);
      if (r < 0.6 && t.added < static_cast<uint64_t>(max_events)) {
        tracker.AddEvent();
        ++t.added;
        inflight.push_back(*open);
      } else if (r < 0.98) {
        wal += 1 + below(100);
        t.end = Lsn(wal);
        t.closed = true;
        tracker.CommitTransaction(t.end);
        open.reset();
      } else {
        t.closed = true;
        t.abandoned = true;
        tracker.AbandonTransaction();
        open.reset();
      }
    } else if (chance(0.3)) {
      // A keepalive. Usually at or past the last commit; sometimes lower
      // than an earlier position, which must not move anything back.
      Lsn pos = chance(0.1) ? Lsn(wal - below(300)) : Lsn(wal += below(50));
      tracker.ServerPosition(pos);
      model.history.push_back(ModelEntry{true, pos, 0});
    } else {
      TxnId id = tracker.BeginTransaction();
      if (!ids.insert(id).second) {
        ADD_FAILURE() << "TxnId " << id << " handed out twice";
        return stats;
      }
      model.txns.emplace_back().id = id;
      open = model.txns.size() - 1;
      model.history.push_back(ModelEntry{false, Lsn(), *open});
    }
    check(step);
    if (::testing::Test::HasFatalFailure()) return stats;
  }

  // Drain: commit what is open, deliver everything still in flight.
  if (open) {
    wal += 1;
    model.txns[*open].end = Lsn(wal);
    model.txns[*open].closed = true;
    tracker.CommitTransaction(Lsn(wal));
    open.reset();
  }
  std::shuffle(inflight.begin(), inflight.end(), rng);
  while (!inflight.empty()) {
    size_t txn = inflight.back();
    inflight.pop_back();
    tracker.Ack(model.txns[txn].id);
    ++model.txns[txn].acked;
    check(options.operations);
    if (::testing::Test::HasFatalFailure()) return stats;
  }
  EXPECT_EQ(tracker.inflight_events(), 0u);
  if (!model.Evaluate().failed) {
    EXPECT_EQ(tracker.pending_entries(), 0u);
    // Everything is done: the highest commit end or position.
    EXPECT_EQ(tracker.confirmable(), Lsn(wal));
  }
  return stats;
}

TEST(AckTrackerRandomTest, MatchesModelWithRandomAckOrder) {
  for (uint32_t seed = 1; seed <= 30; ++seed) {
    RandomRunStats stats = RandomRun({.seed = seed, .operations = 3000, .with_failures = false});
    if (HasFatalFailure()) return;
    EXPECT_GT(stats.advances, 10) << "seed " << seed;
    EXPECT_GT(stats.max_inflight, 5u) << "seed " << seed;
  }
}

TEST(AckTrackerRandomTest, MatchesModelWithFailures) {
  int runs_with_failure = 0;
  for (uint32_t seed = 101; seed <= 130; ++seed) {
    RandomRunStats stats = RandomRun({.seed = seed, .operations = 3000, .with_failures = true});
    if (HasFatalFailure()) return;
    runs_with_failure += stats.failed ? 1 : 0;
  }
  EXPECT_GE(runs_with_failure, 15);
}

}  // namespace
}  // namespace pgoutbox
