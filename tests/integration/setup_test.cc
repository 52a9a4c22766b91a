// `pgoutbox setup`, then `pgoutbox run` and `pgoutbox status` as the
// least-privilege role it created: the role can stream the outbox to Kafka
// (with --no-create: the admin made the publication and slot) and read the
// status, with nothing but LOGIN REPLICATION, USAGE on the schema and
// SELECT, DELETE on the table. Then setup over several outbox tables: a
// pattern over tenant schemas and an exact table, a tenant that appears
// later, and a publication that holds a table --table does not select.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "integration/harness.h"
#include "support/child_process.h"
#include "support/kafka_cluster.h"
#include "support/pg_server.h"

namespace pgoutbox::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kRole[] = "pgoutbox";

// `pgoutbox run` arguments of the harness, connecting as `user`.
std::vector<std::string> RunArgsAs(const Harness& h, const std::string& user,
                                   const std::vector<std::string>& extra) {
  return h.ArgsWith("--db", h.pg->ConnInfo(h.db, user), extra);
}

// `pgoutbox setup` as the admin, creating the least-privilege role kRole.
int SetupAsAdmin(const Harness& h, std::string* output) {
  return RunToExit({PgoutboxBinary(), "setup", "--db", h.pg->ConnInfo(h.db), "--publication",
                    h.publication, "--slot", h.slot, "--role", kRole},
                   output);
}

TEST(SetupRole, LeastPrivilegeRoleStreamsTheOutbox) {
  Harness h;
  ASSERT_TRUE(h.ok());
  std::string output;
  ASSERT_EQ(SetupAsAdmin(h, &output), 0) << output;
  EXPECT_NE(output.find("role pgoutbox: created"), std::string::npos) << output;
  h.kafka->CreateTopic("outbox.event.order", 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {"outbox.event.order"});

  // The application (here the admin) writes events after the slot exists.
  constexpr int kEvents = 25;
  ASSERT_TRUE(
      h.Exec("INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, "
             "payload) SELECT 'order', (i % 5)::text, 'Placed', "
             "jsonb_build_object('n', i) FROM generate_series(1, " +
             std::to_string(kEvents) + ") i"));
  const std::string end = h.CurrentWalLsn();

  auto child = ChildProcess::Start(RunArgsAs(h, kRole, {"--no-create", "--end-lsn", end}));
  ASSERT_NE(child, nullptr);
  auto code = child->Wait(60s);
  ASSERT_TRUE(code.has_value()) << child->Output();
  ASSERT_EQ(*code, 0) << child->Output();

  ASSERT_TRUE(consumer.WaitForCount(kEvents, 20s)) << "got " << consumer.Count();
  std::set<std::string> ids;
  for (const ConsumedRecord& r : consumer.Records()) ids.insert(r.Header("id").value_or(""));
  EXPECT_EQ(ids.size(), static_cast<size_t>(kEvents));
  EXPECT_GE(CompareLsn(h.ConfirmedLsn(), end), 0) << h.ConfirmedLsn() << " < " << end;

  // The role reads the status (SELECT on the outbox for the row count).
  ASSERT_EQ(RunToExit({PgoutboxBinary(), "--log-level", "warn", "status", "--db",
                       h.pg->ConnInfo(h.db, kRole), "--slot", h.slot, "--max-lag", "100MB"},
                      &output),
            0)
      << output;
  EXPECT_NE(output.find("rows:                25\n"), std::string::npos) << output;
  EXPECT_NE(output.find("\nhealthy\n"), std::string::npos) << output;
}

TEST(SetupRole, WithoutNoCreateTheRoleStillFindsWhatSetupMade) {
  // Without --no-create, run only inspects (publication and slot exist), so
  // the role needs no ownership either.
  Harness h;
  ASSERT_TRUE(h.ok());
  std::string output;
  ASSERT_EQ(SetupAsAdmin(h, &output), 0) << output;
  ASSERT_TRUE(
      h.Exec("INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, "
             "payload) VALUES ('order', '1', 'Placed', '{}')"));
  h.kafka->CreateTopic("outbox.event.order", 1);
  TopicConsumer consumer(h.kafka->bootstraps(), {"outbox.event.order"});
  auto child = ChildProcess::Start(RunArgsAs(h, kRole, {"--exit-when-caught-up"}));
  ASSERT_NE(child, nullptr);
  auto code = child->Wait(60s);
  ASSERT_TRUE(code.has_value()) << child->Output();
  EXPECT_EQ(*code, 0) << child->Output();
  EXPECT_TRUE(consumer.WaitForCount(1, 20s));
}

