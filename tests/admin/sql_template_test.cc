// The SQL template renderer: statement splitting that respects PostgreSQL's
// lexical rules, and name replacement only where a token is that name.
#include "admin/sql_template.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgoutbox::admin {
namespace {

using Statements = std::vector<std::string>;

Statements Render(const std::string& sql, const SqlReplacements& r = {}) {
  auto out = RenderStatements(sql, r);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : Statements{};
}

SqlReplacements Pgoutbox(const std::string& identifier, const std::string& literal) {
  SqlReplacements r;
  r.identifiers["pgoutbox"] = identifier;
  r.literals["pgoutbox"] = literal;
  return r;
}

TEST(SqlTemplateTest, SplitsAtTopLevelSemicolonsAndDropsComments) {
  EXPECT_EQ(Render("-- header\n-- more\nSELECT 1; SELECT 2;\n\n-- trailing\n"),
            (Statements{"SELECT 1", "SELECT 2"}));
  EXPECT_EQ(Render("SELECT 1"), (Statements{"SELECT 1"}));  // no final semicolon
  EXPECT_EQ(Render(";;  ; -- nothing\n"), Statements{});
  EXPECT_EQ(Render("SELECT 'a;b', \"c;d\", $$e;f$$, $t$g;h$t$; SELECT 2"),
            (Statements{"SELECT 'a;b', \"c;d\", $$e;f$$, $t$g;h$t$", "SELECT 2"}));
  EXPECT_EQ(Render("SELECT /* a; /* nested; */ still; */ 1;"), (Statements{"SELECT   1"}));
  EXPECT_EQ(Render("SELECT '--not a comment', 1 -- a comment; with a semicolon\n;"),
            (Statements{"SELECT '--not a comment', 1"}));
  EXPECT_EQ(Render("SELECT E'it\\'s; fine';"), (Statements{"SELECT E'it\\'s; fine'"}));
  EXPECT_EQ(Render("SELECT $1, a$$b FROM t;"), (Statements{"SELECT $1, a$$b FROM t"}));
}

TEST(SqlTemplateTest, KeepsLayoutButNotBlankLinesOrTrailingSpaces) {
  const std::string sql =
      "CREATE TABLE t (   \n"
      "  -- the id\n"
      "  id int,\n"
      "\n"
      "  note text  -- free text\n"
      ");\n";
  EXPECT_EQ(Render(sql), (Statements{"CREATE TABLE t (\n  id int,\n  note text\n)"}));
  // Space inside literals is data, never touched.
  EXPECT_EQ(Render("SELECT 'a  \n\n  b';"), (Statements{"SELECT 'a  \n\n  b'"}));
}

TEST(SqlTemplateTest, ReplacesWholeIdentifiersAndLiteralsOnly) {
  const SqlReplacements r = Pgoutbox("\"My Name\"", "'My Name'");
  EXPECT_EQ(Render("CREATE ROLE pgoutbox;", r), (Statements{"CREATE ROLE \"My Name\""}));
  EXPECT_EQ(Render("CREATE ROLE PGOUTBOX;", r), (Statements{"CREATE ROLE \"My Name\""}));
  EXPECT_EQ(Render("CREATE ROLE \"pgoutbox\";", r), (Statements{"CREATE ROLE \"My Name\""}));
  EXPECT_EQ(Render("SELECT 1 WHERE x = 'pgoutbox';", r),
            (Statements{"SELECT 1 WHERE x = 'My Name'"}));
  // Not: a quoted identifier with another case, longer words, other
  // literals, escape strings, comments.
  for (const char* kept : {"SELECT \"PGOUTBOX\"", "SELECT pgoutbox_x, x_pgoutbox, pgoutbox$x",
                           "SELECT 'pgoutbox run', 'PGOUTBOX'", "SELECT E'pgoutbox'",
                           "SELECT pgoutput", "SELECT pg.pgoutbox_slot"}) {
    EXPECT_EQ(Render(kept, r), Statements{kept});
  }
  EXPECT_EQ(Render("-- pgoutbox\nSELECT 1 /* 'pgoutbox' */;", r), (Statements{"SELECT 1"}));
}

TEST(SqlTemplateTest, QualifiedNamesWinOverTheirParts) {
  SqlReplacements r;
  r.qualified_names[{"public", "outbox"}] = "app.\"Events\"";
  r.identifiers["public"] = "app";
  EXPECT_EQ(Render("GRANT USAGE ON SCHEMA public TO x; GRANT SELECT ON public.outbox TO x;", r),
            (Statements{"GRANT USAGE ON SCHEMA app TO x", "GRANT SELECT ON app.\"Events\" TO x"}));
  EXPECT_EQ(Render("SELECT * FROM \"public\".\"outbox\", PUBLIC.OUTBOX;", r),
            (Statements{"SELECT * FROM app.\"Events\", app.\"Events\""}));
  // Only that qualified name: another table of the schema keeps its name.
  EXPECT_EQ(Render("SELECT * FROM public.other;", r), (Statements{"SELECT * FROM app.other"}));
}

TEST(SqlTemplateTest, RewritesDollarQuotedBodies) {
  const std::string sql =
      "DO $$\n"
      "BEGIN\n"
      "  -- only if missing\n"
      "  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pgoutbox') THEN\n"
      "    CREATE ROLE pgoutbox LOGIN;\n"
      "  END IF;\n"
      "END\n"
      "$$;\n";
  EXPECT_EQ(Render(sql, Pgoutbox("app_role", "'app_role'")),
            (Statements{"DO $$\n"
                        "BEGIN\n"
                        "  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_role') THEN\n"
                        "    CREATE ROLE app_role LOGIN;\n"
                        "  END IF;\n"
                        "END\n"
                        "$$"}));
}

TEST(SqlTemplateTest, ChangesTheDollarTagWhenTheNewBodyContainsIt) {
  const SqlReplacements r = Pgoutbox("\"a$$b\"", "'a$$b'");
  EXPECT_EQ(Render("DO $$ BEGIN CREATE ROLE pgoutbox; END $$;", r),
            (Statements{"DO $pgoutbox0$ BEGIN CREATE ROLE \"a$$b\"; END $pgoutbox0$"}));
  EXPECT_EQ(Render("DO $x$ BEGIN CREATE ROLE pgoutbox; END $x$;", r),
            (Statements{"DO $x$ BEGIN CREATE ROLE \"a$$b\"; END $x$"}));
  // A "$" inside the body is fine...
  EXPECT_EQ(Render("SELECT $$'pgoutbox'$$;", Pgoutbox("x", "'x$'")),
            (Statements{"SELECT $$'x$'$$"}));
  // ...but not at its end, where it would merge with the closing "$$".
  EXPECT_EQ(Render("SELECT $$pgoutbox$$;", Pgoutbox("a$", "'a'")),
            (Statements{"SELECT $pgoutbox0$a$$pgoutbox0$"}));
}

TEST(SqlTemplateTest, RejectsUnterminatedTokens) {
  for (const char* bad : {"SELECT 'open", "SELECT \"open", "SELECT /* open", "SELECT /* a /* b */",
                          "DO $$ open", "DO $a$ open $b$", "SELECT E'open\\'"}) {
    auto out = RenderStatements(bad);
    EXPECT_FALSE(out.ok()) << bad;
    if (!out.ok()) {
      EXPECT_EQ(out.status().code(), Status::Code::kInvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace pgoutbox::admin
