// `pgoutbox setup` and the SQL files of sql/: the name substitution (no
// server), and against a real PostgreSQL 15: setup on an empty database
// creates everything, a second run changes nothing, --dry-run changes nothing
// and prints the files' statements, custom names are quoted, applying the
// files with psql (twice) gives the same objects as setup, the role has only
// the privileges it was granted, and conflicts stop setup before it changes
// anything.
#include "admin/setup.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "admin/sql_template.h"
#include "support/child_process.h"
#include "support/pg_server.h"

namespace pgoutbox::admin {
namespace {

using testing::ChildProcess;
using testing::PgoutboxBinary;
using testing::PgServer;
using namespace std::chrono_literals;

const SqlFile kFiles[] = {SqlFile::kOutbox, SqlFile::kPublication, SqlFile::kRole, SqlFile::kSlot};

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(PGOUTBOX_SOURCE_DIR) + "/" + relative);
  EXPECT_TRUE(in.good()) << relative;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Quotes like quote_ident for the names used here (no keywords among them).
SqlQuoting PlainQuoting() {
  SqlQuoting q;
  q.identifier = [](const std::string& name) {
    bool plain = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char c : name) plain &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (plain) return name;
    std::string out = "\"";
    for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  };
  q.literal = [](const std::string& value) {
    std::string out = "'";
    for (char c : value) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
  };
  return q;
}

std::vector<std::string> Statements(SqlFile file, const SetupNames& names) {
  auto statements = SqlFileStatements(file, names, names.tables.ExactTables(), PlainQuoting());
  EXPECT_TRUE(statements.ok()) << statements.status().ToString();
  return statements.ok() ? *statements : std::vector<std::string>{};
}

// ---- Without a server ---------------------------------------------------

TEST(SetupSqlTest, EmbeddedFilesAreTheFilesInSqlDirectory) {
  for (SqlFile file : kFiles) {
    SCOPED_TRACE(SqlFileName(file));
    EXPECT_EQ(EmbeddedSql(file), ReadSourceFile(SqlFileName(file)))
        << "the build embeds a stale copy: re-run CMake";
  }
}

TEST(SetupSqlTest, DefaultNamesLeaveTheStatementsAsWritten) {
  for (SqlFile file : kFiles) {
    SCOPED_TRACE(SqlFileName(file));
    auto as_written = RenderStatements(ReadSourceFile(SqlFileName(file)));
    ASSERT_TRUE(as_written.ok()) << as_written.status().ToString();
    EXPECT_EQ(Statements(file, SetupNames{}), *as_written);
    EXPECT_FALSE(as_written->empty());
  }
}

TEST(SetupSqlTest, SubstitutesEachFilesNames) {
  SetupNames names;
  names.tables = pg::TableSelection::Of({"app", "Events"});
  names.publication = "Pub's";
  names.slot = "slot_one";
  names.role = "Odd Role";

  const auto table = Statements(SqlFile::kOutbox, names);
  ASSERT_EQ(table.size(), 2u);
  EXPECT_EQ(table[0].rfind("CREATE TABLE IF NOT EXISTS app.\"Events\" (\n", 0), 0u) << table[0];
  EXPECT_EQ(table[1],
            "CREATE INDEX IF NOT EXISTS \"Events_created_at_idx\" ON app.\"Events\" "
            "(created_at)");

  EXPECT_EQ(Statements(SqlFile::kPublication, names),
            std::vector<std::string>{
                "DO $$\n"
                "BEGIN\n"
                "  IF NOT EXISTS (SELECT FROM pg_catalog.pg_publication WHERE pubname = "
                "'Pub''s') THEN\n"
                "    CREATE PUBLICATION \"Pub's\" FOR TABLE app.\"Events\" WITH (publish = "
                "'insert');\n"
                "  END IF;\n"
                "END\n"
                "$$"});

  EXPECT_EQ(Statements(SqlFile::kRole, names),
            (std::vector<std::string>{
                "DO $$\n"
                "BEGIN\n"
                "  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'Odd Role') "
                "THEN\n"
                "    CREATE ROLE \"Odd Role\" LOGIN REPLICATION;\n"
                "  END IF;\n"
                "END\n"
                "$$",
                "GRANT USAGE ON SCHEMA app TO \"Odd Role\"",
                "GRANT SELECT, DELETE ON app.\"Events\" TO \"Odd Role\""}));

  EXPECT_EQ(Statements(SqlFile::kSlot, names),
            std::vector<std::string>{
                "DO $$\n"
                "BEGIN\n"
                "  IF NOT EXISTS (SELECT FROM pg_catalog.pg_replication_slots WHERE slot_name = "
                "'slot_one') THEN\n"
                "    IF pg_catalog.current_setting('server_version_num')::int >= 170000 THEN\n"
                "      PERFORM pg_catalog.pg_create_logical_replication_slot('slot_one', "
                "'pgoutput',\n"
                "                                                            failover => true);\n"
                "    ELSE\n"
                "      PERFORM pg_catalog.pg_create_logical_replication_slot('slot_one', "
                "'pgoutput');\n"
                "    END IF;\n"
                "  END IF;\n"
                "END\n"
                "$$"});
}

