#include "admin/setup.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <memory>

#include "admin/sql_template.h"
#include "common/defaults.h"
#include "common/text.h"
#include "pg/column_info.h"
#include "pg/table_selection.h"
#include "sql/embedded_sql.h"

namespace pgoutbox::admin {

namespace {

// The names the files in sql/ are written with.
constexpr char kDefaultSchema[] = "public";
constexpr char kDefaultTable[] = "outbox";
constexpr char kDefaultIndex[] = "outbox_created_at_idx";
constexpr char kDefaultName[] = "pgoutbox";  // publication, slot and role alike
static_assert(defaults::kPublication == kDefaultName && defaults::kSlot == kDefaultName &&
                  defaults::kRole == kDefaultName &&
                  defaults::kTable == std::string_view("public.outbox"),
              "the default names are the ones sql/ spells");

std::string IndexName(const pg::TableName& table) { return table.name + "_created_at_idx"; }

// Each file names one kind of object `pgoutbox`, so the replacements are per
// file.
std::string Qualified(const pg::TableName& t, const SqlQuoting& q) {
  return q.identifier(t.schema) + "." + q.identifier(t.name);
}

// `tables`: one for outbox.sql and role.sql; all of them for publication.sql.
SqlReplacements ReplacementsFor(SqlFile file, const SetupNames& names,
                                const std::vector<pg::TableName>& tables, const SqlQuoting& q) {
  SqlReplacements r;
  std::string table;
  for (const pg::TableName& t : tables) table += (table.empty() ? "" : ", ") + Qualified(t, q);
  switch (file) {
    case SqlFile::kOutbox:
      r.qualified_names[{kDefaultSchema, kDefaultTable}] = table;
      r.identifiers[kDefaultIndex] = q.identifier(IndexName(tables.front()));
      break;
    case SqlFile::kPublication:
      r.qualified_names[{kDefaultSchema, kDefaultTable}] = table;
      r.identifiers[kDefaultName] = q.identifier(names.publication);
      r.literals[kDefaultName] = q.literal(names.publication);
      break;
    case SqlFile::kRole:
      r.qualified_names[{kDefaultSchema, kDefaultTable}] = table;
      r.identifiers[kDefaultSchema] = q.identifier(tables.front().schema);
      r.identifiers[kDefaultName] = q.identifier(names.role);
      r.literals[kDefaultName] = q.literal(names.role);
      break;
    case SqlFile::kSlot:
      r.identifiers[kDefaultName] = q.identifier(names.slot);
      r.literals[kDefaultName] = q.literal(names.slot);
      break;
  }
  return r;
}

// `text` in `quote`s, inner quotes doubled. Not for literals with
// backslashes when standard_conforming_strings is off (a server since 9.1
// has it on).
std::string AlwaysQuote(const std::string& text, char quote) {
  std::string out(1, quote);
  for (char c : text) {
    if (c == quote) out.push_back(quote);
    out.push_back(c);
  }
  out.push_back(quote);
  return out;
}

// quote_ident and quote_literal of every name, asked of the server once.
Result<SqlQuoting> ServerQuoting(pg::PgConnection& conn, const SetupNames& names,
                                 const std::vector<pg::TableName>& tables) {
  auto idents = std::make_shared<std::map<std::string, std::string>>();
  auto literals = std::make_shared<std::map<std::string, std::string>>();
  std::vector<std::string> all = {names.publication, names.slot, names.role};
  for (const pg::TableName& t : tables) {
    all.insert(all.end(), {t.schema, t.name, IndexName(t)});
  }
  for (const std::string& name : all) {
    if (idents->count(name) > 0) continue;
    ASSIGN_OR_RETURN(pg::Rows rows,
                     conn.QueryParams("SELECT quote_ident($1), quote_literal($1)", {name}));
    (*idents)[name] = rows.Get(0, 0);
    (*literals)[name] = rows.Get(0, 1);
  }
  SqlQuoting q;
  // Every name setup writes is in the maps; quoting always is the fallback.
  q.identifier = [idents](const std::string& name) {
    auto it = idents->find(name);
    return it != idents->end() ? it->second : AlwaysQuote(name, '"');
  };
  q.literal = [literals](const std::string& value) {
    auto it = literals->find(value);
    return it != literals->end() ? it->second : AlwaysQuote(value, '\'');
  };
  return q;
}

std::string Join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : separator) + s;
  return out;
}

