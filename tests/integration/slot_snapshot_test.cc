// pg/slot_snapshot on every PostgreSQL version: a row committed before the
// slot's consistent point is seen by the snapshot and not streamed by the
// slot; a row committed after it is streamed and not seen. Each row is in
// exactly one of the two, which is what makes recovery from the table
// gap-free.
#include "pg/slot_snapshot.h"

#include <gtest/gtest.h>

#include <string>

#include "support/pg_server.h"

namespace pgoutbox::pg {
namespace {

using testing::kPgVersions;
using testing::PgServer;
using testing::PgServerOptions;

class SlotSnapshotTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    PgServerOptions options;
    options.version = GetParam();
    server_ = PgServer::Start(options);
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->Exec("postgres",
                              "CREATE TABLE t (id int PRIMARY KEY);"
                              "CREATE PUBLICATION pub FOR TABLE t WITH (publish = 'insert');"
                              "INSERT INTO t VALUES (1), (2), (3);"));
  }

  // Inserts the slot holds, through pgoutput, without consuming them.
  int StreamedInserts(const std::string& slot) {
    return std::stoi(server_->QueryValue(
        "postgres", "SELECT count(*) FROM pg_logical_slot_peek_binary_changes('" + slot +
                        "', NULL, NULL, 'proto_version', '1', 'publication_names', 'pub') "
                        "WHERE substr(data, 1, 1) = 'I'::bytea"));
  }

  std::unique_ptr<PgServer> server_;
};

TEST_P(SlotSnapshotTest, EachCommittedRowIsInTheSnapshotOrInTheSlotNotBoth) {
  auto snapshot = SlotSnapshot::Create({server_->ConnInfo(), "recovery", false});
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  EXPECT_TRUE((*snapshot)->consistent_point().valid());
  ASSERT_TRUE(server_->Exec("postgres", "INSERT INTO t VALUES (4), (5)"));

  auto seen =
      (*snapshot)->connection().Query("SELECT string_agg(id::text, ',' ORDER BY id) FROM t");
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_EQ(seen->Get(0, 0), "1,2,3");
  ASSERT_TRUE((*snapshot)->Finish().ok());
  EXPECT_EQ(StreamedInserts("recovery"), 2);
  EXPECT_EQ(server_->QueryValue("postgres",
                                "SELECT plugin || ' ' || slot_type FROM pg_replication_slots "
                                "WHERE slot_name = 'recovery'"),
            "pgoutput logical");
}

TEST_P(SlotSnapshotTest, AFailoverSlotFrom17On) {
  auto snapshot = SlotSnapshot::Create({server_->ConnInfo(), "recovery", true});
  if (GetParam() < 17) {
    ASSERT_FALSE(snapshot.ok());
    EXPECT_EQ(snapshot.status().code(), Status::Code::kFailedPrecondition);
    EXPECT_EQ(server_->QueryValue("postgres", "SELECT count(*) FROM pg_replication_slots"), "0");
    return;
  }
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  ASSERT_TRUE((*snapshot)->Finish().ok());
  EXPECT_EQ(
      server_->QueryValue("postgres",
                          "SELECT failover FROM pg_replication_slots WHERE slot_name = 'recovery'"),
      "t");
}

TEST_P(SlotSnapshotTest, AnExistingSlotIsNotCreatedAgain) {
  ASSERT_TRUE(server_->Exec("postgres",
                            "SELECT pg_create_logical_replication_slot('recovery', 'pgoutput')"));
  auto snapshot = SlotSnapshot::Create({server_->ConnInfo(), "recovery", false});
  ASSERT_FALSE(snapshot.ok());
  EXPECT_EQ(snapshot.status().code(), Status::Code::kFailedPrecondition)
      << snapshot.status().ToString();
  EXPECT_NE(snapshot.status().message().find("already exists"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Versions, SlotSnapshotTest, ::testing::ValuesIn(kPgVersions),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return "pg" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace pgoutbox::pg