TEST(SetupRole, TheRoleCannotCreateThePublicationItself) {
  // Why setup creates the publication as the admin: the role does not own
  // the table, so `run` cannot create it and says so.
  Harness h;
  ASSERT_TRUE(h.ok());
  std::string output;
  ASSERT_EQ(SetupAsAdmin(h, &output), 0) << output;
  ASSERT_TRUE(h.Exec("DROP PUBLICATION " + h.publication));
  auto child = ChildProcess::Start(RunArgsAs(h, kRole, {"--exit-when-caught-up"}));
  ASSERT_NE(child, nullptr);
  auto code = child->Wait(60s);
  ASSERT_TRUE(code.has_value()) << child->Output();
  EXPECT_EQ(*code, 1) << child->Output();
  EXPECT_NE(child->Output().find("cannot create publication"), std::string::npos)
      << child->Output();
}

// ---- Several outbox tables ------------------------------------------------

// A database with the outbox tables of three tenant schemas (made by setup's
// own sql/outbox.sql through --table) and an unrelated table.
class SetupTables : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = PgServer::Start();
    ASSERT_NE(pg_, nullptr);
    db_ = pg_->CreateDatabase("app");
    for (const char* tenant : {"tenant_a", "tenant_b", "tenant_c"})
      ASSERT_NO_FATAL_FAILURE(AddTenant(tenant));
    ASSERT_TRUE(Exec("CREATE TABLE public.orders (id int)"));
  }

  void AddTenant(const std::string& schema) {
    ASSERT_TRUE(Exec("CREATE SCHEMA " + schema + "; CREATE TABLE " + schema +
                     ".outbox (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT "
                     "now(), payload jsonb)"));
  }

  // `pgoutbox setup` over the tenants' outboxes and the exact public.events.
  int Setup(std::string* output, const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv = {
        PgoutboxBinary(), "--log-level",      "warn",    "setup",
        "--db",           pg_->ConnInfo(db_), "--table", "tenant_*.outbox,public.events"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunToExit(argv, output);
  }

  bool Exec(const std::string& sql) const { return pg_->Exec(db_, sql); }
  std::string Value(const std::string& sql) const { return pg_->QueryValue(db_, sql); }
  std::string Published() const {
    return Value(
        "SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY schemaname, tablename) "
        "FROM pg_publication_tables WHERE pubname = 'pgoutbox'");
  }
  std::string Granted(const std::string& table) const {
    return Value("SELECT has_table_privilege('pgoutbox', '" + table +
                 "', 'SELECT')::text || has_table_privilege('pgoutbox', '" + table +
                 "', 'DELETE') || has_schema_privilege('pgoutbox', split_part('" + table +
                 "', '.', 1), 'USAGE')");
  }
  static bool Has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }

  std::unique_ptr<PgServer> pg_;
  std::string db_;
};

TEST_F(SetupTables, PatternOfTenantSchemasAndAnExactTable) {
  std::string out;
  ASSERT_EQ(Setup(&out), 0) << out;
  // The exact entry is created from sql/outbox.sql; the pattern creates nothing.
  for (const char* line :
       {"table public.events: created\n",
        "table tenant_a.outbox: exists (matches --table tenant_*.outbox, public.events)\n",
        "table tenant_c.outbox: exists (matches --table tenant_*.outbox, public.events)\n",
        "publication pgoutbox: created\n", "publication pgoutbox: table public.events: added\n",
        "publication pgoutbox: table tenant_b.outbox: added\n",
        "grants to role pgoutbox (USAGE on schema tenant_b, SELECT, DELETE on "
        "tenant_b.outbox): granted\n",
        "grants to role pgoutbox (USAGE on schema public, SELECT, DELETE on public.events): "
        "granted\n",
        "slot pgoutbox: created"}) {
    EXPECT_TRUE(Has(out, line)) << line << "in:\n" << out;
  }
  EXPECT_EQ(Value("SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.events'::regclass "
                  "AND attnum > 0"),
            "8");
  EXPECT_EQ(Published(), "public.events,tenant_a.outbox,tenant_b.outbox,tenant_c.outbox");
  EXPECT_EQ(Value("SELECT pubinsert::text || pubupdate || pubdelete || pubtruncate "
                  "FROM pg_publication WHERE pubname = 'pgoutbox'"),
            "truefalsefalsefalse");
  for (const char* table :
       {"public.events", "tenant_a.outbox", "tenant_b.outbox", "tenant_c.outbox"}) {
    EXPECT_EQ(Granted(table), "truetruetrue") << table;
  }
  EXPECT_EQ(Value("SELECT has_table_privilege('pgoutbox', 'public.orders', 'SELECT')"), "f");

  // Run again: nothing to do.
  ASSERT_EQ(Setup(&out), 0) << out;
  EXPECT_FALSE(Has(out, "created")) << out;
  EXPECT_FALSE(Has(out, "added")) << out;
  EXPECT_TRUE(Has(out, "publication pgoutbox: table tenant_c.outbox: included\n")) << out;
}

