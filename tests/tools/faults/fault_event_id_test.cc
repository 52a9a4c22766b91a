#include "tools/faults/fault_event_id.h"

#include <gtest/gtest.h>

namespace pgoutbox::faults {
namespace {

TEST(FaultEventIdTest, AnIdSaysItsSourceAndFate) {
  for (int s = 0; s < kEventSources - 1; ++s) {
    const auto source = static_cast<EventSource>(s);
    for (IdFate fate :
         {IdFate::kCommit, IdFate::kRolledBackTransaction, IdFate::kRolledBackSavepoint}) {
      const std::string id = EventId(3, 0x1234, source, fate);
      EXPECT_EQ(id.size(), 36u) << id;
      EXPECT_EQ(SourceOfId(id), source) << id;
      EXPECT_EQ(FateOfId(id), fate) << id;
    }
  }
  EXPECT_EQ(EventId(3, 0x1234, EventSource::kMessage, IdFate::kRolledBackSavepoint),
            "00000003-000e-4000-deaf-000000001234");
}

TEST(FaultEventIdTest, TheFirstTablesCommittedIdsKeepTheirOldForm) {
  EXPECT_EQ(EventId(1, 7, EventSource::kTable, IdFate::kCommit),
            "00000001-0000-4000-c0c0-000000000007");
}

TEST(FaultEventIdTest, OtherIdsAreUnknown) {
  EXPECT_EQ(SourceOfId("a3bb189e-8bf9-3888-9912-ace4e6543002"), EventSource::kUnknown);
  EXPECT_EQ(FateOfId("a3bb189e-8bf9-3888-9912-ace4e6543002"), IdFate::kUnknown);
  EXPECT_EQ(SourceOfId("0/1A2B3C4"), EventSource::kUnknown);  // a message's LSN id
  EXPECT_EQ(FateOfId("not an id"), IdFate::kUnknown);
}

TEST(FaultEventIdTest, LabelsNameTheSources) {
  EXPECT_STREQ(SourceLabel(EventSource::kTable), "public.outbox");
  EXPECT_STREQ(SourceLabel(EventSource::kSecondTable), "public.outbox_b");
  EXPECT_STREQ(SourceLabel(EventSource::kMessage), "message");
  for (int s = 0; s < kEventSources; ++s) {
    const auto source = static_cast<EventSource>(s);
    EXPECT_EQ(SourceOfLabel(SourceLabel(source)), source);
  }
  EXPECT_FALSE(SourceOfLabel("public.outbox_c").has_value());
  EXPECT_TRUE(IsTableSource(EventSource::kSecondTable));
  EXPECT_FALSE(IsTableSource(EventSource::kMessage));
}

}  // namespace
}  // namespace pgoutbox::faults
