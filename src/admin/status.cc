#include "admin/status.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

#include "common/byte_size.h"
#include "common/defaults.h"
#include "common/json_escape.h"
#include "common/text.h"

namespace pgoutbox::admin {

namespace {

std::optional<int64_t> ParseInt(const pg::Rows& rows, size_t col) {
  if (rows.IsNull(0, col)) return std::nullopt;
  const std::string text = rows.Get(0, col);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<uint64_t> ParseNonNegative(const pg::Rows& rows, size_t col) {
  auto v = ParseInt(rows, col);
  if (!v) return std::nullopt;
  return static_cast<uint64_t>(*v < 0 ? 0 : *v);
}

std::optional<double> ParseDouble(const pg::Rows& rows, size_t col) {
  if (rows.IsNull(0, col)) return std::nullopt;
  const std::string text = rows.Get(0, col);
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str()) return std::nullopt;
  return value;
}

std::optional<Lsn> ParseLsn(const pg::Rows& rows, size_t col) {
  if (rows.IsNull(0, col)) return std::nullopt;
  return Lsn::Parse(rows.Get(0, col));
}

// The server's message of a failed query, without PgConnection's preamble.
std::string QueryError(const Status& status, const pg::SqlError& error) {
  return error.message.empty() ? status.message() : error.message;
}

OutboxStatus GatherOutbox(pg::PgConnection& conn, const pg::TableName& table) {
  OutboxStatus out;
  auto columns = pg::TableColumns(conn, table);
  if (!columns.ok()) {
    out.note = columns.status().code() == Status::Code::kNotFound
                   ? "table " + table.ToString() + " does not exist"
                   : columns.status().message();
    return out;
  }
  bool has_created_at = false;
  for (const auto& c : *columns) has_created_at |= c.name == defaults::kCreatedAtColumn;
  const std::string qualified =
      conn.QuoteIdentifier(table.schema) + "." + conn.QuoteIdentifier(table.name);
  const std::string sql =
      "SELECT count(*), " +
      std::string(has_created_at ? "extract(epoch FROM now() - min(created_at))" : "NULL") +
      " FROM " + qualified;
  pg::SqlError error;
  auto rows = conn.Query(sql, &error);
  if (!rows.ok()) {
    out.note = QueryError(rows.status(), error);
    return out;
  }
  out.rows = ParseInt(*rows, 0);
  out.oldest_row_age_seconds = ParseDouble(*rows, 1);
  if (!has_created_at) out.note = "table " + table.ToString() + " has no column created_at";
  return out;
}

// ---- Rendering ----------------------------------------------------------

std::string SizeText(std::optional<uint64_t> bytes) {
  if (!bytes) return "unknown";
  if (*bytes < 1024) return FormatByteSize(*bytes);
  return FormatByteSize(*bytes) + " (" + std::to_string(*bytes) + " bytes)";
}

std::string JsonString(std::string_view s) { return "\"" + JsonEscape(s) + "\""; }

// Builds one JSON object, fields in insertion order.
class JsonObject {
 public:
  void String(const std::string& key, const std::string& value) { Add(key, JsonString(value)); }
  void StringOrNull(const std::string& key, const std::string& value) {
    Add(key, value.empty() ? "null" : JsonString(value));
  }
  void Bool(const std::string& key, bool value) { Add(key, value ? "true" : "false"); }
  void StringArray(const std::string& key, const std::vector<std::string>& values) {
    std::string json;
    for (const std::string& v : values) json += (json.empty() ? "" : ",") + JsonString(v);
    Add(key, "[" + json + "]");
  }
  template <typename T>
  void Number(const std::string& key, std::optional<T> value) {
    Add(key, value ? std::to_string(*value) : "null");
  }
  void Double(const std::string& key, std::optional<double> value) {
    if (!value || !std::isfinite(*value)) return Add(key, "null");
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.3f", *value);
    Add(key, buf);
  }
  void LsnOrNull(const std::string& key, const std::optional<Lsn>& value) {
    Add(key, value ? JsonString(value->ToString()) : "null");
  }
  void Objects(const std::string& key, const std::vector<JsonObject>& objects) {
    std::string json;
    for (const JsonObject& o : objects) json += (json.empty() ? "" : ",") + o.Finish();
    Add(key, "[" + json + "]");
  }
  std::string Finish() const { return "{" + body_ + "}"; }

