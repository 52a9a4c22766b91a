#include "tools/faults/fault_workload.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace pgoutbox::faults {
namespace {

std::vector<const PlannedRow*> AllRows(const TxPlan& p) {
  std::vector<const PlannedRow*> rows;
  for (const auto* section : {&p.before, &p.in_savepoint, &p.after}) {
    for (const PlannedRow& r : *section) rows.push_back(&r);
  }
  return rows;
}

// `n` transactions of worker 1 from `seed`.
std::vector<TxPlan> Plans(const WorkloadMix& mix, int n, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  uint64_t counter = 0;
  std::vector<TxPlan> plans;
  for (int i = 0; i < n; ++i) plans.push_back(PlanTransaction(&rng, mix, 1, &counter));
  return plans;
}

TEST(FaultWorkloadTest, DrawsEachEventsSourceFromTheMix) {
  WorkloadMix mix;
  mix.second_table_percent = 30;
  mix.message_percent = 30;
  uint64_t by_source[kEventSources] = {};
  uint64_t events = 0;
  for (const TxPlan& p : Plans(mix, 3000)) {
    for (const PlannedRow* r : AllRows(p)) {
      ++by_source[static_cast<int>(r->source)];
      ++events;
    }
  }
  ASSERT_GT(events, 5000u);
  auto share = [&](EventSource s) {
    return 100.0 * static_cast<double>(by_source[static_cast<int>(s)]) /
           static_cast<double>(events);
  };
  EXPECT_NEAR(share(EventSource::kTable), 40, 4);
  EXPECT_NEAR(share(EventSource::kSecondTable), 30, 4);
  EXPECT_NEAR(share(EventSource::kMessage), 30, 4);
  EXPECT_EQ(by_source[static_cast<int>(EventSource::kForeignMessage)], 0u);
}

TEST(FaultWorkloadTest, WithoutSharesEveryEventGoesToTheFirstTable) {
  WorkloadMix mix;
  mix.second_table_percent = 0;
  mix.message_percent = 0;
  mix.foreign_message_percent = 0;
  for (const TxPlan& p : Plans(mix, 500)) {
    EXPECT_TRUE(p.foreign_messages.empty());
    for (const PlannedRow* r : AllRows(p)) EXPECT_EQ(r->source, EventSource::kTable);
  }
}

TEST(FaultWorkloadTest, IdsSaySourceAndFateAndAreUnique) {
  WorkloadMix mix;
  mix.foreign_message_percent = 100;
  std::set<std::string> ids;
  for (const TxPlan& p : Plans(mix, 1000)) {
    ASSERT_EQ(p.foreign_messages.size(), 1u);
    EXPECT_TRUE(ids.insert(p.foreign_messages[0]).second);
    EXPECT_EQ(SourceOfId(p.foreign_messages[0]), EventSource::kForeignMessage);
    for (const PlannedRow* r : AllRows(p)) {
      EXPECT_TRUE(ids.insert(r->id).second) << r->id;
      EXPECT_EQ(SourceOfId(r->id), r->source) << r->id;
      EXPECT_EQ(FateOfId(r->id), r->fate) << r->id;
      EXPECT_EQ(r->id.substr(0, 8), "00000001");
    }
  }
}

TEST(FaultWorkloadTest, FatesFollowTheTransactionKind) {
  WorkloadMix mix;
  for (const TxPlan& p : Plans(mix, 2000)) {
    for (const PlannedRow& r : p.before) {
      EXPECT_EQ(r.fate, p.commit ? IdFate::kCommit : IdFate::kRolledBackTransaction);
    }
    for (const PlannedRow& r : p.in_savepoint) {
      EXPECT_EQ(r.fate, p.kind == TxPlan::Kind::kSavepointReleased ? IdFate::kCommit
                                                                   : IdFate::kRolledBackSavepoint);
    }
    for (const PlannedRow& r : p.after) EXPECT_EQ(r.fate, IdFate::kCommit);
    EXPECT_EQ(p.commit, p.kind != TxPlan::Kind::kRolledBack);
  }
}

TEST(FaultWorkloadTest, EventsIfCommittedAddUpOverSources) {
  WorkloadMix mix;
  for (const TxPlan& p : Plans(mix, 2000)) {
    size_t sum = 0;
    for (int s = 0; s < kEventSources; ++s)
      sum += p.events_if_committed(static_cast<EventSource>(s));
    EXPECT_EQ(sum, p.events_if_committed());
    size_t meant = 0;
    for (const PlannedRow* r : AllRows(p)) meant += r->fate == IdFate::kCommit ? 1 : 0;
    EXPECT_EQ(p.events_if_committed(), meant) << KindName(p.kind);
  }
}

TEST(FaultWorkloadTest, SectionsAreSortedByKeyAndKeysStayInRange) {
  WorkloadMix mix;
  mix.keys = 5;
  for (const TxPlan& p : Plans(mix, 1000)) {
    for (const auto* section : {&p.before, &p.in_savepoint, &p.after}) {
      EXPECT_TRUE(
          std::is_sorted(section->begin(), section->end(),
                         [](const PlannedRow& a, const PlannedRow& b) { return a.key < b.key; }));
      for (const PlannedRow& r : *section) {
        const int n = std::stoi(r.key.substr(r.key.find('-') + 1));
        EXPECT_TRUE(n >= 1 && n <= 5) << r.key;
        EXPECT_EQ(r.key.rfind(r.aggregate_type + "-", 0), 0u) << r.key;
      }
    }
  }
}

TEST(FaultWorkloadTest, TheSameSeedPlansTheSameTransactions) {
  WorkloadMix mix;
  auto ids = [&](uint64_t seed) {
    std::vector<std::string> out;
    for (const TxPlan& p : Plans(mix, 200, seed)) {
      for (const PlannedRow* r : AllRows(p)) out.push_back(r->id + r->key);
    }
    return out;
  };
  EXPECT_EQ(ids(7), ids(7));
  EXPECT_NE(ids(7), ids(8));
}

}  // namespace
}  // namespace pgoutbox::faults