// Several tables: outbox.sql and role.sql once per table, without repeating
// a statement (the role, a schema's USAGE); publication.sql lists them all.
TEST(SetupSqlTest, SeveralTables) {
  auto selection = pg::TableSelection::Parse({"a.outbox", "b.outbox", "a.events"});
  ASSERT_TRUE(selection.ok());
  SetupNames names;
  names.tables = *selection;
  const auto table = Statements(SqlFile::kOutbox, names);
  ASSERT_EQ(table.size(), 6u);
  EXPECT_EQ(table[0].rfind("CREATE TABLE IF NOT EXISTS a.outbox (\n", 0), 0u) << table[0];
  EXPECT_EQ(table[1], "CREATE INDEX IF NOT EXISTS outbox_created_at_idx ON a.outbox (created_at)");
  EXPECT_EQ(table[2].rfind("CREATE TABLE IF NOT EXISTS b.outbox (\n", 0), 0u) << table[2];
  EXPECT_EQ(table[3], "CREATE INDEX IF NOT EXISTS outbox_created_at_idx ON b.outbox (created_at)");
  EXPECT_EQ(table[5], "CREATE INDEX IF NOT EXISTS events_created_at_idx ON a.events (created_at)");

  const auto publication = Statements(SqlFile::kPublication, names);
  ASSERT_EQ(publication.size(), 1u);
  EXPECT_NE(publication[0].find("CREATE PUBLICATION pgoutbox FOR TABLE a.outbox, b.outbox, "
                                "a.events WITH (publish = 'insert')"),
            std::string::npos)
      << publication[0];

  const auto role = Statements(SqlFile::kRole, names);
  ASSERT_EQ(role.size(), 6u);
  EXPECT_EQ(role[0].rfind("DO $$", 0), 0u);
  EXPECT_EQ(
      std::vector<std::string>(role.begin() + 1, role.end()),
      (std::vector<std::string>{
          "GRANT USAGE ON SCHEMA a TO pgoutbox", "GRANT SELECT, DELETE ON a.outbox TO pgoutbox",
          "GRANT USAGE ON SCHEMA b TO pgoutbox", "GRANT SELECT, DELETE ON b.outbox TO pgoutbox",
          "GRANT SELECT, DELETE ON a.events TO pgoutbox"}));
}

TEST(SetupSqlTest, ItemLines) {
  SetupItem item;
  item.name = "publication pgoutbox";
  EXPECT_EQ(ItemLine(item, false), "publication pgoutbox: created");
  EXPECT_EQ(ItemLine(item, true), "publication pgoutbox: would be created");
  item.created_note = "at 0/1";
  EXPECT_EQ(ItemLine(item, false), "publication pgoutbox: created (at 0/1)");
  EXPECT_EQ(ItemLine(item, true), "publication pgoutbox: would be created");
  item.exists = true;
  item.note = "careful";
  EXPECT_EQ(ItemLine(item, false), "publication pgoutbox: exists (careful)");
  EXPECT_EQ(ItemLine(item, true), "publication pgoutbox: exists (careful)");
}

TEST(SetupSqlTest, SlotCreatedNotesSayWhatTheSlotMeans) {
  SetupNames names;
  names.slot = "s1";
  const auto notes = SlotCreatedNotes(names, *Lsn::Parse("0/16B3748"), 0);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0],
            "note: slot s1 now retains WAL until pgoutbox runs: the server keeps all WAL from "
            "0/16B3748 on for it, and more with every write, until pgoutbox confirms it; start "
            "pgoutbox run soon, or drop the slot (SELECT pg_drop_replication_slot('s1')) if "
            "pgoutbox will not run");
  EXPECT_EQ(notes[1],
            "note: only rows committed after the slot was created are streamed (public.outbox "
            "was empty)");
  EXPECT_EQ(SlotCreatedNotes(names, std::nullopt, 1)[1],
            "note: only rows committed after the slot was created are streamed; the 1 row "
            "already in public.outbox will never be published");
  EXPECT_EQ(SlotCreatedNotes(names, std::nullopt, 2)[1],
            "note: only rows committed after the slot was created are streamed; the 2 rows "
            "already in public.outbox will never be published");
  EXPECT_EQ(SlotCreatedNotes(names, std::nullopt, 1000000, /*rows_capped=*/true)[1],
            "note: only rows committed after the slot was created are streamed; at least "
            "1000000 rows already in public.outbox will never be published");
  EXPECT_EQ(SlotCreatedNotes(names, std::nullopt, std::nullopt)[1],
            "note: only rows committed after the slot was created are streamed; rows already "
            "in public.outbox are never published");
  EXPECT_EQ(SlotCreatedNotes(names, std::nullopt, 0)[0].find(" from "), std::string::npos);
}