std::string Script(const std::vector<std::string>& statements) {
  std::string out;
  for (const auto& s : statements) out += s + ";\n";
  return out;
}

// Logs server notices ("relation ... already exists, skipping") instead of
// libpq's default of printing them to stderr.
void LogNotice(void*, const PGresult* result) {
  const char* severity = PQresultErrorField(result, PG_DIAG_SEVERITY_NONLOCALIZED);
  std::string message = pg::TrimMessage(PQresultErrorMessage(result));
  if (severity != nullptr && std::string_view(severity) == "WARNING") {
    spdlog::warn("server: {}", message);
  } else {
    spdlog::debug("server: {}", message);
  }
}

// The outbox tables once setup ran (sorted), and the exact entries among
// them, each known to be missing or a table.
struct PlannedTables {
  std::vector<pg::TableName> all;
  std::vector<pg::TableName> exact;    // in the order given
  std::vector<pg::TableName> missing;  // exact entries setup creates
  // Exact entries that exist without a created_at column (a Debezium-shaped
  // table): sql/outbox.sql's index on it cannot be made, cleanup skips them.
  std::vector<pg::TableName> without_created_at;
};

Result<PlannedTables> FindTables(pg::PgConnection& conn, const pg::TableSelection& selection) {
  PlannedTables t;
  ASSIGN_OR_RETURN(t.all, pg::ListTables(conn, selection));
  t.exact = selection.ExactTables();
  for (const pg::TableName& table : t.exact) {
    if (std::find(t.all.begin(), t.all.end(), table) != t.all.end()) {
      ASSIGN_OR_RETURN(std::vector<pg::ColumnInfo> columns, pg::TableColumns(conn, table));
      if (!pg::HasColumn(columns, std::string(defaults::kCreatedAtColumn))) {
        t.without_created_at.push_back(table);
      }
      continue;
    }
    // Missing, or something other than a table (a view, a partition).
    auto columns = pg::TableColumns(conn, table);
    if (columns.ok()) {
      return Status::FailedPrecondition(table.ToString() +
                                        " exists but is not an outbox table pgoutbox can use (a "
                                        "partition, or in a system schema)");
    }
    if (columns.status().code() != Status::Code::kNotFound) return columns.status();
    t.missing.push_back(table);
    t.all.push_back(table);
  }
  std::sort(t.all.begin(), t.all.end());
  if (t.all.empty()) {
    return Status::NotFound("no table matches --table " + selection.ToString() +
                            ", and a pattern creates none: create the outbox tables first (see "
                            "sql/outbox.sql), or name one without a wildcard");
  }
  return t;
}

bool Contains(const std::vector<pg::TableName>& tables, const pg::TableName& t) {
  return std::find(tables.begin(), tables.end(), t) != tables.end();
}

Result<SetupStep> PlanTable(const SetupNames& names, const PlannedTables& tables,
                            const SqlQuoting& quoting) {
  SetupStep step{SqlFile::kOutbox, {}, {}};
  for (const pg::TableName& t : tables.all) {
    SetupItem item;
    item.name = "table " + t.ToString();
    item.exists = !Contains(tables.missing, t);
    if (!Contains(tables.exact, t)) item.note = "matches --table " + names.tables.ToString();
    if (Contains(tables.without_created_at, t)) {
      item.note = "no created_at column: cleanup leaves it alone";
    }
    step.items.push_back(item);
  }
  // The file for every exact entry (CREATE ... IF NOT EXISTS: a no-op for
  // one that exists, but for the index on created_at where that column is
  // missing); a pattern creates nothing.
  std::vector<pg::TableName> rendered;
  for (const pg::TableName& t : tables.exact) {
    if (!Contains(tables.without_created_at, t)) rendered.push_back(t);
  }
  if (!rendered.empty()) {
    ASSIGN_OR_RETURN(step.statements, SqlFileStatements(step.file, names, rendered, quoting));
  }
  return step;
}

