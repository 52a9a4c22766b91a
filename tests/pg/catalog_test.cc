// The parts of pg/ that need no server; the catalog queries themselves run
// against a real PostgreSQL in tests/integration.
#include "pg/catalog.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "pg/table_selection.h"

namespace pgoutbox::pg {
namespace {

// An existing slot that is not a failover slot is worth a warning only on
// a server that has failover slots (17+), and the warning says how to fix it.
TEST(FailoverSlotWarningTest, OnlyForANonFailoverSlotOnSeventeenAndLater) {
  SlotInfo slot;
  slot.exists = true;
  slot.failover = false;
  const std::string warning = FailoverSlotWarning(slot, "pgoutbox", 170004);
  EXPECT_NE(warning.find("replication slot pgoutbox is not a failover slot"), std::string::npos)
      << warning;
  EXPECT_NE(warning.find("'ALTER_REPLICATION_SLOT pgoutbox (FAILOVER true)'"), std::string::npos)
      << warning;
  EXPECT_NE(warning.find("replication=database"), std::string::npos) << warning;
  EXPECT_NE(warning.find("pg_drop_replication_slot('pgoutbox')"), std::string::npos) << warning;

  EXPECT_EQ(FailoverSlotWarning(slot, "pgoutbox", 160008), "");
  slot.failover = true;
  EXPECT_EQ(FailoverSlotWarning(slot, "pgoutbox", 180000), "");
  slot.failover.reset();  // not known: nothing to say
  EXPECT_EQ(FailoverSlotWarning(slot, "pgoutbox", 180000), "");
  EXPECT_EQ(FailoverSlotWarning(SlotInfo{}, "pgoutbox", 180000), "");
}

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

TEST(RedactTest, HidesEveryFormLibpqReads) {
  for (const std::string conninfo :
       {"host=a PASSWORD=hunter22 user=b", "host=a sslpassword=hunter22",
        "postgresql://u@h/db?password=hunter22", "postgres://u:hunter22@h/db?sslmode=require",
        "host=a password=hunter22\\ x"}) {
    EXPECT_EQ(RedactConninfo(conninfo).find("hunter22"), std::string::npos)
        << conninfo << " -> " << RedactConninfo(conninfo);
  }
}

TEST(RedactTest, MessagesLoseTheSecretsOfTheirConninfo) {
  const std::string conninfo = "postgresql://u:s3cr%3At@h/db";
  const std::string message =
      RedactSecrets("invalid token \"s3cr%3At\" and decoded s3cr:t and again s3cr:t", conninfo);
  EXPECT_EQ(message.find("s3cr"), std::string::npos) << message;
  EXPECT_NE(message.find("***"), std::string::npos) << message;
  // Nothing to hide: the message stays as it was.
  EXPECT_EQ(RedactSecrets("connection refused", "host=a"), "connection refused");
}

}  // namespace
}  // namespace pgoutbox::pg