// ---- Against PostgreSQL -------------------------------------------------

struct Outcome {
  int code = -1;
  std::string output;
};

Outcome RunProgram(const std::vector<std::string>& argv) {
  auto child = ChildProcess::Start(argv);
  if (child == nullptr) return {};
  auto code = child->Wait(60s);
  EXPECT_TRUE(code.has_value()) << argv[0] << " did not finish:\n" << child->Output();
  return {code.value_or(-1), child->Output()};
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Drops `--` comment lines and collapses all space, for comparing SQL text
// independently of the renderer under test.
std::string NormalizeSql(const std::string& text) {
  std::string joined;
  for (const std::string& line : Lines(text)) {
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line.compare(first, 2, "--") == 0) continue;
    joined += line + "\n";
  }
  std::string out;
  for (char c : joined) {
    bool space = c == ' ' || c == '\n' || c == '\t';
    if (space) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Everything setup could create or change, one line per fact, sorted. With
// `identity`, also OIDs and slot positions: a re-created object shows.
std::string Snapshot(const PgServer& pg, const std::string& db, bool identity) {
  const std::string oid = identity ? " || ' oid ' || c.oid" : "";
  const std::string sql =
      "SELECT 'relation ' || n.nspname || '.' || c.relname || ' kind ' || c.relkind::text || "
      "' owner ' || pg_get_userbyid(c.relowner) || ' acl ' || coalesce(c.relacl::text, '-')" +
      oid +
      " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
      "AND n.nspname NOT LIKE 'pg_toast%' "
      "UNION ALL SELECT 'column ' || n.nspname || '.' || c.relname || '.' || a.attname || ' ' || "
      "format_type(a.atttypid, a.atttypmod) || ' notnull ' || a.attnotnull || ' default ' || "
      "coalesce(pg_get_expr(d.adbin, d.adrelid), '-') "
      "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
      "JOIN pg_namespace n ON n.oid = c.relnamespace "
      "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
      "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
      "AND n.nspname NOT LIKE 'pg_toast%' AND a.attnum > 0 AND NOT a.attisdropped "
      "UNION ALL SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i "
      "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
      "AND n.nspname NOT LIKE 'pg_toast%' "
      "UNION ALL SELECT 'schema ' || nspname || ' owner ' || pg_get_userbyid(nspowner) || "
      "' acl ' || coalesce(nspacl::text, '-') FROM pg_namespace "
      "WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' "
      "UNION ALL SELECT 'publication ' || pubname || ' owner ' || pg_get_userbyid(pubowner) || "
      "' all ' || puballtables || ' insert ' || pubinsert || ' update ' || pubupdate || "
      "' delete ' || pubdelete || ' truncate ' || pubtruncate || ' viaroot ' || pubviaroot" +
      std::string(identity ? " || ' oid ' || oid" : "") +
      " FROM pg_publication "
      "UNION ALL SELECT 'publishes ' || pubname || ' ' || schemaname || '.' || tablename "
      "FROM pg_publication_tables "
      "UNION ALL SELECT 'role ' || rolname || ' super ' || rolsuper || ' inherit ' || "
      "rolinherit || ' createrole ' || rolcreaterole || ' createdb ' || rolcreatedb || "
      "' login ' || rolcanlogin || ' replication ' || rolreplication || ' bypassrls ' || "
      "rolbypassrls || ' connlimit ' || rolconnlimit || ' password ' || "
      "(rolpassword IS NOT NULL)" +
      std::string(identity ? " || ' oid ' || oid" : "") +
      " FROM pg_authid WHERE rolname NOT LIKE 'pg\\_%' "
      "UNION ALL SELECT 'member ' || roleid::regrole || ' ' || member::regrole "
      "FROM pg_auth_members WHERE member::regrole::text NOT LIKE 'pg\\_%' "
      "UNION ALL SELECT 'database ' || datname || ' acl ' || coalesce(datacl::text, '-') "
      "FROM pg_database WHERE datname = current_database() "
      "UNION ALL SELECT 'slot ' || slot_name || ' ' || coalesce(plugin, '-') || ' ' || "
      "slot_type || ' ' || coalesce(database, '-') || ' temporary ' || temporary" +
      std::string(identity ? " || ' ' || restart_lsn || ' ' || confirmed_flush_lsn" : "") +
      " FROM pg_replication_slots ORDER BY 1";
  std::string out;
  for (const auto& row : pg.Query(db, sql)) out += row.at(0) + "\n";
  return out;
}

class SetupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = PgServer::Start();
    ASSERT_NE(pg_, nullptr);
    db_ = pg_->CreateDatabase("app");
  }

  // `pgoutbox setup --db <admin> <extra>`.
  Outcome Setup(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv = {PgoutboxBinary(), "--log-level", "warn",
                                     "setup",          "--db",        pg_->ConnInfo(db_)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunProgram(argv);
  }

  std::string Value(const std::string& sql) const { return pg_->QueryValue(db_, sql); }

  // Setup's output before the failover lines, which end it; `failover`
  // receives those.
  static std::string BeforeFailover(const std::string& output, std::string* failover) {
    const size_t at = output.find("failover: ");
    *failover = at == std::string::npos ? "" : output.substr(at);
    return output.substr(0, at);
  }

  // The first failover line setup prints on this server.
  std::string FirstFailoverLine() const {
    if (pg_->version() >= 17) {
      return "failover: slot pgoutbox is a failover slot: standbys keep a synced copy that "
             "pgoutbox continues from after a promotion, when the servers are set up as follows";
    }
    return "failover: PostgreSQL " + std::to_string(pg_->version()) +
           " does not keep logical slots on standbys, so slot pgoutbox does not survive a "
           "failover; after one pgoutbox recovers from the rows the outbox table retains (see "
           "--retention)";
  }

  std::unique_ptr<PgServer> pg_;
  std::string db_;
};

TEST_F(SetupTest, CreatesEverythingOnAnEmptyDatabase) {
  const Outcome out = Setup();
  ASSERT_EQ(out.code, 0) << out.output;
  std::string failover;
  const auto lines = Lines(BeforeFailover(out.output, &failover));
  ASSERT_EQ(lines.size(), 7u) << out.output;
  // Then what failover needs, by server version (4 lines on 17+, 1 before).
  EXPECT_EQ(Lines(failover).at(0), FirstFailoverLine()) << out.output;
  EXPECT_EQ(Lines(failover).size(), pg_->version() >= 17 ? 4u : 1u) << out.output;
  // On 17+ the slot is a failover slot, as sql/slot.sql creates it there.
  if (pg_->version() >= 17) {
    EXPECT_EQ(Value("SELECT failover FROM pg_replication_slots WHERE slot_name = 'pgoutbox'"), "t");
  }
  EXPECT_EQ(lines[0], "table public.outbox: created");
  EXPECT_EQ(lines[1], "publication pgoutbox: created");
  EXPECT_EQ(lines[2],
            "role pgoutbox: created (no password yet: ALTER ROLE pgoutbox PASSWORD '...')");
  EXPECT_EQ(lines[3],
            "grants to role pgoutbox (USAGE on schema public, SELECT, DELETE on public.outbox): "
            "granted");
  EXPECT_EQ(lines[4].rfind("slot pgoutbox: created (at 0/", 0), 0u) << lines[4];
  // What creating the slot means, from the position it was created at.
  const std::string at =
      lines[4].substr(lines[4].find("at ") + 3, lines[4].size() - lines[4].find("at ") - 4);
  EXPECT_EQ(lines[5],
            "note: slot pgoutbox now retains WAL until pgoutbox runs: the server keeps "
            "all WAL from " +
                at +
                " on for it, and more with every write, until pgoutbox confirms it; "
                "start pgoutbox run soon, or drop the slot (SELECT "
                "pg_drop_replication_slot('pgoutbox')) if pgoutbox will not run");
  EXPECT_EQ(lines[6],
            "note: only rows committed after the slot was created are streamed (public.outbox "
            "was empty)");

  EXPECT_EQ(Value("SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.outbox'::regclass "
                  "AND attnum > 0"),
            "8");
  EXPECT_EQ(Value("SELECT count(*) FROM pg_indexes WHERE indexname = 'outbox_created_at_idx'"),
            "1");
  EXPECT_EQ(Value("SELECT pubinsert::text || pubupdate || pubdelete || pubtruncate "
                  "FROM pg_publication WHERE pubname = 'pgoutbox'"),
            "truefalsefalsefalse");
  EXPECT_EQ(Value("SELECT string_agg(schemaname || '.' || tablename, ',') "
                  "FROM pg_publication_tables WHERE pubname = 'pgoutbox'"),
            "public.outbox");
  EXPECT_EQ(Value("SELECT rolcanlogin::text || rolreplication || rolsuper || rolcreatedb || "
                  "rolcreaterole || (rolpassword IS NULL) FROM pg_authid "
                  "WHERE rolname = 'pgoutbox'"),
            "truetruefalsefalsefalsetrue");
  EXPECT_EQ(Value("SELECT has_table_privilege('pgoutbox', 'public.outbox', 'SELECT')::text || "
                  "has_table_privilege('pgoutbox', 'public.outbox', 'DELETE') || "
                  "has_schema_privilege('pgoutbox', 'public', 'USAGE')"),
            "truetruetrue");
  EXPECT_EQ(Value("SELECT plugin || ' ' || slot_type || ' ' || database FROM "
                  "pg_replication_slots WHERE slot_name = 'pgoutbox'"),
            "pgoutput logical app");
}

TEST_F(SetupTest, SecondRunReportsEverythingExistsAndChangesNothing) {
  ASSERT_EQ(Setup().code, 0);
  const std::string before = Snapshot(*pg_, db_, /*identity=*/true);
  const Outcome again = Setup();
  ASSERT_EQ(again.code, 0) << again.output;
  std::string failover;
  EXPECT_EQ(BeforeFailover(again.output, &failover),
            "table public.outbox: exists\n"
            "publication pgoutbox: exists\n"
            "role pgoutbox: exists\n"
            "grants to role pgoutbox (USAGE on schema public, SELECT, DELETE on public.outbox): "
            "present\n"
            "slot pgoutbox: exists\n");
  EXPECT_EQ(Lines(failover).at(0), FirstFailoverLine()) << again.output;
  EXPECT_EQ(Snapshot(*pg_, db_, /*identity=*/true), before);
}

TEST_F(SetupTest, DryRunChangesNothingAndSaysWhatItWouldDo) {
  const std::string before = Snapshot(*pg_, db_, /*identity=*/true);
  const Outcome dry = Setup({"--dry-run"});
  ASSERT_EQ(dry.code, 0) << dry.output;
  EXPECT_EQ(Snapshot(*pg_, db_, /*identity=*/true), before);
  for (const char* line :
       {"-- table public.outbox: would be created\n", "-- publication pgoutbox: would be created\n",
        "-- role pgoutbox: would be created\n", "-- slot pgoutbox: would be created\n",
        "-- grants to role pgoutbox (USAGE on schema public, SELECT, DELETE on public.outbox): "
        "would be granted\n",
        "-- slot pgoutbox: would be created\n-- note: once created, the slot retains WAL until "
        "pgoutbox runs, and only rows committed after its creation are streamed\n"}) {
    EXPECT_NE(dry.output.find(line), std::string::npos) << line << "in:\n" << dry.output;
  }
  EXPECT_NE(dry.output.find("CREATE TABLE IF NOT EXISTS public.outbox ("), std::string::npos);

  // Once set up, the dry run sees it.
  ASSERT_EQ(Setup().code, 0);
  const std::string after_setup = Snapshot(*pg_, db_, /*identity=*/true);
  const Outcome dry_again = Setup({"--dry-run"});
  ASSERT_EQ(dry_again.code, 0) << dry_again.output;
  EXPECT_NE(dry_again.output.find("-- slot pgoutbox: exists\n"), std::string::npos)
      << dry_again.output;
  EXPECT_EQ(dry_again.output.find("would be"), std::string::npos) << dry_again.output;
  EXPECT_EQ(dry_again.output.find("note:"), std::string::npos) << dry_again.output;
  EXPECT_EQ(Snapshot(*pg_, db_, /*identity=*/true), after_setup);
}

TEST_F(SetupTest, SaysHowManyRowsAlreadyInTheTableAreNeverPublished) {
  ASSERT_EQ(Setup({"--role", ""}).code, 0);
  ASSERT_TRUE(pg_->Exec(db_,
                        "SELECT pg_drop_replication_slot('pgoutbox');"
                        "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, "
                        "payload) SELECT 'order', g::text, 'Placed', '{}' "
                        "FROM generate_series(1, 3) g"));
  Outcome out = Setup({"--role", ""});
  ASSERT_EQ(out.code, 0) << out.output;
  EXPECT_NE(out.output.find("\nnote: only rows committed after the slot was created are "
                            "streamed; the 3 rows already in public.outbox will never be "
                            "published\n"),
            std::string::npos)
      << out.output;

  ASSERT_TRUE(pg_->Exec(db_,
                        "SELECT pg_drop_replication_slot('pgoutbox');"
                        "DELETE FROM public.outbox WHERE aggregate_id <> '1'"));
  out = Setup({"--role", ""});
  ASSERT_EQ(out.code, 0) << out.output;
  EXPECT_NE(out.output.find("; the 1 row already in public.outbox will never be published\n"),
            std::string::npos)
      << out.output;

  // When the slot exists, setup created nothing and has nothing to note.
  out = Setup({"--role", ""});
  ASSERT_EQ(out.code, 0) << out.output;
  EXPECT_EQ(out.output.find("note:"), std::string::npos) << out.output;
}

// A Debezium-shaped table has no created_at column: setup adds it to the
// publication without the index sql/outbox.sql would put on that column, and
// says that cleanup leaves it alone; once the column is added, setup makes
// the index.
TEST_F(SetupTest, ATableWithoutCreatedAtIsSetUpWithoutItsIndex) {
  ASSERT_TRUE(pg_->Exec(db_,
                        "CREATE TABLE public.outboxevent (id uuid PRIMARY KEY, aggregatetype "
                        "varchar(255) NOT NULL, aggregateid varchar(255) NOT NULL, type "
                        "varchar(255) NOT NULL, payload jsonb)"));
  Outcome out = Setup({"--role", "", "--table", "public.outboxevent"});
  ASSERT_EQ(out.code, 0) << out.output;
  EXPECT_NE(out.output.find(
                "table public.outboxevent: exists (no created_at column: cleanup leaves it alone)"),
            std::string::npos)
      << out.output;
  EXPECT_EQ(Value("SELECT string_agg(schemaname || '.' || tablename, ',') "
                  "FROM pg_publication_tables WHERE pubname = 'pgoutbox'"),
            "public.outboxevent");
  EXPECT_EQ(Value("SELECT count(*) FROM pg_indexes WHERE tablename = 'outboxevent' "
                  "AND indexname LIKE '%created_at%'"),
            "0");
  ASSERT_TRUE(pg_->Exec(db_,
                        "ALTER TABLE public.outboxevent ADD COLUMN created_at timestamptz NOT "
                        "NULL DEFAULT now()"));
  out = Setup({"--role", "", "--table", "public.outboxevent"});
  ASSERT_EQ(out.code, 0) << out.output;
  EXPECT_EQ(out.output.find("no created_at column"), std::string::npos) << out.output;
  EXPECT_EQ(Value("SELECT count(*) FROM pg_indexes WHERE indexname = 'outboxevent_created_at_idx'"),
            "1");
}

TEST_F(SetupTest, DryRunWithDefaultNamesPrintsTheStatementsOfTheSqlFiles) {
  const Outcome dry = Setup({"--dry-run"});
  ASSERT_EQ(dry.code, 0) << dry.output;
  std::string files;
  for (SqlFile file : kFiles) files += ReadSourceFile(SqlFileName(file)) + "\n";
  EXPECT_EQ(NormalizeSql(dry.output), NormalizeSql(files));
}

TEST_F(SetupTest, DryRunOutputIsAScriptPsqlCanRun) {
  const Outcome dry = Setup({"--dry-run", "--publication", "from_script", "--slot", "from_script",
                             "--role", "from_script"});
  ASSERT_EQ(dry.code, 0) << dry.output;
  // psql runs each statement as its own transaction, as the slot needs.
  const std::string script = ::testing::TempDir() + "/pgoutbox_setup_dry_run.sql";
  {
    std::ofstream out(script);
    out << dry.output;
  }
  const Outcome psql = RunProgram({"/usr/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                                   pg_->ConnInfo(db_), "-f", script});
  std::remove(script.c_str());
  ASSERT_EQ(psql.code, 0) << psql.output;
  EXPECT_EQ(Value("SELECT count(*) FROM pg_publication_tables WHERE pubname = 'from_script'"), "1");
  EXPECT_EQ(Value("SELECT plugin FROM pg_replication_slots WHERE slot_name = 'from_script'"),
            "pgoutput");
  EXPECT_EQ(Value("SELECT has_table_privilege('from_script', 'public.outbox', 'DELETE')"), "t");
}

TEST_F(SetupTest, QuotesCustomNames) {
  ASSERT_TRUE(pg_->Exec(db_, "CREATE SCHEMA \"App Data\""));
  const std::vector<std::string> flags = {"--table",       "\"App Data\".\"Events\"",
                                          "--publication", "Pub's",
                                          "--slot",        "slot_one",
                                          "--role",        "Odd Role"};
  const Outcome out = Setup(flags);
  ASSERT_EQ(out.code, 0) << out.output;
  EXPECT_EQ(Lines(out.output).at(0), "table App Data.Events: created");
  EXPECT_EQ(Value("SELECT count(*) FROM pg_indexes WHERE schemaname = 'App Data' "
                  "AND tablename = 'Events' AND indexname = 'Events_created_at_idx'"),
            "1");
  EXPECT_EQ(Value("SELECT string_agg(schemaname || '.' || tablename, ',') "
                  "FROM pg_publication_tables WHERE pubname = 'Pub''s'"),
            "App Data.Events");
  EXPECT_EQ(Value("SELECT rolcanlogin::text || rolreplication FROM pg_roles "
                  "WHERE rolname = 'Odd Role'"),
            "truetrue");
  EXPECT_EQ(Value("SELECT has_table_privilege('Odd Role', '\"App Data\".\"Events\"', "
                  "'SELECT,DELETE')::text || has_schema_privilege('Odd Role', 'App Data', "
                  "'USAGE')"),
            "truetrue");
  EXPECT_EQ(Value("SELECT database FROM pg_replication_slots WHERE slot_name = 'slot_one'"), "app");
  // Nothing under the default names.
  EXPECT_EQ(Value("SELECT count(*) FROM pg_class WHERE relname = 'outbox'"), "0");
  EXPECT_EQ(Value("SELECT count(*) FROM pg_roles WHERE rolname = 'pgoutbox'"), "0");

  const Outcome again = Setup(flags);
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_EQ(again.output.find("created"), std::string::npos) << again.output;
}

TEST_F(SetupTest, EmptyRoleSkipsTheRole) {
  const Outcome out = Setup({"--role", ""});
  ASSERT_EQ(out.code, 0) << out.output;
  EXPECT_EQ(out.output.find("role"), std::string::npos) << out.output;
  EXPECT_EQ(Value("SELECT count(*) FROM pg_roles WHERE rolname = 'pgoutbox'"), "0");
  EXPECT_EQ(Value("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgoutbox'"), "1");
}

TEST_F(SetupTest, TheRoleHasNoOtherPrivilege) {
  ASSERT_EQ(Setup().code, 0);
  ASSERT_TRUE(pg_->Exec(db_,
                        "CREATE TABLE public.orders (id int); INSERT INTO public.orders VALUES (1);"
                        "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, "
                        "payload) VALUES ('order', '1', 'Placed', '{}');"));
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(
      PQconnectdb(pg_->ConnInfo(db_, "pgoutbox").c_str()), &PQfinish);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  // The SQLSTATE of `sql`, "" if it succeeded.
  auto sqlstate = [&](const std::string& sql) {
    std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), sql.c_str()), &PQclear);
    const ExecStatusType st = PQresultStatus(res.get());
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return std::string();
    const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
    return std::string(state != nullptr ? state : "?");
  };
  constexpr char kDenied[] = "42501";
  EXPECT_EQ(sqlstate("SELECT count(*) FROM public.outbox"), "");
  EXPECT_EQ(sqlstate("SELECT * FROM public.orders"), kDenied);
  EXPECT_EQ(sqlstate("INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, "
                     "payload) VALUES ('order', '2', 'Placed', '{}')"),
            kDenied);
  EXPECT_EQ(sqlstate("UPDATE public.outbox SET event_type = 'x'"), kDenied);
  EXPECT_EQ(sqlstate("TRUNCATE public.outbox"), kDenied);
  EXPECT_EQ(sqlstate("CREATE TABLE public.mine (id int)"), kDenied);
  EXPECT_EQ(sqlstate("CREATE SCHEMA mine"), kDenied);
  EXPECT_EQ(sqlstate("ALTER PUBLICATION pgoutbox ADD TABLE public.orders"), kDenied);
  EXPECT_EQ(sqlstate("CREATE ROLE other"), kDenied);
  EXPECT_EQ(sqlstate("DELETE FROM public.outbox"), "");
  EXPECT_EQ(Value("SELECT count(*) FROM public.outbox"), "0");
}