Result<SetupStep> PlanPublication(pg::PgConnection& conn, const SetupNames& names,
                                  const PlannedTables& tables, const SqlQuoting& quoting) {
  SetupStep step{SqlFile::kPublication, {}, {}};
  const std::string& pub = names.publication;
  ASSIGN_OR_RETURN(pg::PublicationInfo info, pg::InspectPublication(conn, pub, names.tables));
  RETURN_IF_ERROR(pg::CheckPublication(info, pub, names.tables));
  SetupItem item;
  item.name = "publication " + pub;
  item.exists = info.exists;
  step.items.push_back(item);
  const std::vector<pg::TableName> to_add =
      info.exists ? pg::MissingFromPublication(info, tables.all) : std::vector<pg::TableName>{};
  // A line per table, unless the publication is of the one table only.
  if (tables.all.size() > 1 || !to_add.empty()) {
    for (const pg::TableName& t : tables.all) {
      SetupItem table;
      table.name = "publication " + pub + ": table " + t.ToString();
      table.exists = info.exists && info.Includes(t);
      table.exists_word = "included";
      table.created_word = "added";
      if (!table.exists && info.exists) {
        // Rows inserted before the table is in the publication are never
        // streamed: say so, and how to publish them.
        ASSIGN_OR_RETURN(pg::Rows held,
                         conn.Query("SELECT count(*), now() FROM " + Qualified(t, quoting)));
        if (!held.empty() && held.Get(0, 0) != "0") {
          table.note = table.created_note =
              "it already holds " + held.Get(0, 0) +
              " rows, inserted before it was in the publication: they are not streamed; "
              "publish them with pgoutbox replay --table " +
              t.ToString() + " --until '" + held.Get(0, 1) + "'";
        }
      }
      step.items.push_back(table);
    }
  }
  ASSIGN_OR_RETURN(step.statements, SqlFileStatements(step.file, names, tables.all, quoting));
  if (!to_add.empty()) {
    std::string list;
    for (const pg::TableName& t : to_add)
      list += (list.empty() ? "" : ", ") + Qualified(t, quoting);
    step.statements.push_back("ALTER PUBLICATION " + quoting.identifier(pub) + " ADD TABLE " +
                              list);
  }
  return step;
}

Result<SetupStep> PlanRole(pg::PgConnection& conn, const SetupNames& names,
                           const PlannedTables& tables, const SqlQuoting& quoting) {
  SetupStep step{SqlFile::kRole, {}, {}};
  const std::string& role = names.role;
  ASSIGN_OR_RETURN(pg::Rows found, conn.QueryParams("SELECT rolcanlogin, rolreplication, rolsuper "
                                                    "FROM pg_catalog.pg_roles WHERE rolname = $1",
                                                    {role}));
  SetupItem role_item;
  role_item.name = "role " + role;
  role_item.exists = !found.empty();
  if (role_item.exists && found.Get(0, 2) != "t") {
    std::vector<std::string> missing;
    if (found.Get(0, 0) != "t") missing.push_back("LOGIN");
    if (found.Get(0, 1) != "t") missing.push_back("REPLICATION");
    if (!missing.empty()) {
      role_item.note = "without " + Join(missing, " ") + ", which pgoutbox run needs: ALTER ROLE " +
                       quoting.identifier(role) + " " + Join(missing, " ");
    }
  }
  role_item.created_note =
      "no password yet: ALTER ROLE " + quoting.identifier(role) + " PASSWORD '...'";
  step.items.push_back(role_item);

  for (const pg::TableName& t : tables.all) {
    SetupItem grants;
    grants.name = "grants to role " + role + " (USAGE on schema " + t.schema +
                  ", SELECT, DELETE on " + t.ToString() + ")";
    grants.exists_word = "present";
    grants.created_word = "granted";
    if (role_item.exists) {
      ASSIGN_OR_RETURN(pg::Rows has,
                       conn.QueryParams("SELECT has_schema_privilege($1::name, n.oid, 'USAGE') AND "
                                        "has_table_privilege($1::name, c.oid, 'SELECT') AND "
                                        "has_table_privilege($1::name, c.oid, 'DELETE') "
                                        "FROM pg_catalog.pg_class c "
                                        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                                        "WHERE n.nspname = $2 AND c.relname = $3",
                                        {role, t.schema, t.name}));
      grants.exists = !has.empty() && has.Get(0, 0) == "t";
    }
    step.items.push_back(grants);
  }
  ASSIGN_OR_RETURN(step.statements, SqlFileStatements(step.file, names, tables.all, quoting));
  return step;
}

Result<SetupStep> PlanSlot(pg::PgConnection& conn, const SetupNames& names,
                           const SqlQuoting& quoting) {
  SetupStep step{SqlFile::kSlot, {}, {}};
  const std::string& slot = names.slot;
  ASSIGN_OR_RETURN(pg::SlotInfo info, pg::InspectSlot(conn, slot));
  if (info.exists) {
    ASSIGN_OR_RETURN(pg::Rows db, conn.Query("SELECT current_database()"));
    RETURN_IF_ERROR(pg::CheckSlot(info, slot, db.Get(0, 0)));
  }
  SetupItem item;
  item.name = "slot " + slot;
  item.exists = info.exists;
  step.items.push_back(item);
  ASSIGN_OR_RETURN(step.statements, SqlFileStatements(step.file, names, {}, quoting));
  return step;
}

