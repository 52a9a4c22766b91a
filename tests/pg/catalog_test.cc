// The parts of pg/ that need no server; the catalog queries themselves run
// against a real PostgreSQL in tests/integration.
#include "pg/catalog.h"

#include <gtest/gtest.h>

namespace pgoutbox::pg {
namespace {

TEST(TableNameTest, Parses) {
  EXPECT_EQ(ParseTableName("outbox")->ToString(), "public.outbox");
  EXPECT_EQ(ParseTableName("app.Outbox")->ToString(), "app.outbox");  // folded like SQL
  auto quoted = ParseTableName("\"My Schema\".\"Out\"\"box\"");
  ASSERT_TRUE(quoted.ok());
  EXPECT_EQ(quoted->schema, "My Schema");
  EXPECT_EQ(quoted->name, "Out\"box");
}

TEST(TableNameTest, RejectsMalformed) {
  for (const char* bad : {"", ".outbox", "public.", "a.b.c", "\"unterminated", "\"x\"y"}) {
    EXPECT_FALSE(ParseTableName(bad).ok()) << bad;
  }
}

TEST(RedactTest, HidesPasswords) {
  EXPECT_EQ(RedactConninfo("host=a password=secret user=b"), "host=a password=*** user=b");
  EXPECT_EQ(RedactConninfo("password = 'se cret' host=a"), "password = *** host=a");
  EXPECT_EQ(RedactConninfo("postgresql://u:secret@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(RedactConninfo("postgresql://u@h/db"), "postgresql://u@h/db");
}

}  // namespace
}  // namespace pgoutbox::pg