TEST_F(SetupTest, PsqlAppliesTheFilesTwiceAndGetsWhatSetupCreates) {
  // A second server: roles and slots are cluster-wide.
  auto other = PgServer::Start();
  ASSERT_NE(other, nullptr);
  other->CreateDatabase(db_);
  std::vector<std::string> psql = {"/usr/bin/psql",     "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                                   other->ConnInfo(db_)};
  for (SqlFile file : kFiles) {
    psql.push_back("-f");
    psql.push_back(std::string(PGOUTBOX_SOURCE_DIR) + "/" + SqlFileName(file));
  }
  const Outcome first = RunProgram(psql);
  ASSERT_EQ(first.code, 0) << first.output;
  const std::string by_psql = Snapshot(*other, db_, /*identity=*/true);
  const Outcome second = RunProgram(psql);
  ASSERT_EQ(second.code, 0) << second.output;
  EXPECT_EQ(Snapshot(*other, db_, /*identity=*/true), by_psql) << "the files are not idempotent";

  ASSERT_EQ(Setup().code, 0);
  EXPECT_EQ(Snapshot(*pg_, db_, /*identity=*/false), Snapshot(*other, db_, /*identity=*/false));
  EXPECT_NE(by_psql.find("slot pgoutbox pgoutput logical app"), std::string::npos) << by_psql;
}

TEST_F(SetupTest, StopsBeforeChangingAnythingWhenThePublicationIsInTheWay) {
  ASSERT_TRUE(pg_->Exec(db_,
                        "CREATE TABLE public.orders (id int); "
                        "CREATE PUBLICATION pgoutbox FOR TABLE public.orders"));
  const std::string before = Snapshot(*pg_, db_, /*identity=*/true);
  const Outcome out = Setup();
  EXPECT_EQ(out.code, 1) << out.output;
  EXPECT_NE(out.output.find("publication pgoutbox exists but also publishes public.orders, which "
                            "--table public.outbox does not select"),
            std::string::npos)
      << out.output;
  EXPECT_EQ(Snapshot(*pg_, db_, /*identity=*/true), before);
}

TEST_F(SetupTest, StopsWhenTheSlotBelongsToAnotherDatabase) {
  const std::string other_db = pg_->CreateDatabase("other");
  ASSERT_TRUE(
      pg_->Exec(other_db, "SELECT pg_create_logical_replication_slot('pgoutbox', 'pgoutput')"));
  const Outcome out = Setup();
  EXPECT_EQ(out.code, 1) << out.output;
  EXPECT_NE(out.output.find("replication slot pgoutbox exists but belongs to database other"),
            std::string::npos)
      << out.output;
  EXPECT_EQ(Value("SELECT count(*) FROM pg_class WHERE relname = 'outbox'"), "0");
  pg_->DropSlot("pgoutbox");
}

TEST_F(SetupTest, RejectsBadFlags) {
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{{"--slot", "Bad-Slot"},
                                             {"--slot", ""},
                                             {"--table", "a.b.c"},
                                             {"--publication", ""},
                                             {"--publication", std::string(64, 'p')},
                                             {"--no-such-flag"}}) {
    const Outcome out = Setup(flags);
    EXPECT_EQ(out.code, 2) << flags[0] << ":\n" << out.output;
  }
  EXPECT_EQ(Value("SELECT count(*) FROM pg_class WHERE relname = 'outbox'"), "0");
}

