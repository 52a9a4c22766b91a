#include "pg/catalog.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/duration.h"
#include "pg/table_selection.h"

namespace pgoutbox::pg {

namespace {

// Splits one identifier off the front of `s`; handles "quoted""names".
Result<std::string> TakeIdentifier(std::string_view& s, const std::string& whole) {
  std::string out;
  if (!s.empty() && s.front() == '"') {
    size_t i = 1;
    for (;;) {
      if (i >= s.size()) {
        return Status::InvalidArgument("--table " + whole + ": unterminated quoted identifier");
      }
      if (s[i] == '"') {
        if (i + 1 < s.size() && s[i + 1] == '"') {
          out.push_back('"');
          i += 2;
          continue;
        }
        ++i;
        break;
      }
      out.push_back(s[i++]);
    }
    s.remove_prefix(i);
  } else {
    size_t i = 0;
    while (i < s.size() && s[i] != '.') {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(s[i]))));
      ++i;
    }
    s.remove_prefix(i);
  }
  if (out.empty()) return Status::InvalidArgument("--table " + whole + ": empty name");
  return out;
}

}  // namespace

Result<TableName> ParseTableName(const std::string& text) {
  std::string_view s(text);
  ASSIGN_OR_RETURN(std::string first, TakeIdentifier(s, text));
  if (s.empty()) return TableName{"public", first};
  if (s.front() != '.') {
    return Status::InvalidArgument("--table " + text + ": expected schema.table");
  }
  s.remove_prefix(1);
  ASSIGN_OR_RETURN(std::string second, TakeIdentifier(s, text));
  if (!s.empty()) return Status::InvalidArgument("--table " + text + ": expected schema.table");
  return TableName{first, second};
}

Status CheckWalLevel(PgConnection& conn) {
  ASSIGN_OR_RETURN(Rows rows, conn.Query("SHOW wal_level"));
  std::string level = rows.empty() ? "" : rows.Get(0, 0);
  if (level != "logical") {
    return Status::FailedPrecondition(
        "the server has wal_level = " + level +
        "; logical replication needs wal_level = logical (set it in postgresql.conf and restart "
        "PostgreSQL)");
  }
  return Status::Ok();
}

