#include "tools/faults/fault_check.h"

#include <gtest/gtest.h>

namespace pgoutbox::faults {
namespace {

// Ids in the workload's format: the fourth group says what was meant.
std::string Id(int n, const char* fate = "c0c0") {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000001-0000-4000-%s-%012x", fate, n);
  return buf;
}

DeliveredRecord Rec(int64_t offset, const std::string& key, const std::string& id, int64_t seq,
                    int64_t arrival_ms = 0, int32_t partition = 0) {
  return DeliveredRecord{arrival_ms, "t", partition, offset, key, id, seq};
}

TEST(FaultCheckTest, ReadsTheFateFromTheId) {
  EXPECT_EQ(FateOfId(Id(1)), IdFate::kCommit);
  EXPECT_EQ(FateOfId(Id(1, "dead")), IdFate::kRolledBackTransaction);
  EXPECT_EQ(FateOfId(Id(1, "deaf")), IdFate::kRolledBackSavepoint);
  EXPECT_EQ(FateOfId("a3bb189e-8bf9-3888-9912-ace4e6543002"), IdFate::kUnknown);
  EXPECT_EQ(FateOfId("not an id"), IdFate::kUnknown);
}

TEST(FaultCheckTest, EverythingOnceInOrderIsClean) {
  std::vector<CommittedEvent> committed = {{Id(1), "a", 1}, {Id(2), "a", 2}, {Id(3), "b", 1}};
  std::vector<DeliveredRecord> delivered = {Rec(0, "a", Id(1), 1), Rec(1, "b", Id(3), 1),
                                            Rec(2, "a", Id(2), 2)};
  CheckReport r = Check(committed, delivered, {});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.committed, 3u);
  EXPECT_EQ(r.committed_keys, 2u);
  EXPECT_EQ(r.records, 3u);
  EXPECT_EQ(r.distinct_delivered, 3u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.duplicates, 0u);
  EXPECT_TRUE(r.examples.empty());
}

TEST(FaultCheckTest, ReportsALostEvent) {
  std::vector<CommittedEvent> committed = {{Id(1), "a", 1}, {Id(2), "a", 2}, {Id(3), "a", 3}};
  std::vector<DeliveredRecord> delivered = {Rec(0, "a", Id(1), 1), Rec(1, "a", Id(3), 3)};
  CheckReport r = Check(committed, delivered, {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.lost, 1u);
  ASSERT_FALSE(r.examples.empty());
  EXPECT_NE(r.examples[0].find(Id(2)), std::string::npos) << r.examples[0];
  EXPECT_EQ(r.order_violations, 0u);  // a gap is a loss, not a reordering
}

TEST(FaultCheckTest, ReportsARolledBackEventPublished) {
  std::vector<CommittedEvent> committed = {{Id(1), "a", 1}};
  std::vector<DeliveredRecord> delivered = {Rec(0, "a", Id(1), 1), Rec(1, "a", Id(2, "dead"), 2),
                                            Rec(2, "a", Id(3, "deaf"), 2),
                                            Rec(3, "a", Id(3, "deaf"), 2)};
  CheckReport r = Check(committed, delivered, {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.rolled_back_published, 2u);  // once per id, not per copy
  EXPECT_EQ(r.rolled_back_savepoint_published, 1u);
  EXPECT_EQ(r.uncommitted_published, 2u);
  EXPECT_EQ(r.lost, 0u);
}

TEST(FaultCheckTest, ReportsAnUnmarkedEventThatIsNotInTheTable) {
  // A commit-intent row whose transaction did not commit (e.g. the server
  // crashed before COMMIT) must not be published either.
  std::vector<CommittedEvent> committed = {{Id(1), "a", 1}};
  std::vector<DeliveredRecord> delivered = {Rec(0, "a", Id(1), 1), Rec(1, "a", Id(9), 2)};
  CheckReport r = Check(committed, delivered, {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.uncommitted_published, 1u);
  EXPECT_EQ(r.rolled_back_published, 0u);
}

TEST(FaultCheckTest, ReportsAnOrderViolation) {
  std::vector<CommittedEvent> committed = {{Id(1), "a", 1}, {Id(2), "a", 2}, {Id(3), "a", 3}};
  std::vector<DeliveredRecord> delivered = {Rec(0, "a", Id(1), 1), Rec(1, "a", Id(3), 3),
                                            Rec(2, "a", Id(2), 2)};
  CheckReport r = Check(committed, delivered, {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.order_violations, 1u);
  EXPECT_EQ(r.lost, 0u);
}

TEST(FaultCheckTest, TheOrderIsTheOffsetOrderNotTheArrivalOrder) {
  // Records listed out of offset order (as if read in a different order)
  // are judged by their offsets.
  std::vector<CommittedEvent> committed = {{Id(1), "a", 1}, {Id(2), "a", 2}};
  std::vector<DeliveredRecord> delivered = {Rec(1, "a", Id(2), 2, 5), Rec(0, "a", Id(1), 1, 9)};
  EXPECT_TRUE(Check(committed, delivered, {}).ok());
}

TEST(FaultCheckTest, AReplayedTailIsDuplicatesNotViolations) {
  // 1 2 3, then a restart sends 2 3 again, then 4.
  std::vector<CommittedEvent> committed = {
      {Id(1), "a", 1}, {Id(2), "a", 2}, {Id(3), "a", 3}, {Id(4), "a", 4}};
  std::vector<DeliveredRecord> delivered = {Rec(0, "a", Id(1), 1, 100), Rec(1, "a", Id(2), 2, 110),
                                            Rec(2, "a", Id(3), 3, 120), Rec(3, "a", Id(2), 2, 300),
                                            Rec(4, "a", Id(3), 3, 310), Rec(5, "a", Id(4), 4, 320)};
  CheckReport r = Check(committed, delivered, {FaultEvent{200, "kill"}});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.duplicates, 2u);
  ASSERT_EQ(r.duplicates_by_fault.size(), 2u);
  EXPECT_EQ(r.duplicates_by_fault[0].records, 0u);  // before the first fault
  EXPECT_EQ(r.duplicates_by_fault[1].fault.what, "kill");
  EXPECT_EQ(r.duplicates_by_fault[1].records, 2u);
}

TEST(FaultCheckTest, DuplicatesGoToTheLatestFaultBeforeTheirArrival) {
  std::vector<CommittedEvent> committed = {{Id(1), "a", 1}, {Id(2), "b", 1}};
  std::vector<DeliveredRecord> delivered = {
      Rec(0, "a", Id(1), 1, 10),    Rec(1, "a", Id(1), 1, 150),    Rec(2, "a", Id(1), 1, 250),
      Rec(0, "b", Id(2), 1, 10, 1), Rec(1, "b", Id(2), 1, 260, 1), Rec(2, "b", Id(2), 1, 50, 1)};
  CheckReport r =
      Check(committed, delivered, {FaultEvent{200, "pg-restart-fast"}, FaultEvent{100, "kill"}});
  EXPECT_EQ(r.duplicates, 4u);
  ASSERT_EQ(r.duplicates_by_fault.size(), 3u);
  EXPECT_EQ(r.duplicates_by_fault[0].records, 1u);  // arrived at 50
  EXPECT_EQ(r.duplicates_by_fault[1].fault.what, "kill");
  EXPECT_EQ(r.duplicates_by_fault[1].records, 1u);
  EXPECT_EQ(r.duplicates_by_fault[2].fault.what, "pg-restart-fast");
  EXPECT_EQ(r.duplicates_by_fault[2].records, 2u);
}

TEST(FaultCheckTest, TheSameOffsetReadTwiceIsNotADuplicate) {
  std::vector<CommittedEvent> committed = {{Id(1), "a", 1}};
  std::vector<DeliveredRecord> delivered = {Rec(0, "a", Id(1), 1, 1), Rec(0, "a", Id(1), 1, 2)};
  CheckReport r = Check(committed, delivered, {});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.duplicates, 0u);
  EXPECT_EQ(r.consumer_redeliveries, 1u);
  EXPECT_EQ(r.records, 1u);
}

TEST(FaultCheckTest, OffsetsNeverReadMakeTheRunUntrustworthy) {
  std::vector<CommittedEvent> committed = {{Id(1), "a", 1}, {Id(2), "a", 2}};
  std::vector<DeliveredRecord> delivered = {Rec(0, "a", Id(1), 1), Rec(3, "a", Id(2), 2)};
  CheckReport r = Check(committed, delivered, {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.offset_gaps, 2u);
}

TEST(FaultCheckTest, AKeyOnTwoPartitionsAndAMismatchedRecordAreReported) {
  std::vector<CommittedEvent> committed = {{Id(1), "a", 1}, {Id(2), "a", 2}};
  std::vector<DeliveredRecord> delivered = {Rec(0, "a", Id(1), 1, 0, 0),
                                            Rec(0, "x", Id(2), 2, 0, 1)};
  CheckReport r = Check(committed, delivered, {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.mismatched, 1u);
  EXPECT_EQ(r.keys_on_several_partitions, 1u);
}

TEST(FaultCheckTest, ChecksItsOwnGroundTruth) {
  std::vector<CommittedEvent> committed = {
      {Id(1), "a", 1}, {Id(2), "a", 3}, {Id(3, "dead"), "b", 1}};
  std::vector<DeliveredRecord> delivered = {Rec(0, "a", Id(1), 1), Rec(1, "a", Id(2), 3),
                                            Rec(0, "b", Id(3, "dead"), 1, 0, 1)};
  CheckReport r = Check(committed, delivered, {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.committed_seq_gaps, 1u);
  EXPECT_EQ(r.committed_marked_rolled_back, 1u);
}

TEST(FaultCheckTest, ParsesTheFiles) {
  auto committed = ParseCommitted(Id(1) + "\torder-7\t3\n\n" + Id(2) + "\torder-8\t1\n");
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  ASSERT_EQ(committed->size(), 2u);
  EXPECT_EQ((*committed)[0].key, "order-7");
  EXPECT_EQ((*committed)[0].seq, 3);

  auto records =
      ParseRecords("1764000000123\toutbox.event.order\t5\t42\torder-7\t" + Id(1) + "\t3\n");
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].arrival_ms, 1764000000123);
  EXPECT_EQ((*records)[0].partition, 5);
  EXPECT_EQ((*records)[0].offset, 42);
  EXPECT_EQ((*records)[0].id, Id(1));

  auto faults = ParseFaults("1764000000000\tkill\tpid=42\n");
  ASSERT_TRUE(faults.ok());
  ASSERT_EQ(faults->size(), 1u);
  EXPECT_EQ((*faults)[0].what, "kill");

  EXPECT_FALSE(ParseCommitted(Id(1) + "\torder-7\tthree\n").ok());
  EXPECT_FALSE(ParseRecords("1\tt\t0\n").ok());
  EXPECT_FALSE(ParseFaults("soon\tkill\n").ok());
}

}  // namespace
}  // namespace pgoutbox::faults
