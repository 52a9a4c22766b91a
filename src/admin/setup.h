// Setup: what `pgoutbox setup` does. It creates, idempotently and in this
// order, the outbox table, the publication, the least-privilege role with its
// grants, and the logical replication slot, by running the SQL files of sql/
// (compiled in at build time) with the given names substituted. The slot comes
// last and on its own: creating a logical slot waits for every transaction
// running at that moment to end. From its creation the slot retains WAL until
// pgoutbox confirms it, and only rows committed after it exists are streamed,
// so when setup creates the slot it says both (SlotCreatedNotes).
//
// Several outbox tables: --table selects them (pg::TableSelection). Setup
// creates the table of each exact entry that does not exist (a pattern
// creates nothing), puts every selected table into the publication (creating
// it for all of them, or adding the ones it lacks) and grants the role its
// privileges on each; every table gets a line of its own in the report.
//
// PlanSetup only reads: which objects exist, the conflicts setup cannot fix
// (a publication of other tables, a slot of another database), and the
// statements of each step. ApplySetup runs a plan; RenderDryRun prints it as
// a script. Thread safety: one thread (uses the caller's connection).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/defaults.h"
#include "common/status.h"
#include "common/types.h"
#include "pg/catalog.h"
#include "pg/connection.h"
#include "pg/table_selection.h"

namespace pgoutbox::admin {

// The names setup writes into the SQL files in place of the defaults.
struct SetupNames {
  // The outbox tables (--table): public.outbox by default.
  pg::TableSelection tables = pg::TableSelection::Of(pg::TableName{});
  std::string publication{defaults::kPublication};
  std::string slot{defaults::kSlot};
  std::string role{defaults::kRole};  // empty: no role and no grants
};

// The files of sql/, in the order setup applies them.
enum class SqlFile { kOutbox, kPublication, kRole, kSlot };

// The file's text as compiled in, and its path in the source tree.
std::string_view EmbeddedSql(SqlFile file);
std::string SqlFileName(SqlFile file);  // "sql/outbox.sql"

// How names are written in SQL; in production the server's quote_ident and
// quote_literal, which quote only where needed (so the default names come out
// exactly as the files spell them).
struct SqlQuoting {
  std::function<std::string(const std::string&)> identifier;
  std::function<std::string(const std::string&)> literal;
};

// The statements of `file` (each without its semicolon) with `names`
// substituted, and `tables` written where the file says public.outbox:
// sql/outbox.sql and sql/role.sql are rendered once per table (a statement an
// earlier table's rendering already has is left out: the role is created
// once, a schema granted once), sql/publication.sql lists them all; none for
// sql/slot.sql. Internal error if the embedded file cannot be parsed.
Result<std::vector<std::string>> SqlFileStatements(SqlFile file, const SetupNames& names,
                                                   const std::vector<pg::TableName>& tables,
                                                   const SqlQuoting& quoting);

// One object setup reports on: "table public.outbox: exists".
struct SetupItem {
  std::string name;                      // "table public.outbox"
  bool exists = false;                   // before setup ran
  std::string exists_word = "exists";    // or "present" (grants)
  std::string created_word = "created";  // or "granted"
  std::string note;                      // shown in parentheses when not empty
  std::string created_note;              // shown instead of `note` once setup created it
};

// The report line of `item`: after applying, "<name>: exists" or
// "<name>: created (<created_note>)"; for a dry run
// "<name>: would be created".
std::string ItemLine(const SetupItem& item, bool dry_run);

struct SetupStep {
  SqlFile file;
  std::vector<SetupItem> items;
  std::vector<std::string> statements;  // may be empty: nothing to run, only to report
};

struct SetupPlan {
  SetupNames names;
  // The outbox tables once setup ran: those that exist and match, and the
  // exact entries it creates; sorted by schema, then name.
  std::vector<pg::TableName> tables;
  std::vector<SetupStep> steps;  // table, publication, role (unless names.role is empty), slot
};

// Checks wal_level (FailedPrecondition unless logical), then inspects the
// database without changing it. FailedPrecondition, naming the object and the
// fix, when an existing object is not what pgoutbox needs: a publication
// that does not publish inserts, is FOR ALL TABLES or has tables --table does
// not select (tables it lacks are added); a slot that is not a pgoutput
// logical slot of this database, or was invalidated; an exact entry that
// names something other than a table. NotFound when no table would be an
// outbox table (only patterns, and none matches yet).
Result<SetupPlan> PlanSetup(pg::PgConnection& conn, const SetupNames& names);

// What setup says after creating slot `names.slot` (at `at`, if known):
// that the slot now retains WAL until pgoutbox runs (start it soon, or drop
// the slot), and that only rows committed after its creation are streamed,
// with how many rows already in the tables never will be (`rows_before`:
// nullopt if unknown; `rows_capped`: there were at least that many). One
// sentence per line, each starting with "note: ".
std::vector<std::string> SlotCreatedNotes(const SetupNames& names, const std::optional<Lsn>& at,
                                          std::optional<uint64_t> rows_before,
                                          bool rows_capped = false);

// Runs each step's statements, each file in one transaction of its own (the
// slot's last), and calls `report` with the line of every item after its step
// succeeded; after the slot's line, if it created the slot, with each line of
// SlotCreatedNotes (rows counted just before, up to a cap). Stops at the first failure, returning
// its Status; the steps before it stay applied (running setup again is safe). Server notices
// ("already exists, skipping") go to the debug log.
Status ApplySetup(pg::PgConnection& conn, const SetupPlan& plan,
                  const std::function<void(const std::string&)>& report);

// The plan as a psql script: a comment line per item (and, if the slot would
// be created, a note on what that means), then the statements.
std::string RenderDryRun(const SetupPlan& plan);

}  // namespace pgoutbox::admin