// Rows counted before the slot is created stop at this many: a huge outbox
// should not make setup scan it all just to say "at least".
constexpr uint64_t kRowCountCap = 1000000;

// The rows in the table before the slot exists (up to kRowCountCap); nullopt
// if they cannot be counted (logged at debug level: only a note depends on
// it).
std::optional<uint64_t> RowsBeforeSlot(pg::PgConnection& conn,
                                       const std::vector<pg::TableName>& tables) {
  uint64_t total = 0;
  for (const pg::TableName& table : tables) {
    if (total >= kRowCountCap) break;
    auto rows =
        conn.Query("SELECT count(*) FROM (SELECT FROM " + conn.QuoteIdentifier(table.schema) + "." +
                   conn.QuoteIdentifier(table.name) + " LIMIT " +
                   std::to_string(kRowCountCap - total) + ") t");
    if (!rows.ok()) {
      spdlog::debug("cannot count the rows of {}: {}", table.ToString(), rows.status().message());
      return std::nullopt;
    }
    total += std::stoull(rows->Get(0, 0));
  }
  return total;
}

// A failed step's Status: the file and the server's message, not the whole
// SQL text that PgConnection puts in its message.
Status StepFailure(const SetupStep& step, const Status& status, const pg::SqlError& error) {
  std::string message = SqlFileName(step.file) + " (" + step.items.front().name +
                        ") failed: " + (error.message.empty() ? status.message() : error.message);
  if (status.code() == Status::Code::kUnavailable) return Status::Unavailable(message);
  return Status::FailedPrecondition(message);
}

}  // namespace

std::string_view EmbeddedSql(SqlFile file) {
  switch (file) {
    case SqlFile::kOutbox:
      return sql::kOutboxSql;
    case SqlFile::kPublication:
      return sql::kPublicationSql;
    case SqlFile::kRole:
      return sql::kRoleSql;
    case SqlFile::kSlot:
      return sql::kSlotSql;
  }
  return {};
}

std::string SqlFileName(SqlFile file) {
  switch (file) {
    case SqlFile::kOutbox:
      return "sql/outbox.sql";
    case SqlFile::kPublication:
      return "sql/publication.sql";
    case SqlFile::kRole:
      return "sql/role.sql";
    case SqlFile::kSlot:
      return "sql/slot.sql";
  }
  return "sql/?";
}

Result<std::vector<std::string>> SqlFileStatements(SqlFile file, const SetupNames& names,
                                                   const std::vector<pg::TableName>& tables,
                                                   const SqlQuoting& quoting) {
  // The slot's file names no table; the others need at least one.
  std::vector<std::vector<pg::TableName>> renderings;
  if (file == SqlFile::kSlot || tables.empty()) {
    renderings.push_back({pg::TableName{}});
  } else if (file == SqlFile::kPublication) {
    renderings.push_back(tables);
  } else {
    for (const pg::TableName& t : tables) renderings.push_back({t});
  }
  std::vector<std::string> out;
  for (const auto& rendering : renderings) {
    auto statements =
        RenderStatements(EmbeddedSql(file), ReplacementsFor(file, names, rendering, quoting));
    if (!statements.ok()) {
      return Status::Internal("cannot parse the embedded " + SqlFileName(file) + ": " +
                              statements.status().message());
    }
    for (std::string& statement : *statements) {
      if (std::find(out.begin(), out.end(), statement) == out.end()) {
        out.push_back(std::move(statement));
      }
    }
  }
  return out;
}

std::string ItemLine(const SetupItem& item, bool dry_run) {
  std::string state = item.exists ? item.exists_word
                      : dry_run   ? "would be " + item.created_word
                                  : item.created_word;
  std::string line = item.name + ": " + state;
  const std::string& note = item.exists || dry_run ? item.note : item.created_note;
  if (!note.empty()) line += " (" + note + ")";
  return line;
}