TEST_F(SetupTables, ASecondRunAddsATenantThatAppeared) {
  std::string out;
  ASSERT_EQ(Setup(&out), 0) << out;
  ASSERT_NO_FATAL_FAILURE(AddTenant("tenant_d"));
  const std::string before = Published();

  // The dry run says what it would do and changes nothing.
  ASSERT_EQ(Setup(&out, {"--dry-run"}), 0) << out;
  EXPECT_TRUE(Has(out, "-- publication pgoutbox: exists\n")) << out;
  EXPECT_TRUE(Has(out, "-- publication pgoutbox: table tenant_d.outbox: would be added\n")) << out;
  EXPECT_TRUE(Has(out, "-- publication pgoutbox: table tenant_a.outbox: included\n")) << out;
  EXPECT_TRUE(Has(out, "\nALTER PUBLICATION pgoutbox ADD TABLE tenant_d.outbox;\n")) << out;
  EXPECT_TRUE(Has(out,
                  "-- grants to role pgoutbox (USAGE on schema tenant_d, SELECT, DELETE on "
                  "tenant_d.outbox): would be granted\n"))
      << out;
  EXPECT_TRUE(Has(out, "\nGRANT SELECT, DELETE ON tenant_d.outbox TO pgoutbox;\n")) << out;
  EXPECT_EQ(Published(), before);

  ASSERT_EQ(Setup(&out), 0) << out;
  EXPECT_TRUE(Has(out, "publication pgoutbox: exists\n")) << out;
  EXPECT_TRUE(Has(out, "publication pgoutbox: table tenant_d.outbox: added\n")) << out;
  EXPECT_TRUE(Has(out, "publication pgoutbox: table tenant_a.outbox: included\n")) << out;
  EXPECT_TRUE(Has(out,
                  "grants to role pgoutbox (USAGE on schema tenant_d, SELECT, DELETE on "
                  "tenant_d.outbox): granted\n"))
      << out;
  EXPECT_TRUE(Has(out, "slot pgoutbox: exists\n")) << out;
  EXPECT_EQ(Published(),
            "public.events,tenant_a.outbox,tenant_b.outbox,tenant_c.outbox,tenant_d.outbox");
  EXPECT_EQ(Granted("tenant_d.outbox"), "truetruetrue");
}

TEST_F(SetupTables, APublicationHoldingAnotherTableIsRefused) {
  ASSERT_TRUE(Exec("CREATE PUBLICATION pgoutbox FOR TABLE tenant_a.outbox, public.orders"));
  std::string out;
  EXPECT_EQ(Setup(&out), 1) << out;
  EXPECT_TRUE(Has(out,
                  "publication pgoutbox exists but also publishes public.orders, which "
                  "--table tenant_*.outbox, public.events does not select"))
      << out;
  EXPECT_TRUE(Has(out, "ALTER PUBLICATION pgoutbox DROP TABLE public.orders")) << out;
  // Nothing was created.
  EXPECT_EQ(Value("SELECT count(*) FROM pg_class WHERE relname = 'events'"), "0");
  EXPECT_EQ(Value("SELECT count(*) FROM pg_roles WHERE rolname = 'pgoutbox'"), "0");
  EXPECT_EQ(Published(), "public.orders,tenant_a.outbox");
}

TEST_F(SetupTables, APatternMatchingNothingCreatesNothing) {
  std::string out;
  EXPECT_EQ(
      RunToExit({PgoutboxBinary(), "setup", "--db", pg_->ConnInfo(db_), "--table", "shop_*.outbox"},
                &out),
      1)
      << out;
  EXPECT_TRUE(Has(out, "no table matches --table shop_*.outbox")) << out;
  EXPECT_EQ(Value("SELECT count(*) FROM pg_publication"), "0");
  // A bad entry is a usage error.
  EXPECT_EQ(RunToExit({PgoutboxBinary(), "setup", "--db", pg_->ConnInfo(db_), "--table",
                       "tenant_*.outbox,a.b.c"},
                      &out),
            2)
      << out;
}

}  // namespace
}  // namespace pgoutbox::testing
