#include "common/types.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <unordered_set>

namespace pgoutbox {
// Readable gtest failure output; static so each test file may have its own.
[[maybe_unused]] static void PrintTo(const Lsn& lsn, std::ostream* os) { *os << lsn.ToString(); }
}  // namespace pgoutbox

namespace pgoutbox {
namespace {

TEST(LsnTest, FormatsLikePostgres) {
  EXPECT_EQ(Lsn().ToString(), "0/0");
  EXPECT_EQ(Lsn(0x16B3748).ToString(), "0/16B3748");
  EXPECT_EQ(Lsn(0x16B374D848).ToString(), "16/B374D848");
  EXPECT_EQ(Lsn(0x100000000).ToString(), "1/0");
  EXPECT_EQ(Lsn(UINT64_MAX).ToString(), "FFFFFFFF/FFFFFFFF");
}

TEST(LsnTest, Parses) {
  EXPECT_EQ(Lsn::Parse("0/0"), Lsn(0));
  EXPECT_EQ(Lsn::Parse("0/16B3748"), Lsn(0x16B3748));
  EXPECT_EQ(Lsn::Parse("16/B374D848"), Lsn(0x16B374D848));
  EXPECT_EQ(Lsn::Parse("16/b374d848"), Lsn(0x16B374D848));  // pg_lsn accepts lower case
  EXPECT_EQ(Lsn::Parse("00000016/0B374D84"), Lsn(0x160B374D84));
  EXPECT_EQ(Lsn::Parse("FFFFFFFF/FFFFFFFF"), Lsn(UINT64_MAX));
}

TEST(LsnTest, RejectsAnythingElse) {
  for (const char* bad : {
           "",      "/",     "0",           "0/",
           "/0",    "1//0",  "1/2/3",       "g/0",
           "0/g",   "0x1/0", "0/0x1",       "-1/0",
           "0/-1",  "+1/0",  " 1/0",        "1/0 ",
           "1 /0",  "1/ 0",  "123456789/0", "0/123456789",
           "1/0\n", "1,0",   "1:0",         "\xef\xbc\x91/0",
       }) {
    EXPECT_EQ(Lsn::Parse(bad), std::nullopt) << "'" << bad << "'";
  }
  EXPECT_EQ(Lsn::Parse(std::string_view("1/0\0", 4)), std::nullopt);
  EXPECT_EQ(Lsn::Parse(std::string_view("1\0/0", 4)), std::nullopt);
}

TEST(LsnTest, RoundTrips) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 10000; ++i) {
    // Mix magnitudes so both halves are sometimes zero or short.
    uint64_t v = rng() >> (rng() % 64);
    Lsn lsn(v);
    std::optional<Lsn> parsed = Lsn::Parse(lsn.ToString());
    ASSERT_TRUE(parsed.has_value()) << lsn.ToString();
    ASSERT_EQ(*parsed, lsn);
  }
  for (uint64_t v :
       {uint64_t{0}, uint64_t{1}, uint64_t{0xffffffff}, uint64_t{0x100000000}, UINT64_MAX}) {
    EXPECT_EQ(Lsn::Parse(Lsn(v).ToString()), Lsn(v));
  }
}

TEST(LsnTest, OrdersByPosition) {
  // The high half dominates: "1/0" is after "0/FFFFFFFF".
  EXPECT_LT(*Lsn::Parse("0/FFFFFFFF"), *Lsn::Parse("1/0"));
  EXPECT_LT(Lsn(1), Lsn(2));
  EXPECT_GT(Lsn(UINT64_MAX), Lsn(0));
  EXPECT_EQ(Lsn(7), Lsn(7));
  EXPECT_NE(Lsn(7), Lsn(8));
  EXPECT_LE(Lsn(7), Lsn(7));
  EXPECT_EQ(std::max(Lsn(3), Lsn(9)), Lsn(9));
}

TEST(LsnTest, Validity) {
  EXPECT_FALSE(Lsn().valid());
  EXPECT_EQ(Lsn(), Lsn(0));
  EXPECT_TRUE(Lsn(1).valid());
  static_assert(Lsn(5).value() == 5);
}

TEST(IdTypesTest, CompareAndHash) {
  EXPECT_EQ(RelationId(16389), RelationId(16389));
  EXPECT_LT(RelationId(1), RelationId(2));
  EXPECT_EQ(RelationId().value(), 0u);
  EXPECT_EQ(RelationId(0xffffffffu).value(), 0xffffffffu);
  EXPECT_LT(TransactionId(730), TransactionId(731));
  EXPECT_EQ(TransactionId(731).value(), 731u);

  std::unordered_set<RelationId> set = {RelationId(1), RelationId(2), RelationId(1)};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_EQ(set.count(RelationId(2)), 1u);
}

TEST(PgTimestampTest, EpochConversions) {
  // 2000-01-01 00:00:00 UTC is PostgreSQL's zero and Unix 946684800.
  EXPECT_EQ(PgTimestamp(0).UnixMicros(), 946684800LL * 1000000);
  EXPECT_EQ(PgTimestamp::FromUnixMicros(946684800LL * 1000000).micros(), 0);
  EXPECT_EQ(PgTimestamp::FromUnixMicros(0).micros(), -946684800LL * 1000000);

  // 2024-05-06 07:08:09.123456 UTC, as a PostgreSQL 15 binary timestamptz.
  PgTimestamp t(768294489123456);
  EXPECT_EQ(t.UnixMicros(), 1714979289123456LL);
  EXPECT_EQ(t.UnixMillis(), 1714979289123LL);
  EXPECT_EQ(PgTimestamp::FromUnixMicros(t.UnixMicros()), t);

  static_assert(PgTimestamp::FromUnixMicros(123).UnixMicros() == 123);
}

TEST(PgTimestampTest, RoundTripsAndOrder) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) {
    int64_t unix_micros = static_cast<int64_t>(rng() % (4'000'000'000'000'000ULL));
    EXPECT_EQ(PgTimestamp::FromUnixMicros(unix_micros).UnixMicros(), unix_micros);
  }
  EXPECT_LT(PgTimestamp(-1), PgTimestamp(0));
  EXPECT_LT(PgTimestamp::FromUnixMicros(1), PgTimestamp::FromUnixMicros(2));
}

}  // namespace
}  // namespace pgoutbox