Result<std::vector<ColumnInfo>> TableColumns(PgConnection& conn, const TableName& table) {
  ASSIGN_OR_RETURN(
      Rows rel, conn.QueryParams("SELECT c.oid, c.relkind FROM pg_class c JOIN pg_namespace n ON "
                                 "n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                                 {table.schema, table.name}));
  if (rel.empty()) {
    return Status::NotFound("table " + table.ToString() +
                            " does not exist (create it with sql/outbox.sql, or name another "
                            "with --table)");
  }
  std::string kind = rel.Get(0, 1);
  if (kind != "r" && kind != "p") {
    return Status::FailedPrecondition(table.ToString() + " is not a table (relkind " + kind + ")");
  }
  ASSIGN_OR_RETURN(Rows cols, conn.QueryParams("SELECT attname, atttypid FROM pg_attribute WHERE "
                                               "attrelid = $1 AND attnum > 0 AND NOT attisdropped "
                                               "ORDER BY attnum",
                                               {rel.Get(0, 0)}));
  std::vector<ColumnInfo> out;
  for (size_t i = 0; i < cols.size(); ++i) {
    out.push_back(ColumnInfo{cols.Get(i, 0), static_cast<uint32_t>(std::stoul(cols.Get(i, 1)))});
  }
  return out;
}

namespace {

// A LIKE pattern (escape character backslash) for one part of a pattern:
// `*` becomes `%`, and LIKE's own `%`, `_` and `\` are escaped.
std::string LikePattern(const std::string& part, bool glob) {
  std::string out;
  for (char c : part) {
    if (glob && c == '*') {
      out.push_back('%');
    } else {
      if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
  }
  return out;
}

std::string TableList(PgConnection& conn, const std::vector<TableName>& tables) {
  std::string out;
  for (const TableName& t : tables) {
    if (!out.empty()) out += ", ";
    out += conn.QuoteIdentifier(t.schema) + "." + conn.QuoteIdentifier(t.name);
  }
  return out;
}

std::string Names(const std::vector<TableName>& tables) {
  std::string out;
  for (const TableName& t : tables) out += (out.empty() ? "" : ", ") + t.ToString();
  return out;
}

}  // namespace

Result<std::vector<TableName>> ListTables(PgConnection& conn, const TableSelection& selection) {
  // The server narrows the candidates with LIKE; Matches() decides.
  std::string where;
  std::vector<std::string> params;
  for (const TablePattern& p : selection.patterns()) {
    params.push_back(LikePattern(p.schema, p.schema_glob));
    params.push_back(LikePattern(p.name, p.name_glob));
    where += std::string(where.empty() ? "" : " OR ") + "(n.nspname LIKE $" +
             std::to_string(params.size() - 1) + " AND c.relname LIKE $" +
             std::to_string(params.size()) + ")";
  }
  if (where.empty()) return std::vector<TableName>{};
  ASSIGN_OR_RETURN(
      Rows rows,
      conn.QueryParams("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid "
                       "= c.relnamespace WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
                       "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname "
                       "NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND (" +
                           where + ")",
                       params));
  std::vector<TableName> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    TableName t{rows.Get(i, 0), rows.Get(i, 1)};
    if (selection.Matches(t)) out.push_back(std::move(t));
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool PublicationInfo::Includes(const TableName& t) const {
  return all_tables || std::find(tables.begin(), tables.end(), t) != tables.end();
}

Result<PublicationInfo> InspectPublication(PgConnection& conn, const std::string& publication,
                                           const TableSelection& selection) {
  PublicationInfo info;
  ASSIGN_OR_RETURN(Rows pub, conn.QueryParams("SELECT pubinsert, puballtables FROM "
                                              "pg_publication WHERE pubname = $1",
                                              {publication}));
  if (pub.empty()) return info;
  info.exists = true;
  info.publishes_insert = pub.Get(0, 0) == "t";
  info.all_tables = pub.Get(0, 1) == "t";
  // pg_publication_tables names the leaf partitions of a partitioned table
  // (unless publish_via_partition_root): each is counted as its root, the
  // table that was added.
  ASSIGN_OR_RETURN(
      Rows tables,
      conn.QueryParams("SELECT DISTINCT rn.nspname, rc.relname FROM pg_publication_tables pt "
                       "JOIN pg_namespace n ON n.nspname = pt.schemaname "
                       "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename "
                       "JOIN pg_class rc ON rc.oid = coalesce(pg_partition_root(c.oid), c.oid) "
                       "JOIN pg_namespace rn ON rn.oid = rc.relnamespace "
                       "WHERE pt.pubname = $1 ORDER BY 1, 2",
                       {publication}));
  for (size_t i = 0; i < tables.size(); ++i) {
    TableName t{tables.Get(i, 0), tables.Get(i, 1)};
    if (!selection.Matches(t)) info.other_tables.push_back(t);
    info.tables.push_back(std::move(t));
  }
  std::sort(info.tables.begin(), info.tables.end());
  std::sort(info.other_tables.begin(), info.other_tables.end());
  return info;
}

Status CreatePublication(PgConnection& conn, const std::string& publication,
                         const std::vector<TableName>& tables) {
  std::string sql = "CREATE PUBLICATION " + conn.QuoteIdentifier(publication) + " FOR TABLE " +
                    TableList(conn, tables) + " WITH (publish = 'insert')";
  auto r = conn.Query(sql);
  if (!r.ok()) return r.status().WithContext("cannot create publication " + publication);
  return Status::Ok();
}

Status AddTablesToPublication(PgConnection& conn, const std::string& publication,
                              const std::vector<TableName>& tables) {
  std::string sql = "ALTER PUBLICATION " + conn.QuoteIdentifier(publication) + " ADD TABLE " +
                    TableList(conn, tables);
  auto r = conn.Query(sql);
  if (!r.ok()) {
    return r.status().WithContext("cannot add " + Names(tables) + " to publication " + publication);
  }
  return Status::Ok();
}

Status CheckPublication(const PublicationInfo& info, const std::string& publication,
                        const TableSelection& selection) {
  if (!info.exists) return Status::Ok();
  if (!info.publishes_insert) {
    return Status::FailedPrecondition("publication " + publication +
                                      " exists but does not publish inserts (ALTER PUBLICATION " +
                                      publication + " SET (publish = 'insert'))");
  }
  if (info.all_tables) {
    return Status::FailedPrecondition(
        "publication " + publication +
        " exists but is FOR ALL TABLES; pgoutbox needs one that publishes only the outbox "
        "tables (" +
        selection.ToString() + ") (choose another --publication)");
  }
  if (!info.other_tables.empty()) {
    return Status::FailedPrecondition(
        "publication " + publication + " exists but also publishes " + Names(info.other_tables) +
        ", which --table " + selection.ToString() +
        " does not select; pgoutbox needs one that publishes only the outbox tables (ALTER "
        "PUBLICATION " +
        publication + " DROP TABLE " + Names(info.other_tables) +
        ", or choose another --publication)");
  }
  return Status::Ok();
}

std::vector<TableName> MissingFromPublication(const PublicationInfo& info,
                                              const std::vector<TableName>& tables) {
  std::vector<TableName> out;
  for (const TableName& t : tables) {
    if (!info.Includes(t)) out.push_back(t);
  }
  return out;
}

bool SlotIsLost(const SlotInfo& info) {
  return info.exists && (info.wal_status == "lost" || !info.invalidation_reason.empty() ||
                         info.conflicting.value_or(false));
}

Status CheckSlot(const SlotInfo& info, const std::string& slot, const std::string& database,
                 bool allow_lost) {
  if (!info.exists) return Status::Ok();
  if (info.slot_type != "logical" || info.plugin != "pgoutput") {
    return Status::FailedPrecondition("replication slot " + slot + " exists but is a " +
                                      info.slot_type + " slot with plugin '" + info.plugin +
                                      "'; pgoutbox needs a logical slot with plugin pgoutput "
                                      "(choose another --slot)");
  }
  if (info.database != database) {
    return Status::FailedPrecondition("replication slot " + slot +
                                      " exists but belongs to database " + info.database +
                                      ", not " + database + " (choose another --slot)");
  }
  if (info.two_phase.value_or(false)) {
    return Status::FailedPrecondition(
        "replication slot " + slot +
        " exists but was created with two_phase = true: it sends a prepared transaction's rows "
        "at PREPARE TRANSACTION, before it commits or rolls back, which pgoutbox does not "
        "handle; choose another --slot, or drop it (SELECT pg_drop_replication_slot('" +
        slot + "')) and let pgoutbox create it again");
  }
  if (!allow_lost && SlotIsLost(info)) {
    return Status::FailedPrecondition(
        "replication slot " + slot + " exists but was invalidated (" +
        (info.wal_status == "lost" ? std::string("wal_status = lost")
                                   : "invalidation_reason = " + (info.invalidation_reason.empty()
                                                                     ? std::string("conflicting")
                                                                     : info.invalidation_reason)) +
        "): the changes it needed are gone and events may have been lost; drop it (SELECT "
        "pg_drop_replication_slot('" +
        slot + "')) after reconciling, then create it again");
  }
  return Status::Ok();
}

Result<SlotInfo> InspectSlot(PgConnection& conn, const std::string& slot) {
  SlotInfo info;
  // to_jsonb reads the columns of newer versions without failing on older
  // ones: a column the server lacks is NULL.
  ASSIGN_OR_RETURN(
      Rows rows,
      conn.QueryParams("SELECT plugin, database, slot_type, active, active_pid, "
                       "confirmed_flush_lsn, wal_status, temporary, j ->> 'failover', "
                       "j ->> 'synced', j ->> 'invalidation_reason', j ->> 'conflicting', "
                       "j ->> 'two_phase' "
                       "FROM (SELECT s.*, to_jsonb(s) AS j FROM pg_replication_slots s "
                       "WHERE slot_name = $1) s",
                       {slot}));
  if (rows.empty()) return info;
  info.exists = true;
  info.plugin = rows.Get(0, 0);
  info.database = rows.Get(0, 1);
  info.slot_type = rows.Get(0, 2);
  info.active = rows.Get(0, 3) == "t";
  info.active_pid = rows.Get(0, 4);
  if (!rows.IsNull(0, 5)) info.confirmed_flush = Lsn::Parse(rows.Get(0, 5));
  info.wal_status = rows.Get(0, 6);
  info.temporary = rows.Get(0, 7) == "t";
  auto flag = [&](size_t col) -> std::optional<bool> {
    if (rows.IsNull(0, col)) return std::nullopt;
    return rows.Get(0, col) == "true";
  };
  info.failover = flag(8);
  info.synced = flag(9);
  info.invalidation_reason = rows.Get(0, 10);
  info.conflicting = flag(11);
  info.two_phase = flag(12);
  return info;
}

Status ValidateSlotName(const std::string& slot) {
  bool valid = !slot.empty() && slot.size() <= 63;
  for (char c : slot) {
    valid = valid && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  }
  if (valid) return Status::Ok();
  return Status::InvalidArgument("--slot \"" + slot +
                                 "\" is not a valid slot name: 1 to 63 lower-case letters, digits "
                                 "or _");
}

Status ValidatePublicationName(const std::string& publication) {
  if (publication.empty()) return Status::InvalidArgument("--publication must not be empty");
  if (publication.size() > 63) {
    return Status::InvalidArgument("--publication \"" + publication + "\" is longer than 63 bytes");
  }
  return Status::Ok();
}

Result<std::string> DescribeSlotHolder(PgConnection& conn, const std::string& slot) {
  ASSIGN_OR_RETURN(
      Rows rows, conn.QueryParams(
                     "SELECT s.active_pid, r.application_name, host(r.client_addr), r.client_port, "
                     "date_trunc('second', r.backend_start) FROM pg_replication_slots s "
                     "LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid "
                     "WHERE s.slot_name = $1 AND s.active",
                     {slot}));
  if (rows.empty()) return std::string();
  const std::string pid = rows.Get(0, 0);
  if (rows.IsNull(0, 1) && rows.IsNull(0, 4)) return "server pid " + pid;
  std::string who = "application_name '" + rows.Get(0, 1) + "' from ";
  if (rows.IsNull(0, 2)) {
    who += "a local socket";
  } else {
    who += rows.Get(0, 2) + (rows.IsNull(0, 3) ? "" : ":" + rows.Get(0, 3));
  }
  if (!rows.IsNull(0, 4)) who += ", connected since " + rows.Get(0, 4);
  return who + " (server pid " + pid + ")";
}

Result<int> ServerVersionNum(PgConnection& conn) {
  ASSIGN_OR_RETURN(Rows rows, conn.Query("SHOW server_version_num"));
  const std::string text = rows.empty() ? "" : rows.Get(0, 0);
  int version = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::Internal("server_version_num is not a number: '" + text + "'");
  }
  return version;
}

Status CheckServerVersion(int server_version_num) {
  if (server_version_num >= kMinServerVersion) return Status::Ok();
  const int major = server_version_num / 10000;
  // Before 10 the number was three parts: 90624 is 9.6.24.
  const std::string version =
      major >= 10 ? std::to_string(major) + "." + std::to_string(server_version_num % 10000)
                  : std::to_string(major) + "." + std::to_string(server_version_num / 100 % 100);
  return Status::FailedPrecondition("the server runs PostgreSQL " + version +
                                    " (server_version_num " + std::to_string(server_version_num) +
                                    "); pgoutbox needs PostgreSQL 14 or later");
}

Result<std::chrono::milliseconds> WalSenderTimeout(PgConnection& conn) {
  ASSIGN_OR_RETURN(Rows rows, conn.Query("SHOW wal_sender_timeout"));
  const std::string text = rows.empty() ? "" : rows.Get(0, 0);
  // The server writes it with the largest unit that divides it: "1min",
  // "5s", "500ms", "0".
  auto timeout = ParseDuration(text);
  if (!timeout.ok()) {
    return Status::Internal("wal_sender_timeout is not a duration: '" + text + "'");
  }
  return *timeout;
}

Status DropSlot(PgConnection& conn, const std::string& slot) {
  return conn.QueryParams("SELECT pg_drop_replication_slot($1)", {slot}).status();
}

Status CreateSlot(PgConnection& conn, const std::string& slot) {
  auto version = ServerVersionNum(conn);
  if (!version.ok()) return version.status().WithContext("cannot create replication slot " + slot);
  const char* sql = *version >= kFailoverSlotsVersion
                        ? "SELECT pg_create_logical_replication_slot($1, 'pgoutput', "
                          "failover => true)"
                        : "SELECT pg_create_logical_replication_slot($1, 'pgoutput')";
  auto r = conn.QueryParams(sql, {slot});
  if (!r.ok()) return r.status().WithContext("cannot create replication slot " + slot);
  return Status::Ok();
}

std::string FailoverSlotWarning(const SlotInfo& info, const std::string& slot,
                                int server_version_num) {
  if (!info.exists || server_version_num < kFailoverSlotsVersion || info.failover.value_or(true)) {
    return "";
  }
  return "replication slot " + slot +
         " is not a failover slot (failover = false): a promoted standby will not have it, and "
         "pgoutbox cannot continue from it after a failover. Make it one while pgoutbox is "
         "stopped, over a replication connection: psql \"dbname=... replication=database\" -c "
         "'ALTER_REPLICATION_SLOT " +
         slot +
         " (FAILOVER true)'; or, with pgoutbox stopped after it confirmed everything and no "
         "application writing events, drop the slot (SELECT pg_drop_replication_slot('" +
         slot + "')) and let pgoutbox create it again";
}

Result<Lsn> CurrentWalLsn(PgConnection& conn) {
  ASSIGN_OR_RETURN(Rows rows, conn.Query("SELECT pg_current_wal_lsn()"));
  auto lsn = rows.empty() ? std::nullopt : Lsn::Parse(rows.Get(0, 0));
  if (!lsn) return Status::Internal("pg_current_wal_lsn() returned no position");
  return *lsn;
}

}  // namespace pgoutbox::pg