 private:
  void Add(const std::string& key, const std::string& json) {
    if (!body_.empty()) body_ += ",";
    body_ += JsonString(key) + ":" + json;
  }
  std::string body_;
};

}  // namespace

OutboxStatus SumOutboxes(const std::vector<TableStatus>& tables) {
  OutboxStatus sum;
  int64_t total = 0;
  size_t unknown = 0;
  for (const TableStatus& t : tables) {
    if (t.outbox.rows) {
      total += *t.outbox.rows;
    } else {
      ++unknown;
    }
    if (t.outbox.oldest_row_age_seconds &&
        (!sum.oldest_row_age_seconds ||
         *t.outbox.oldest_row_age_seconds > *sum.oldest_row_age_seconds)) {
      sum.oldest_row_age_seconds = t.outbox.oldest_row_age_seconds;
    }
  }
  if (unknown == 0) sum.rows = total;
  if (unknown > 0) {
    sum.note = "the rows of " + std::to_string(unknown) + " of " + std::to_string(tables.size()) +
               " tables are unknown";
  }
  return sum;
}

Result<StatusReport> GatherStatus(pg::PgConnection& conn, const std::string& slot,
                                  const pg::TableSelection& selection) {
  StatusReport report;
  report.slot_name = slot;
  ASSIGN_OR_RETURN(std::vector<pg::TableName> tables, pg::ListTables(conn, selection));
  for (const pg::TableName& exact : selection.ExactTables()) {
    if (std::find(tables.begin(), tables.end(), exact) == tables.end()) tables.push_back(exact);
  }
  std::sort(tables.begin(), tables.end());
  // One row whether or not the slot exists; every WAL difference is taken
  // against the same current position.
  ASSIGN_OR_RETURN(
      pg::Rows rows,
      conn.QueryParams(
          // A standby has no current WAL position of its own: its replay
          // position is what its slot copies are compared with. to_jsonb
          // reads the columns of newer versions (17: failover, synced,
          // invalidation_reason; 16: conflicting) as NULL on older ones.
          "WITH cur AS (SELECT pg_is_in_recovery() AS standby, CASE WHEN pg_is_in_recovery() "
          "THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn) "
          "SELECT cur.lsn, s.slot_name, s.plugin, s.slot_type, s.database, s.active, "
          "s.active_pid, s.confirmed_flush_lsn, s.restart_lsn, "
          "pg_wal_lsn_diff(cur.lsn, s.confirmed_flush_lsn)::bigint, "
          "pg_wal_lsn_diff(cur.lsn, s.restart_lsn)::bigint, s.wal_status, s.safe_wal_size, "
          "cur.standby, current_setting('server_version_num'), s.temporary, "
          "s.j ->> 'failover', s.j ->> 'synced', s.j ->> 'invalidation_reason', "
          "s.j ->> 'conflicting' "
          "FROM cur LEFT JOIN (SELECT r.*, to_jsonb(r) AS j FROM "
          "pg_catalog.pg_replication_slots r) s ON s.slot_name = $1",
          {slot}));
  if (rows.empty()) return Status::Internal("the slot query returned no row");
  auto current = ParseLsn(rows, 0);
  if (!current) return Status::Internal("pg_current_wal_lsn() returned no position");
  report.current_wal = *current;
  report.in_recovery = rows.Get(0, 13) == "t";
  report.server_version_num = static_cast<int>(ParseInt(rows, 14).value_or(0));
  SlotStatus& s = report.slot;
  s.exists = !rows.IsNull(0, 1);
  if (s.exists) {
    s.plugin = rows.Get(0, 2);
    s.slot_type = rows.Get(0, 3);
    s.database = rows.Get(0, 4);
    s.active = rows.Get(0, 5) == "t";
    s.active_pid = ParseInt(rows, 6);
    s.confirmed_flush = ParseLsn(rows, 7);
    s.restart = ParseLsn(rows, 8);
    s.lag_bytes = ParseNonNegative(rows, 9);
    s.retained_bytes = ParseNonNegative(rows, 10);
    s.wal_status = rows.Get(0, 11);
    s.safe_wal_size = ParseInt(rows, 12);
    s.temporary = rows.Get(0, 15) == "t";
    auto flag = [&](size_t col) -> std::optional<bool> {
      if (rows.IsNull(0, col)) return std::nullopt;
      return rows.Get(0, col) == "true";
    };
    s.failover = flag(16);
    s.synced = flag(17);
    s.invalidation_reason = rows.Get(0, 18);
    s.conflicting = flag(19);
  }
  for (const pg::TableName& table : tables) {
    report.tables.push_back(TableStatus{table.ToString(), GatherOutbox(conn, table)});
  }
  if (report.tables.size() == 1) {
    report.table_name = report.tables.front().name;
    report.outbox = report.tables.front().outbox;
  } else {
    report.table_name = selection.ToString();
    report.outbox = SumOutboxes(report.tables);
    if (report.tables.empty())
      report.outbox.note = "no table matches --table " + selection.ToString();
  }
  return report;
}

bool ReadyToTakeOver(const StatusReport& report, std::string* why) {
  const SlotStatus& s = report.slot;
  const std::string slot = "slot " + report.slot_name;
  auto answer = [&](bool ready, std::string text) {
    *why = std::move(text);
    return ready;
  };
  if (report.server_version_num < pg::kFailoverSlotsVersion) {
    return answer(false, "PostgreSQL " + std::to_string(report.server_version_num / 10000) +
                             " does not synchronize logical slots to standbys: after a "
                             "promotion " +
                             slot + " is not there");
  }
  if (!s.exists) {
    return answer(false, slot +
                             " has not been synchronized to this standby (a failover slot on "
                             "the primary, and sync_replication_slots = on here?)");
  }
  if (!s.synced.value_or(false)) {
    return answer(false, slot +
                             " here is not a copy synchronized from the primary (synced = "
                             "false): pgoutbox's slot on the primary is not this one");
  }
  if (!s.invalidation_reason.empty() || s.conflicting.value_or(false) || s.wal_status == "lost") {
    return answer(false, slot + " here was invalidated" +
                             (s.invalidation_reason.empty() ? std::string()
                                                            : " (" + s.invalidation_reason + ")"));
  }
  if (s.temporary) {
    return answer(false, slot +
                             " here is not persistent yet (temporary): the standby has not yet "
                             "replayed the WAL up to the primary's slot position; it would be "
                             "dropped on promotion");
  }
  return answer(true, slot + " is synced from the primary" +
                          (s.confirmed_flush ? " at " + s.confirmed_flush->ToString() : "") +
                          "; pgoutbox continues from it after a promotion");
}

Verdict Judge(const StatusReport& report, uint64_t max_lag_bytes) {
  const SlotStatus& s = report.slot;
  const std::string slot = "slot " + report.slot_name;
  Verdict verdict;
  if (report.in_recovery) {
    std::string why;
    verdict.ready_to_take_over = ReadyToTakeOver(report, &why);
    verdict.takeover_note = why;
    if (report.server_version_num < pg::kFailoverSlotsVersion) {
      verdict.warnings.push_back(
          "this standby runs PostgreSQL " + std::to_string(report.server_version_num / 10000) +
          ", which does not synchronize logical slots: after a failover pgoutbox recovers from "
          "the rows the outbox table retains (see --retention)");
    }
  }
  if (!s.exists) {
    verdict.healthy = false;
    verdict.reason = slot + " does not exist";
    if (verdict.ready_to_take_over) verdict.reason += " on this standby";
    return verdict;
  }
  if (s.wal_status == "lost") {
    verdict.healthy = false;
    verdict.reason = slot +
                     " is lost (wal_status = lost): the server removed WAL it still needed, so "
                     "events may be lost";
    return verdict;
  }
  if (report.in_recovery && report.server_version_num >= pg::kFailoverSlotsVersion &&
      !*verdict.ready_to_take_over) {
    verdict.healthy = false;
    verdict.reason = "not ready to take over: " + verdict.takeover_note;
    return verdict;
  }
  // A standby's slot copies are never active: only a primary's idle slot
  // is worth a warning.
  if (!report.in_recovery && !s.active && s.retained_bytes && *s.retained_bytes > 0) {
    verdict.warnings.push_back(
        slot + " is inactive: nothing is streaming from it, and it holds " +
        SizeText(s.retained_bytes) +
        " of WAL, which will grow until pgoutbox runs (start pgoutbox run, or drop the slot if "
        "pgoutbox is retired)");
  }
  if (s.lag_bytes && *s.lag_bytes > max_lag_bytes) {
    verdict.healthy = false;
    verdict.reason = slot + " is " + FormatByteSize(*s.lag_bytes) + " behind (--max-lag " +
                     FormatByteSize(max_lag_bytes) + ")";
  }
  return verdict;
}

std::string FormatAge(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  auto total = static_cast<uint64_t>(seconds);
  const uint64_t days = total / 86400, hours = total % 86400 / 3600, minutes = total % 3600 / 60,
                 secs = total % 60;
  auto part = [](uint64_t n, const char* unit) { return std::to_string(n) + unit; };
  if (days > 0) return part(days, "d") + (hours > 0 ? " " + part(hours, "h") : "");
  if (hours > 0) return part(hours, "h") + (minutes > 0 ? " " + part(minutes, "m") : "");
  if (minutes > 0) return part(minutes, "m") + (secs > 0 ? " " + part(secs, "s") : "");
  return part(secs, "s");
}

std::string RenderStatusText(const StatusReport& report, const Verdict& verdict) {
  const SlotStatus& s = report.slot;
  std::vector<std::pair<std::string, std::string>> lines;
  auto add = [&](std::string key, std::string value) {
    lines.emplace_back(std::move(key), std::move(value));
  };
  auto lsn = [](const std::optional<Lsn>& l) { return l ? l->ToString() : "unknown"; };
  auto yes_no = [](bool b) { return std::string(b ? "yes" : "no"); };
  if (report.in_recovery) {
    add("server",
        "standby (in recovery), PostgreSQL " + std::to_string(report.server_version_num / 10000));
  }
  if (!s.exists) {
    add("slot", report.slot_name + " (does not exist)");
  } else {
    add("slot", report.slot_name);
    add("plugin", s.plugin + (s.slot_type != "logical" ? " (" + s.slot_type + ")" : ""));
    add("active", !s.active      ? "no"
                  : s.active_pid ? "yes (pid " + std::to_string(*s.active_pid) + ")"
                                 : "yes");
    if (s.failover) add("failover", yes_no(*s.failover));
    if (report.in_recovery && s.synced) {
      add("synced", yes_no(*s.synced) + (s.temporary ? " (temporary)" : ""));
    }
    if (!s.invalidation_reason.empty()) add("invalidation_reason", s.invalidation_reason);
    add("confirmed_flush_lsn", lsn(s.confirmed_flush));
  }
  add(report.in_recovery ? "replay_lsn" : "current_wal_lsn", report.current_wal.ToString());
  if (s.exists) {
    add("lag", SizeText(s.lag_bytes));
    add("restart_lsn", lsn(s.restart));
    add("retained_wal", SizeText(s.retained_bytes));
    add("wal_status", s.wal_status.empty() ? "unknown" : s.wal_status);
    std::string safe;
    if (s.safe_wal_size) {
      safe = *s.safe_wal_size < 0 ? std::to_string(*s.safe_wal_size) + " bytes"
                                  : SizeText(static_cast<uint64_t>(*s.safe_wal_size));
    } else {
      safe = s.wal_status == "lost" ? "none (lost)" : "unlimited (max_slot_wal_keep_size = -1)";
    }
    add("safe_wal_size", safe);
  }
  const bool several = report.tables.size() > 1;
  if (several) {
    add("tables", std::to_string(report.tables.size()) + " (" + report.table_name + ")");
  } else {
    add("table", report.table_name);
  }
  const OutboxStatus& o = report.outbox;
  auto oldest = [](const OutboxStatus& t) {
    return t.oldest_row_age_seconds ? FormatAge(*t.oldest_row_age_seconds)
           : *t.rows == 0           ? std::string("none (empty)")
                                    : std::string("unknown");
  };
  add("rows", o.rows ? std::to_string(*o.rows) : "unknown");
  if (o.rows) add("oldest_row_age", oldest(o));
  if (!o.note.empty()) add("note", o.note);
  if (several) {
    for (const TableStatus& t : report.tables) {
      std::string line = t.name + ": ";
      if (t.outbox.rows) {
        line +=
            Counted(static_cast<uint64_t>(*t.outbox.rows), "row") + ", oldest " + oldest(t.outbox);
      } else {
        line += "rows unknown";
      }
      if (!t.outbox.note.empty()) line += " (" + t.outbox.note + ")";
      add("table", line);
    }
  }
  if (verdict.ready_to_take_over) {
    add("takeover",
        (*verdict.ready_to_take_over ? "ready: " : "not ready: ") + verdict.takeover_note);
  }

  size_t width = 0;
  for (const auto& [key, value] : lines) width = std::max(width, key.size() + 1);
  std::string out;
  for (const auto& [key, value] : lines) {
    out += key + ":" + std::string(width - key.size(), ' ') + value + "\n";
  }
  for (const std::string& warning : verdict.warnings) out += "warning: " + warning + "\n";
  out += verdict.healthy ? "healthy\n" : "unhealthy: " + verdict.reason + "\n";
  return out;
}

std::string RenderStatusJson(const StatusReport& report, const Verdict& verdict,
                             uint64_t max_lag_bytes) {
  const SlotStatus& s = report.slot;
  const OutboxStatus& o = report.outbox;
  JsonObject j;
  j.String("slot", report.slot_name);
  j.Bool("slot_exists", s.exists);
  j.StringOrNull("plugin", s.plugin);
  j.StringOrNull("slot_type", s.slot_type);
  j.StringOrNull("database", s.database);
  if (s.exists) {
    j.Bool("active", s.active);
  } else {
    j.Number<int64_t>("active", std::nullopt);
  }
  j.Number("active_pid", s.active_pid);
  j.LsnOrNull("confirmed_flush_lsn", s.confirmed_flush);
  j.LsnOrNull("restart_lsn", s.restart);
  j.LsnOrNull("current_wal_lsn", report.current_wal);
  j.Number("lag_bytes", s.lag_bytes);
  j.Number("retained_wal_bytes", s.retained_bytes);
  j.StringOrNull("wal_status", s.wal_status);
  j.Number("safe_wal_size_bytes", s.safe_wal_size);
  j.Bool("in_recovery", report.in_recovery);
  j.Number("server_version_num", std::optional<int>(report.server_version_num));
  auto bool_or_null = [&](const std::string& key, std::optional<bool> value) {
    if (value) {
      j.Bool(key, *value);
    } else {
      j.Number<int64_t>(key, std::nullopt);
    }
  };
  bool_or_null("failover", s.failover);
  bool_or_null("synced", s.synced);
  bool_or_null("temporary", s.exists ? std::optional<bool>(s.temporary) : std::nullopt);
  j.StringOrNull("invalidation_reason", s.invalidation_reason);
  bool_or_null("ready_to_take_over", verdict.ready_to_take_over);
  j.StringOrNull("takeover_note", verdict.takeover_note);
  j.String("table", report.table_name);
  j.Number("row_count", o.rows);
  j.Double("oldest_row_age_seconds", o.oldest_row_age_seconds);
  j.StringOrNull("table_note", o.note);
  std::vector<JsonObject> tables;
  for (const TableStatus& t : report.tables) {
    JsonObject table;
    table.String("table", t.name);
    table.Number("row_count", t.outbox.rows);
    table.Double("oldest_row_age_seconds", t.outbox.oldest_row_age_seconds);
    table.StringOrNull("table_note", t.outbox.note);
    tables.push_back(std::move(table));
  }
  j.Objects("tables", tables);
  j.Number("max_lag_bytes", std::optional<uint64_t>(max_lag_bytes));
  j.Bool("healthy", verdict.healthy);
  j.StringOrNull("reason", verdict.healthy ? "" : verdict.reason);
  j.StringArray("warnings", verdict.warnings);
  return j.Finish() + "\n";
}

}  // namespace pgoutbox::admin
