// pg/catalog's table and publication queries against a real PostgreSQL:
// ListTables finds the tables a --table selection matches (patterns over
// schemas and names, no views, partitions or system tables), and the
// publication functions create, extend and inspect a publication of several
// tables.
#include "pg/catalog.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "pg/table_selection.h"
#include "support/pg_server.h"

namespace pgoutbox::pg {
namespace {

using testing::PgServer;

std::vector<std::string> Names(const std::vector<TableName>& tables) {
  std::vector<std::string> out;
  for (const TableName& t : tables) out.push_back(t.ToString());
  return out;
}

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = PgServer::Start();
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->Exec(
        "postgres",
        "CREATE SCHEMA tenant_b; CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_c;"
        "CREATE SCHEMA other;"
        "CREATE TABLE tenant_a.outbox (id int); CREATE TABLE tenant_b.outbox (id int);"
        "CREATE TABLE tenant_c.outbox (id int) PARTITION BY RANGE (id);"
        "CREATE TABLE tenant_c.outbox_1 PARTITION OF tenant_c.outbox FOR VALUES FROM (0) TO (10);"
        "CREATE TABLE other.outbox (id int); CREATE TABLE public.outbox (id int);"
        "CREATE TABLE public.orders (id int); CREATE VIEW tenant_a.outbox_view AS "
        "SELECT * FROM tenant_a.outbox;"
        "CREATE TABLE tenant_a.\"Outbox_Odd\" (id int); CREATE TABLE tenant_a.outbox_x (id int);"
        "CREATE TABLE tenant_a.outboxy (id int);"));
    auto conn = PgConnection::Connect(server_->ConnInfo(), PgConnection::Kind::kOrdinary, "test");
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(*conn);
  }

  TableSelection Select(const std::vector<std::string>& entries) {
    auto selection = TableSelection::Parse(entries);
    EXPECT_TRUE(selection.ok()) << selection.status().ToString();
    return selection.ok() ? *selection : TableSelection::Of(TableName{});
  }

  std::vector<std::string> List(const std::vector<std::string>& entries) {
    auto tables = ListTables(*conn_, Select(entries));
    EXPECT_TRUE(tables.ok()) << tables.status().ToString();
    return tables.ok() ? Names(*tables) : std::vector<std::string>{"error"};
  }

  std::unique_ptr<PgServer> server_;
  std::unique_ptr<PgConnection> conn_;
};

TEST_F(CatalogTest, ListTablesFindsTheMatchingTablesSorted) {
  using V = std::vector<std::string>;
  // The partitioned table, not its partition; sorted by schema.
  EXPECT_EQ(List({"tenant_*.outbox"}),
            (V{"tenant_a.outbox", "tenant_b.outbox", "tenant_c.outbox"}));
  EXPECT_EQ(List({"public.outbox", "tenant_b.outbox"}), (V{"public.outbox", "tenant_b.outbox"}));
  // An exact entry that does not exist is left to the caller.
  EXPECT_EQ(List({"tenant_z.outbox", "public.outbox"}), V{"public.outbox"});
  EXPECT_EQ(List({"nothing_*.outbox"}), V{});
  // `_` is no wildcard (LIKE's would match outboxy and outbox_x alike); no view.
  EXPECT_EQ(List({"tenant_a.outbox_*"}), V{"tenant_a.outbox_x"});
  EXPECT_EQ(List({"tenant_a.outbox*"}),
            (V{"tenant_a.outbox", "tenant_a.outbox_x", "tenant_a.outboxy"}));
  EXPECT_EQ(List({"tenant_a.\"Outbox_Odd\""}), V{"tenant_a.Outbox_Odd"});
  EXPECT_EQ(List({"*.outbox"}), (V{"other.outbox", "public.outbox", "tenant_a.outbox",
                                   "tenant_b.outbox", "tenant_c.outbox"}));
  // System catalogs never match.
  EXPECT_EQ(List({"*.pg_class"}), V{});
}

TEST_F(CatalogTest, PublicationOfSeveralTablesCreatedExtendedAndChecked) {
  const TableSelection tenants = Select({"tenant_*.outbox"});
  auto missing = InspectPublication(*conn_, "pub", tenants);
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_FALSE(missing->exists);
  EXPECT_TRUE(CheckPublication(*missing, "pub", tenants).ok());

  ASSERT_TRUE(CreatePublication(*conn_, "pub",
                                {TableName{"tenant_a", "outbox"}, TableName{"tenant_b", "outbox"}})
                  .ok());
  auto info = InspectPublication(*conn_, "pub", tenants);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(info->exists);
  EXPECT_TRUE(info->publishes_insert);
  EXPECT_FALSE(info->all_tables);
  EXPECT_EQ(Names(info->tables), (std::vector<std::string>{"tenant_a.outbox", "tenant_b.outbox"}));
  EXPECT_TRUE(info->other_tables.empty());
  EXPECT_TRUE(CheckPublication(*info, "pub", tenants).ok());
  EXPECT_EQ(server_->QueryValue("postgres",
                                "SELECT pubinsert::text || pubupdate || pubdelete || "
                                "pubtruncate FROM pg_publication"),
            "truefalsefalsefalse");

  auto tables = ListTables(*conn_, tenants);
  ASSERT_TRUE(tables.ok());
  const std::vector<TableName> to_add = MissingFromPublication(*info, *tables);
  EXPECT_EQ(Names(to_add), std::vector<std::string>{"tenant_c.outbox"});
  ASSERT_TRUE(AddTablesToPublication(*conn_, "pub", to_add).ok());
  info = InspectPublication(*conn_, "pub", tenants);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->Includes(TableName{"tenant_c", "outbox"}));
  EXPECT_TRUE(info->other_tables.empty());

  // A table the selection does not match makes it unusable.
  ASSERT_TRUE(AddTablesToPublication(*conn_, "pub", {TableName{"public", "orders"}}).ok());
  info = InspectPublication(*conn_, "pub", tenants);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(Names(info->other_tables), std::vector<std::string>{"public.orders"});
  Status st = CheckPublication(*info, "pub", tenants);
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("also publishes public.orders"), std::string::npos) << st.message();

  // Adding a table twice is the server's error, with context.
  Status twice = AddTablesToPublication(*conn_, "pub", {TableName{"tenant_a", "outbox"}});
  EXPECT_FALSE(twice.ok());
  EXPECT_NE(twice.message().find("cannot add tenant_a.outbox to publication pub"),
            std::string::npos)
      << twice.message();
}

TEST_F(CatalogTest, AllTablesPublicationIsRefused) {
  ASSERT_TRUE(server_->Exec("postgres", "CREATE PUBLICATION everything FOR ALL TABLES"));
  const TableSelection selection = Select({"public.outbox"});
  auto info = InspectPublication(*conn_, "everything", selection);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->all_tables);
  EXPECT_TRUE(info->Includes(TableName{"public", "outbox"}));
  Status st = CheckPublication(*info, "everything", selection);
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
}

}  // namespace
}  // namespace pgoutbox::pg