namespace pgoutbox::pg {
namespace {

PublicationInfo Publication(std::vector<TableName> tables, std::vector<TableName> others,
                            bool insert = true) {
  PublicationInfo info;
  info.exists = true;
  info.publishes_insert = insert;
  info.tables = std::move(tables);
  info.other_tables = std::move(others);
  return info;
}

TEST(CheckPublicationTest, AcceptsMissingOrOnlyTablesOfTheSelection) {
  auto selection = TableSelection::Parse({"tenant_*.outbox", "public.outbox"});
  ASSERT_TRUE(selection.ok());
  const TableName a{"tenant_a", "outbox"};
  const TableName main{"public", "outbox"};
  EXPECT_TRUE(CheckPublication(PublicationInfo{}, "p", *selection).ok());
  EXPECT_TRUE(CheckPublication(Publication({a, main}, {}), "p", *selection).ok());
  // Tables of the selection that it lacks are for setup and run to add.
  EXPECT_TRUE(CheckPublication(Publication({a}, {}), "p", *selection).ok());
  EXPECT_TRUE(CheckPublication(Publication({}, {}), "p", *selection).ok());

  Status no_insert = CheckPublication(Publication({a}, {}, false), "p", *selection);
  EXPECT_EQ(no_insert.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(no_insert.message().find("does not publish inserts"), std::string::npos);

  const TableName orders{"public", "orders"};
  Status more = CheckPublication(Publication({a, orders}, {orders}), "p", *selection);
  EXPECT_EQ(more.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(more.message().find("also publishes public.orders"), std::string::npos)
      << more.message();
  EXPECT_NE(more.message().find("tenant_*.outbox, public.outbox"), std::string::npos)
      << more.message();

  PublicationInfo all = Publication({a, main}, {});
  all.all_tables = true;
  Status everything = CheckPublication(all, "p", *selection);
  EXPECT_EQ(everything.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(everything.message().find("FOR ALL TABLES"), std::string::npos);
}

TEST(PublicationInfoTest, IncludesAndMissing) {
  const TableName a{"tenant_a", "outbox"};
  const TableName b{"tenant_b", "outbox"};
  const TableName c{"tenant_c", "outbox"};
  PublicationInfo info = Publication({b}, {});
  EXPECT_TRUE(info.Includes(b));
  EXPECT_FALSE(info.Includes(a));
  EXPECT_EQ(MissingFromPublication(info, {a, b, c}), (std::vector<TableName>{a, c}));
  info.all_tables = true;
  EXPECT_TRUE(info.Includes(a));
  EXPECT_TRUE(MissingFromPublication(info, {a, b, c}).empty());
  EXPECT_TRUE(MissingFromPublication(PublicationInfo{}, {}).empty());
}

TEST(CheckSlotTest, AcceptsMissingOrAUsablePgoutputSlot) {
  EXPECT_TRUE(CheckSlot(SlotInfo{}, "s", "shop").ok());
  SlotInfo good;
  good.exists = true;
  good.plugin = "pgoutput";
  good.slot_type = "logical";
  good.database = "shop";
  good.wal_status = "reserved";
  EXPECT_TRUE(CheckSlot(good, "s", "shop").ok());
  EXPECT_NE(CheckSlot(good, "s", "other").message().find("belongs to database shop"),
            std::string::npos);
  SlotInfo plugin = good;
  plugin.plugin = "test_decoding";
  EXPECT_NE(CheckSlot(plugin, "s", "shop").message().find("plugin 'test_decoding'"),
            std::string::npos);
  SlotInfo lost = good;
  lost.wal_status = "lost";
  EXPECT_NE(CheckSlot(lost, "s", "shop").message().find("wal_status = lost"), std::string::npos);
  // None of these is the command line's fault: exit 1, not 2.
  for (const Status& st : {CheckSlot(good, "s", "other"), CheckSlot(plugin, "s", "shop"),
                           CheckSlot(lost, "s", "shop")}) {
    EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition) << st.ToString();
  }
}

SlotInfo UsableSlot() {
  SlotInfo slot;
  slot.exists = true;
  slot.plugin = "pgoutput";
  slot.slot_type = "logical";
  slot.database = "shop";
  slot.wal_status = "reserved";
  return slot;
}

TEST(SlotIsLostTest, LostWalAnInvalidationReasonOrAConflictCountAsLost) {
  EXPECT_FALSE(SlotIsLost(SlotInfo{})) << "a missing slot is missing, not lost";
  SlotInfo usable = UsableSlot();
  EXPECT_FALSE(SlotIsLost(usable));
  usable.conflicting = false;  // 16+ says so explicitly
  EXPECT_FALSE(SlotIsLost(usable));
  for (const std::string wal_status : {"extended", "unreserved"}) {
    SlotInfo slot = UsableSlot();
    slot.wal_status = wal_status;
    EXPECT_FALSE(SlotIsLost(slot)) << wal_status << ": still streamable";
  }

  SlotInfo lost = UsableSlot();
  lost.wal_status = "lost";
  EXPECT_TRUE(SlotIsLost(lost));
  for (const std::string reason :
       {"wal_removed", "rows_removed", "wal_level_insufficient", "idle_timeout"}) {
    SlotInfo invalidated = UsableSlot();
    invalidated.invalidation_reason = reason;
    EXPECT_TRUE(SlotIsLost(invalidated)) << reason;
  }
  SlotInfo conflicting = UsableSlot();
  conflicting.conflicting = true;
  EXPECT_TRUE(SlotIsLost(conflicting));
}

TEST(CheckSlotTest, ALostSlotIsRefusedNamingWhyUnlessLostIsAllowed) {
  SlotInfo wal_lost = UsableSlot();
  wal_lost.wal_status = "lost";
  SlotInfo rows_removed = UsableSlot();
  rows_removed.invalidation_reason = "rows_removed";
  rows_removed.conflicting = true;
  SlotInfo conflicting = UsableSlot();
  conflicting.conflicting = true;
  const std::vector<std::pair<SlotInfo, std::string>> cases = {
      {wal_lost, "wal_status = lost"},
      {rows_removed, "rows_removed"},
      {conflicting, "conflicting"},
  };
  for (const auto& [slot, why] : cases) {
    const Status st = CheckSlot(slot, "pgoutbox", "shop");
    EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition) << why;
    EXPECT_NE(st.message().find(why), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("replication slot pgoutbox"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("pg_drop_replication_slot('pgoutbox')"), std::string::npos)
        << st.message();
    EXPECT_TRUE(CheckSlot(slot, "pgoutbox", "shop", /*allow_lost=*/true).ok()) << why;
  }
}

TEST(CheckSlotTest, AllowLostStillRefusesAnotherDatabaseOrPlugin) {
  SlotInfo other_database = UsableSlot();
  other_database.wal_status = "lost";
  other_database.database = "billing";
  Status st = CheckSlot(other_database, "pgoutbox", "shop", /*allow_lost=*/true);
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("belongs to database billing"), std::string::npos) << st.message();
  SlotInfo physical = UsableSlot();
  physical.invalidation_reason = "wal_removed";
  physical.slot_type = "physical";
  physical.plugin = "";
  st = CheckSlot(physical, "pgoutbox", "shop", /*allow_lost=*/true);
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("physical slot"), std::string::npos) << st.message();
  EXPECT_TRUE(CheckSlot(SlotInfo{}, "pgoutbox", "shop", /*allow_lost=*/true).ok());
}

TEST(CheckSlotTest, ATwoPhaseSlotIsRefusedEvenWhenLostIsAllowed) {
  SlotInfo slot = UsableSlot();
  slot.two_phase = true;
  for (bool allow_lost : {false, true}) {
    const Status st = CheckSlot(slot, "pgoutbox", "shop", allow_lost);
    EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition) << st.ToString();
    EXPECT_NE(st.message().find("replication slot pgoutbox exists but was created with "
                                "two_phase = true"),
              std::string::npos)
        << st.message();
    EXPECT_NE(st.message().find("pg_drop_replication_slot('pgoutbox')"), std::string::npos);
    EXPECT_EQ(st.message().find('\n'), std::string::npos);
  }
  slot.two_phase = false;
  EXPECT_TRUE(CheckSlot(slot, "pgoutbox", "shop").ok());
  slot.two_phase.reset();  // a server older than 14 has no such column
  EXPECT_TRUE(CheckSlot(slot, "pgoutbox", "shop").ok());
}

TEST(CheckServerVersionTest, FourteenAndLaterOnly) {
  for (int version : {140000, 140013, 150004, 170002, 180000}) {
    EXPECT_TRUE(CheckServerVersion(version).ok()) << version;
  }
  Status st = CheckServerVersion(130016);
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(st.message(),
            "the server runs PostgreSQL 13.16 (server_version_num 130016); pgoutbox needs "
            "PostgreSQL 14 or later");
  EXPECT_NE(CheckServerVersion(90624).message().find("PostgreSQL 9.6 "), std::string::npos)
      << CheckServerVersion(90624).message();
  EXPECT_NE(CheckServerVersion(100023).message().find("PostgreSQL 10.23 "), std::string::npos);
}

TEST(NameTest, SlotAndPublicationNamesFollowPostgresRules) {
  EXPECT_TRUE(ValidateSlotName("pgoutbox").ok());
  EXPECT_TRUE(ValidateSlotName("a_1").ok());
  EXPECT_TRUE(ValidateSlotName(std::string(63, 'a')).ok());
  for (const std::string& bad : std::vector<std::string>{
           "", "Bad-Slot", "UPPER", "with space", "dash-ed", "dot.ted", std::string(64, 'a')}) {
    const Status st = ValidateSlotName(bad);
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("--slot"), std::string::npos) << st.message();
  }
  EXPECT_TRUE(ValidatePublicationName("Any Name-1").ok());
  EXPECT_TRUE(ValidatePublicationName(std::string(63, 'p')).ok());
  EXPECT_EQ(ValidatePublicationName("").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ValidatePublicationName(std::string(64, 'p')).code(), Status::Code::kInvalidArgument);
}