TEST(SetupWalLevelTest, RefusesWithoutLogicalWalLevel) {
  testing::PgServerOptions options;
  options.wal_level = "replica";
  auto pg = PgServer::Start(options);
  ASSERT_NE(pg, nullptr);
  const std::string db = pg->CreateDatabase("app");
  for (bool dry_run : {false, true}) {
    std::vector<std::string> argv = {PgoutboxBinary(), "setup", "--db", pg->ConnInfo(db)};
    if (dry_run) argv.push_back("--dry-run");
    const Outcome out = RunProgram(argv);
    EXPECT_EQ(out.code, 1) << out.output;
    EXPECT_NE(out.output.find("wal_level = replica"), std::string::npos) << out.output;
  }
  EXPECT_EQ(pg->QueryValue(db, "SELECT count(*) FROM pg_class WHERE relname = 'outbox'"), "0");
}

TEST(SetupConnectionTest, FailsWhenTheDatabaseIsUnreachable) {
  const Outcome out =
      RunProgram({PgoutboxBinary(), "setup", "--db", "host=127.0.0.1 port=1 connect_timeout=5"});
  EXPECT_EQ(out.code, 1) << out.output;
  EXPECT_NE(out.output.find("cannot connect"), std::string::npos) << out.output;
}

}  // namespace
}  // namespace pgoutbox::admin
