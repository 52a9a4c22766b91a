#include "app/startup.h"

#include <gtest/gtest.h>

namespace pgoutbox::app {
namespace {

TEST(CheckNamesTest, ParsesTheTableAndKeepsTheNames) {
  auto names = CheckNames("Shop.\"Out Box\"", "pub_1", "slot_1");
  ASSERT_TRUE(names.ok()) << names.status().message();
  EXPECT_EQ(names->table.schema, "shop");
  EXPECT_EQ(names->table.name, "Out Box");
  EXPECT_EQ(names->publication, "pub_1");
  EXPECT_EQ(names->slot, "slot_1");
}

TEST(CheckNamesTest, ATableWithoutSchemaIsInPublic) {
  auto names = CheckNames("events", "pgoutbox", "pgoutbox");
  ASSERT_TRUE(names.ok()) << names.status().message();
  EXPECT_EQ(names->table.ToString(), "public.events");
}

TEST(CheckNamesTest, RefusesWhatPostgresWouldRefuseAsAUsageError) {
  for (auto [table, publication, slot] :
       {std::tuple{"a.b.c", "pgoutbox", "pgoutbox"}, std::tuple{"outbox", "", "pgoutbox"},
        std::tuple{"outbox", "pgoutbox", "Upper-Case"}, std::tuple{"outbox", "pgoutbox", ""}}) {
    auto names = CheckNames(table, publication, slot);
    ASSERT_FALSE(names.ok()) << table << " " << publication << " " << slot;
    EXPECT_EQ(names.status().code(), Status::Code::kInvalidArgument) << names.status().message();
  }
}

}  // namespace
}  // namespace pgoutbox::app
