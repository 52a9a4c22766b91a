#include "app/startup.h"

#include <gtest/gtest.h>

namespace pgoutbox::app {
namespace {

TEST(CheckNamesTest, ParsesTheTableAndKeepsTheNames) {
  auto names = CheckNames({"Shop.\"Out Box\""}, "pub_1", "slot_1");
  ASSERT_TRUE(names.ok()) << names.status().message();
  ASSERT_EQ(names->tables.ExactTables().size(), 1u);
  EXPECT_EQ(names->tables.ExactTables()[0].schema, "shop");
  EXPECT_EQ(names->tables.ExactTables()[0].name, "Out Box");
  EXPECT_EQ(names->publication, "pub_1");
  EXPECT_EQ(names->slot, "slot_1");
}

TEST(CheckNamesTest, ATableWithoutSchemaIsInPublic) {
  auto names = CheckNames({"events"}, "pgoutbox", "pgoutbox");
  ASSERT_TRUE(names.ok()) << names.status().message();
  EXPECT_EQ(names->tables.ToString(), "public.events");
}

TEST(CheckNamesTest, TakesSeveralEntriesAndPatterns) {
  auto names = CheckNames({"tenant_*.outbox", "public.outbox"}, "pgoutbox", "pgoutbox");
  ASSERT_TRUE(names.ok()) << names.status().message();
  EXPECT_TRUE(names->tables.HasWildcards());
  EXPECT_TRUE(names->tables.Matches(pg::TableName{"tenant_a", "outbox"}));
  EXPECT_TRUE(names->tables.Matches(pg::TableName{"public", "outbox"}));
  EXPECT_FALSE(names->tables.Matches(pg::TableName{"tenant_a", "orders"}));
}

TEST(CheckNamesTest, RefusesWhatPostgresWouldRefuseAsAUsageError) {
  for (auto [table, publication, slot] :
       {std::tuple{"a.b.c", "pgoutbox", "pgoutbox"}, std::tuple{"outbox", "", "pgoutbox"},
        std::tuple{"outbox", "pgoutbox", "Upper-Case"}, std::tuple{"outbox", "pgoutbox", ""}}) {
    auto names = CheckNames({table}, publication, slot);
    ASSERT_FALSE(names.ok()) << table << " " << publication << " " << slot;
    EXPECT_EQ(names.status().code(), Status::Code::kInvalidArgument) << names.status().message();
  }
}

// Status updates must reach the server more often than it times a client
// out; a server without a timeout (0) takes any interval.
TEST(CheckFeedbackIntervalTest, RefusesAnIntervalNotShorterThanWalSenderTimeout) {
  using std::chrono::milliseconds;
  EXPECT_TRUE(CheckFeedbackInterval(milliseconds(1000), milliseconds(60000)).ok());
  EXPECT_TRUE(CheckFeedbackInterval(milliseconds(4999), milliseconds(5000)).ok());
  EXPECT_TRUE(CheckFeedbackInterval(milliseconds(3600000), milliseconds(0)).ok());
  const Status st = CheckFeedbackInterval(milliseconds(120000), milliseconds(60000));
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("--feedback-interval 2m is not shorter than the server's "
                              "wal_sender_timeout 1m"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("choose at most 30s"), std::string::npos) << st.message();
  EXPECT_FALSE(CheckFeedbackInterval(milliseconds(5000), milliseconds(5000)).ok());
}

}  // namespace
}  // namespace pgoutbox::app
