#include "pg/table_selection.h"

#include <gtest/gtest.h>

namespace pgoutbox::pg {
namespace {

TEST(GlobMatchTest, StarMatchesAnyRun) {
  EXPECT_TRUE(GlobMatch("tenant_*", "tenant_"));
  EXPECT_TRUE(GlobMatch("tenant_*", "tenant_42"));
  EXPECT_FALSE(GlobMatch("tenant_*", "tenant"));
  EXPECT_TRUE(GlobMatch("*_outbox", "shop_outbox"));
  EXPECT_TRUE(GlobMatch("a*b*c", "axxbyyc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "axxbyy"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_FALSE(GlobMatch("", "x"));
  EXPECT_TRUE(GlobMatch("a*a", "aaa"));
}

TEST(TableSelectionTest, ParsesExactNamesAndPatterns) {
  auto s = TableSelection::Parse({"outbox", "tenant_*.outbox", "App.Events", "public.outbox"});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->patterns().size(), 3u);  // the duplicate public.outbox is dropped
  EXPECT_EQ(s->ToString(), "public.outbox, tenant_*.outbox, app.events");
  EXPECT_TRUE(s->HasWildcards());
  ASSERT_EQ(s->ExactTables().size(), 2u);
  EXPECT_EQ(s->ExactTables()[1].ToString(), "app.events");
  EXPECT_TRUE(s->Matches({"tenant_a", "outbox"}));
  EXPECT_TRUE(s->Matches({"public", "outbox"}));
  EXPECT_FALSE(s->Matches({"tenant_a", "outbox2"}));
  EXPECT_FALSE(s->Matches({"other", "outbox"}));
}

TEST(TableSelectionTest, QuotedPartsKeepCaseAndTheirStars) {
  auto s = TableSelection::Parse({"\"My*Schema\".\"Out\"\"box\""});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_FALSE(s->HasWildcards());
  EXPECT_TRUE(s->Matches({"My*Schema", "Out\"box"}));
  EXPECT_FALSE(s->Matches({"MyXSchema", "Out\"box"}));
  EXPECT_EQ(s->ToString(), "\"My*Schema\".\"Out\"\"box\"");
}

TEST(TableSelectionTest, RefusesBadEntriesNamingThem) {
  for (const char* bad : {"", "a.", ".b", "a.b.c", "\"open", "a b"}) {
    auto s = TableSelection::Parse({bad});
    if (std::string(bad) == "a b") {
      // A space is a legal character of a folded name; PostgreSQL decides.
      EXPECT_TRUE(s.ok()) << bad;
      continue;
    }
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(s.status().message().find("--table"), std::string::npos) << s.status().ToString();
  }
  EXPECT_FALSE(TableSelection::Parse({}).ok());
}

}  // namespace
}  // namespace pgoutbox::pg
