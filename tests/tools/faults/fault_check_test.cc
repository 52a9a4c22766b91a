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
  return DeliveredRecord{arrival_ms, "t", partition, offset, key, id, seq, std::nullopt};
}

// An id of `source`, and the committed event with it.
std::string SourceId(EventSource source, int n, IdFate fate = IdFate::kCommit) {
  return EventId(1, static_cast<uint64_t>(n), source, fate);
}
CommittedEvent Committed(EventSource source, int n, const std::string& key, int64_t seq) {
  return CommittedEvent{SourceId(source, n), key, seq, source};
}
// A record of the committed event `e`, with its table header as pgoutbox sets it.
DeliveredRecord RecOf(int64_t offset, const CommittedEvent& e) {
  DeliveredRecord d = Rec(offset, e.key, e.id, e.seq);
  d.table = IsTableSource(e.source) ? SourceLabel(e.source) : "";
  return d;
}

const SourceFigures& Of(const CheckReport& r, EventSource source) {
  return r.by_source[static_cast<size_t>(source)];
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

TEST(FaultCheckTest, CountsEverySource) {
  const CommittedEvent a1 = Committed(EventSource::kTable, 1, "k", 1);
  const CommittedEvent b2 = Committed(EventSource::kSecondTable, 2, "k", 2);
  const CommittedEvent m3 = Committed(EventSource::kMessage, 3, "k", 3);
  const CommittedEvent m4 = Committed(EventSource::kMessage, 4, "j", 1);
  std::vector<DeliveredRecord> delivered = {RecOf(0, a1), RecOf(1, b2), RecOf(2, m3), RecOf(3, b2)};
  CheckReport r = Check({a1, b2, m3, m4}, delivered, {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.committed, 4u);
  EXPECT_EQ(r.lost, 1u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(Of(r, EventSource::kTable).committed, 1u);
  EXPECT_EQ(Of(r, EventSource::kTable).delivered, 1u);
  EXPECT_EQ(Of(r, EventSource::kSecondTable).committed, 1u);
  EXPECT_EQ(Of(r, EventSource::kSecondTable).duplicates, 1u);
  EXPECT_EQ(Of(r, EventSource::kMessage).committed, 2u);
  EXPECT_EQ(Of(r, EventSource::kMessage).delivered, 1u);
  EXPECT_EQ(Of(r, EventSource::kMessage).lost, 1u);
  EXPECT_EQ(r.committed_seq_gaps, 0u);  // k: 1, 2, 3 over three sources
  EXPECT_EQ(r.order_violations, 0u);
}

TEST(FaultCheckTest, RolledBackMessagesAndForeignMessagesMustNotArrive) {
  const CommittedEvent m1 = Committed(EventSource::kMessage, 1, "k", 1);
  std::vector<DeliveredRecord> delivered = {
      RecOf(0, m1),
      Rec(1, "k", SourceId(EventSource::kMessage, 2, IdFate::kRolledBackTransaction), 2),
      Rec(2, "k", SourceId(EventSource::kMessage, 3, IdFate::kRolledBackSavepoint), 2),
      Rec(3, "k", SourceId(EventSource::kForeignMessage, 4), 0)};
  CheckReport r = Check({m1}, delivered, {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.rolled_back_published, 2u);
  EXPECT_EQ(r.rolled_back_savepoint_published, 1u);
  EXPECT_EQ(r.uncommitted_published, 3u);
  EXPECT_EQ(Of(r, EventSource::kMessage).rolled_back_published, 2u);
  EXPECT_EQ(Of(r, EventSource::kMessage).uncommitted_published, 2u);
  EXPECT_EQ(Of(r, EventSource::kForeignMessage).uncommitted_published, 1u);
}

TEST(FaultCheckTest, AMessageIsOrderedWithBothTables) {
  // k: table seq 1, message seq 2, second table seq 3; the message read
  // before the first table's event that committed before it.
  const CommittedEvent a1 = Committed(EventSource::kTable, 1, "k", 1);
  const CommittedEvent m2 = Committed(EventSource::kMessage, 2, "k", 2);
  const CommittedEvent b3 = Committed(EventSource::kSecondTable, 3, "k", 3);
  CheckReport r = Check({a1, m2, b3}, {RecOf(0, m2), RecOf(1, a1), RecOf(2, b3)}, {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.order_violations, 1u);
  EXPECT_EQ(Of(r, EventSource::kTable).order_violations, 1u);
  ASSERT_FALSE(r.examples.empty());
  EXPECT_NE(r.examples[0].find("after seq 2 (message)"), std::string::npos) << r.examples[0];

  // The second table's event read before the message that committed before it.
  r = Check({a1, m2, b3}, {RecOf(0, a1), RecOf(1, b3), RecOf(2, m2)}, {});
  EXPECT_EQ(r.order_violations, 1u);
  EXPECT_EQ(Of(r, EventSource::kMessage).order_violations, 1u);
}

TEST(FaultCheckTest, TheTwoTablesReorderedIsCountedButNoViolation) {
  const CommittedEvent a1 = Committed(EventSource::kTable, 1, "k", 1);
  const CommittedEvent b2 = Committed(EventSource::kSecondTable, 2, "k", 2);
  const CommittedEvent a3 = Committed(EventSource::kTable, 3, "k", 3);
  CheckReport r = Check({a1, b2, a3}, {RecOf(0, b2), RecOf(1, a1), RecOf(2, a3)}, {});
  EXPECT_TRUE(r.ok()) << (r.examples.empty() ? "" : r.examples[0]);
  EXPECT_EQ(r.order_violations, 0u);
  EXPECT_EQ(r.cross_table_reorders, 1u);
  EXPECT_EQ(Of(r, EventSource::kTable).cross_table_reorders, 1u);

  // Within one table it still is one.
  r = Check({a1, b2, a3}, {RecOf(0, a3), RecOf(1, b2), RecOf(2, a1)}, {});
  EXPECT_EQ(r.order_violations, 1u);
  EXPECT_EQ(Of(r, EventSource::kTable).order_violations, 1u);
}

TEST(FaultCheckTest, TheTableHeaderMustNameTheSource) {
  const CommittedEvent a1 = Committed(EventSource::kTable, 1, "k", 1);
  const CommittedEvent b2 = Committed(EventSource::kSecondTable, 2, "k", 2);
  const CommittedEvent m3 = Committed(EventSource::kMessage, 3, "k", 3);
  EXPECT_TRUE(Check({a1, b2, m3}, {RecOf(0, a1), RecOf(1, b2), RecOf(2, m3)}, {}).ok());

  DeliveredRecord wrong = RecOf(1, b2);
  wrong.table = "public.outbox";
  DeliveredRecord message_with_table = RecOf(2, m3);
  message_with_table.table = "public.outbox";
  CheckReport r = Check({a1, b2, m3}, {RecOf(0, a1), wrong, message_with_table}, {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.wrong_table_header, 2u);

  // A consumer that did not record the header: not checked.
  DeliveredRecord unknown = RecOf(1, b2);
  unknown.table.reset();
  EXPECT_TRUE(Check({a1, b2}, {RecOf(0, a1), unknown}, {}).ok());
}

TEST(FaultCheckTest, AnIdInAnotherSourceIsAGroundTruthError) {
  CommittedEvent moved = Committed(EventSource::kMessage, 1, "k", 1);
  moved.source = EventSource::kSecondTable;
  CheckReport r = Check({moved}, {RecOf(0, moved)}, {});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.committed_wrong_source, 1u);
}

TEST(FaultCheckTest, ParsesSourcesAndTableHeaders) {
  const std::string m = SourceId(EventSource::kMessage, 1);
  auto committed = ParseCommitted(m + "\torder-7\t3\tmessage\n" + Id(2) + "\torder-8\t1\n");
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  ASSERT_EQ(committed->size(), 2u);
  EXPECT_EQ((*committed)[0].source, EventSource::kMessage);
  EXPECT_EQ((*committed)[1].source, EventSource::kTable);
  EXPECT_FALSE(ParseCommitted(m + "\torder-7\t3\tpublic.elsewhere\n").ok());

  auto records = ParseRecords("1\tt\t0\t1\tk\t" + Id(1) + "\t3\tpublic.outbox_b\n2\tt\t0\t2\tk\t" +
                              m + "\t4\t-\n3\tt\t0\t3\tk\t" + Id(3) + "\t5\n");
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ((*records)[0].table, "public.outbox_b");
  EXPECT_EQ((*records)[1].table, "");
  EXPECT_FALSE((*records)[2].table.has_value());
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