Result<SetupPlan> PlanSetup(pg::PgConnection& conn, const SetupNames& names) {
  RETURN_IF_ERROR(pg::CheckWalLevel(conn));
  ASSIGN_OR_RETURN(PlannedTables tables, FindTables(conn, names.tables));
  ASSIGN_OR_RETURN(SqlQuoting quoting, ServerQuoting(conn, names, tables.all));
  SetupPlan plan;
  plan.names = names;
  plan.tables = tables.all;
  ASSIGN_OR_RETURN(SetupStep table, PlanTable(names, tables, quoting));
  plan.steps.push_back(std::move(table));
  ASSIGN_OR_RETURN(SetupStep publication, PlanPublication(conn, names, tables, quoting));
  plan.steps.push_back(std::move(publication));
  if (!names.role.empty()) {
    ASSIGN_OR_RETURN(SetupStep role, PlanRole(conn, names, tables, quoting));
    plan.steps.push_back(std::move(role));
  }
  ASSIGN_OR_RETURN(SetupStep slot, PlanSlot(conn, names, quoting));
  plan.steps.push_back(std::move(slot));
  return plan;
}

std::vector<std::string> SlotCreatedNotes(const SetupNames& names, const std::optional<Lsn>& at,
                                          std::optional<uint64_t> rows_before, bool rows_capped) {
  const std::string table = names.tables.ToString();
  std::vector<std::string> notes;
  notes.push_back("note: slot " + names.slot +
                  " now retains WAL until pgoutbox runs: the server keeps all WAL" +
                  (at ? " from " + at->ToString() : std::string()) +
                  " on for it, and more with every write, until pgoutbox confirms it; start "
                  "pgoutbox run soon, or drop the slot (SELECT pg_drop_replication_slot(" +
                  AlwaysQuote(names.slot, '\'') + ")) if pgoutbox will not run");
  std::string rows = "only rows committed after the slot was created are streamed";
  if (!rows_before) {
    rows += "; rows already in " + table + " are never published";
  } else if (*rows_before == 0) {
    rows += " (" + table + " was empty)";
  } else {
    rows += std::string(rows_capped ? "; at least " : "; the ") + Counted(*rows_before, "row") +
            " already in " + table + " will never be published";
  }
  notes.push_back("note: " + rows);
  return notes;
}

Status ApplySetup(pg::PgConnection& conn, const SetupPlan& plan,
                  const std::function<void(const std::string&)>& report) {
  PQsetNoticeReceiver(conn.get(), LogNotice, nullptr);
  for (const SetupStep& step : plan.steps) {
    const bool creates_slot = step.file == SqlFile::kSlot && !step.items.front().exists;
    std::optional<uint64_t> rows_before;
    if (creates_slot) rows_before = RowsBeforeSlot(conn, plan.tables);
    if (!step.statements.empty()) {
      // One simple-protocol query: its statements run as one transaction.
      const std::string sql = Script(step.statements);
      spdlog::debug("running {}:\n{}", SqlFileName(step.file), sql);
      pg::SqlError error;
      auto result = conn.Query(sql, &error);
      if (!result.ok()) return StepFailure(step, result.status(), error);
    }
    for (SetupItem item : step.items) {
      std::vector<std::string> notes;
      if (!item.exists && step.file == SqlFile::kSlot) {
        ASSIGN_OR_RETURN(pg::SlotInfo slot, pg::InspectSlot(conn, plan.names.slot));
        if (slot.confirmed_flush) item.created_note = "at " + slot.confirmed_flush->ToString();
        notes = SlotCreatedNotes(plan.names, slot.confirmed_flush, rows_before,
                                 rows_before && *rows_before >= kRowCountCap);
      }
      report(ItemLine(item, /*dry_run=*/false));
      for (const std::string& note : notes) report(note);
    }
  }
  return Status::Ok();
}

std::string RenderDryRun(const SetupPlan& plan) {
  std::string out =
      "-- pgoutbox setup --dry-run: nothing was changed. The SQL setup would run, in order;\n"
      "-- each step runs as one transaction, the slot's alone and last.\n";
  for (const SetupStep& step : plan.steps) {
    out += "\n-- " + SqlFileName(step.file) + "\n";
    for (const SetupItem& item : step.items) {
      out += "-- " + ItemLine(item, /*dry_run=*/true) + "\n";
      if (step.file == SqlFile::kSlot && !item.exists) {
        out +=
            "-- note: once created, the slot retains WAL until pgoutbox runs, and only rows "
            "committed after its creation are streamed\n";
      }
    }
    out += Script(step.statements);
  }
  return out;
}

}  // namespace pgoutbox::admin
