// The pure conninfo helpers of pg/connection.h: AddPassword.
#include "pg/connection.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <map>
#include <string>

namespace pgoutbox::pg {
namespace {

// What libpq itself reads from a conninfo: keyword -> value of the options
// it sets.
std::map<std::string, std::string> LibpqReads(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  std::map<std::string, std::string> read;
  if (options == nullptr) return read;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) read[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  return read;
}

TEST(AddPasswordTest, LibpqReadsThePasswordInEveryForm) {
  // Quotes, backslashes, spaces, '#', '&', '%', '=' and non-ASCII survive.
  const std::string password = "p a'ss\\w#o&r%d=\xC3\xA9";
  struct Case {
    std::string conninfo;
    std::map<std::string, std::string> others;  // what must still be read
  };
  const Case cases[] = {
      {"host=db1 dbname=shop user=pgoutbox", {{"host", "db1"}, {"user", "pgoutbox"}}},
      {"host='db 1' sslmode=verify-full", {{"host", "db 1"}, {"sslmode", "verify-full"}}},
      {"postgresql://pgoutbox@db1:5433/shop", {{"host", "db1"}, {"port", "5433"}}},
      {"postgres://pgoutbox@db1/shop?sslmode=require",
       {{"dbname", "shop"}, {"sslmode", "require"}}},
      {"shop", {{"dbname", "shop"}}},  // a bare database name
  };
  for (const Case& c : cases) {
    auto with = AddPassword(c.conninfo, password);
    ASSERT_TRUE(with.ok()) << c.conninfo << ": " << with.status().ToString();
    auto read = LibpqReads(*with);
    EXPECT_EQ(read["password"], password) << *with;
    for (const auto& [keyword, value] : c.others) {
      EXPECT_EQ(read[keyword], value) << keyword << " in " << *with;
    }
    EXPECT_EQ(RedactConninfo(*with).find("p a"), std::string::npos) << RedactConninfo(*with);
  }
}

TEST(AddPasswordTest, RefusesASecondPasswordAndWhatLibpqCannotRead) {
  for (const char* conninfo : {"host=db1 password=inline", "postgresql://u:inline@db1/shop",
                               "postgresql://u@db1/shop?password=inline"}) {
    auto with = AddPassword(conninfo, "fromfile");
    ASSERT_FALSE(with.ok()) << conninfo;
    EXPECT_EQ(with.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(with.status().message().find("already holds a password"), std::string::npos)
        << with.status().message();
    EXPECT_EQ(with.status().message().find("inline"), std::string::npos);
  }
  auto bad = AddPassword("host=db1 password='s3cr3t value", "fromfile");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message().find("s3cr3t"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace pgoutbox::pg