// The replication connection gets keepalives and a TCP user timeout unless
// the conninfo sets them, in either form, with one host or several.
TEST(ReplicationKeepalivesTest, AddsWhatTheConninfoLeavesUnset) {
  using Options = std::vector<std::pair<std::string, std::string>>;
  const Options all = {{"keepalives", "1"},
                       {"keepalives_idle", "10"},
                       {"keepalives_interval", "5"},
                       {"keepalives_count", "3"},
                       {"tcp_user_timeout", "30000"}};
  EXPECT_EQ(ReplicationKeepalives("host=a dbname=b"), all);
  EXPECT_EQ(ReplicationKeepalives("host=a,b port=1,2 target_session_attrs=read-write"), all);
  EXPECT_EQ(ReplicationKeepalives("postgresql://a:1,b:2/db?target_session_attrs=read-write"), all);
  EXPECT_EQ(ReplicationKeepalives("app"), all);  // a database name
  EXPECT_EQ(ReplicationKeepalives(""), all);

  EXPECT_EQ(
      ReplicationKeepalives("host=a keepalives=0 tcp_user_timeout=0"),
      (Options{
          {"keepalives_idle", "10"}, {"keepalives_interval", "5"}, {"keepalives_count", "3"}}));
  EXPECT_EQ(
      ReplicationKeepalives("postgresql://a,b/db?keepalives_idle=60&keepalives_count=9"),
      (Options{{"keepalives", "1"}, {"keepalives_interval", "5"}, {"tcp_user_timeout", "30000"}}));
  EXPECT_EQ(ReplicationKeepalives("host=a keepalives_interval = '7'"),
            (Options{{"keepalives", "1"},
                     {"keepalives_idle", "10"},
                     {"keepalives_count", "3"},
                     {"tcp_user_timeout", "30000"}}));
}

}  // namespace
}  // namespace pgoutbox::pg
