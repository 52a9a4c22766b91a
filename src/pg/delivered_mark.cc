#include "pg/delivered_mark.h"

#include <algorithm>
#include <charconv>

namespace pgoutbox::pg {

namespace {

Result<uint64_t> ParseUnsigned(const std::string& text, const char* what) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return Status::Internal(std::string(what) + " is not a number: \"" + text + "\"");
  }
  return value;
}

Result<Lsn> ParseLsn(const std::string& text, const char* what) {
  auto lsn = Lsn::Parse(text);
  if (!lsn) return Status::Internal(std::string(what) + " is not a WAL position: \"" + text + "\"");
  return *lsn;
}

}  // namespace

Result<ServerIdentity> IdentifySystem(PgConnection& conn) {
  // systemid, timeline, xlogpos, dbname
  ASSIGN_OR_RETURN(Rows rows, conn.Query("IDENTIFY_SYSTEM"));
  if (rows.size() != 1 || rows.rows[0].size() < 3) {
    return Status::Internal("IDENTIFY_SYSTEM returned an unexpected result");
  }
  ServerIdentity identity;
  identity.system_identifier = rows.Get(0, 0);
  ASSIGN_OR_RETURN(uint64_t timeline, ParseUnsigned(rows.Get(0, 1), "the timeline"));
  identity.timeline = static_cast<uint32_t>(timeline);
  ASSIGN_OR_RETURN(identity.wal_end, ParseLsn(rows.Get(0, 2), "xlogpos"));
  return identity;
}

Result<DeliveredMark> TakeDeliveredMark(PgConnection& conn, ServerIdentity* taken_on) {
  SqlError error;
  auto rows = conn.Query(
      "SELECT pg_current_wal_insert_lsn(), pg_snapshot_xmin(pg_current_snapshot())::text, "
      "now()::text, (SELECT CASE WHEN system_identifier < 0 THEN system_identifier::numeric + "
      "18446744073709551616 ELSE system_identifier END FROM pg_control_system())::text, "
      "pg_walfile_name(pg_current_wal_insert_lsn())",
      &error);
  if (!rows.ok()) {
    if (error.sqlstate == "55000") {  // recovery is in progress
      return Status::FailedPrecondition("cannot take a delivered mark on a standby: " +
                                        error.message);
    }
    return rows.status();
  }
  DeliveredMark mark;
  ASSIGN_OR_RETURN(mark.insert_lsn, ParseLsn(rows->Get(0, 0), "pg_current_wal_insert_lsn()"));
  ASSIGN_OR_RETURN(mark.xmin, ParseUnsigned(rows->Get(0, 1), "the snapshot's xmin"));
  mark.taken_at = rows->Get(0, 2);
  if (taken_on != nullptr) {
    taken_on->system_identifier = rows->Get(0, 3);
    // A WAL file name starts with its timeline, 8 hex digits.
    const std::string file = rows->Get(0, 4);
    uint32_t timeline = 0;
    auto [end, ec] =
        std::from_chars(file.data(), file.data() + std::min<size_t>(file.size(), 8), timeline, 16);
    if (ec != std::errc() || file.size() < 8 || end != file.data() + 8) {
      return Status::Internal("the WAL file name is not one: \"" + file + "\"");
    }
    taken_on->timeline = timeline;
    taken_on->wal_end = mark.insert_lsn;
  }
  return mark;
}

Result<bool> RowsCoverMark(PgConnection& conn, const std::string& taken_at,
                           std::chrono::milliseconds retention) {
  if (retention.count() <= 0) return true;
  ASSIGN_OR_RETURN(
      Rows rows, conn.QueryParams("SELECT $1::timestamptz >= now() - $2::bigint * interval '1 ms'",
                                  {taken_at, std::to_string(retention.count())}));
  return rows.Get(0, 0) == "t";
}

}  // namespace pgoutbox::pg
