// Status: how far behind pgoutbox's replication slot is and how much WAL it
// holds back, plus the outbox table's size and oldest row, as
// `pgoutbox status` reports them for humans, scripts and health checks.
//
// GatherStatus runs a few read-only queries (any role that can read the
// outbox table will do; pg_replication_slots is readable by everyone). Judge,
// RenderStatusText and RenderStatusJson are pure. Thread safety: GatherStatus
// uses the caller's connection from one thread; the rest are pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/types.h"
#include "pg/catalog.h"
#include "pg/connection.h"
#include "pg/table_selection.h"

namespace pgoutbox::admin {

// The replication slot, from pg_replication_slots. Every field but `exists`
// is unknown (empty, nullopt) when the slot does not exist.
struct SlotStatus {
  bool exists = false;
  std::string plugin;     // "pgoutput"
  std::string slot_type;  // "logical"
  std::string database;
  bool active = false;
  std::optional<int64_t> active_pid;  // while a walsender uses it
  std::optional<Lsn> confirmed_flush;
  std::optional<Lsn> restart;
  // The server's current WAL position minus confirmed_flush: what a consumer
  // has not confirmed yet (never negative).
  std::optional<uint64_t> lag_bytes;
  // The current position minus restart_lsn: the WAL the server keeps for it.
  std::optional<uint64_t> retained_bytes;
  std::string wal_status;  // reserved, extended, unreserved, lost
  // How much more WAL may be written before the slot is lost; nullopt when
  // max_slot_wal_keep_size is -1 (no limit) or the slot is already lost.
  std::optional<int64_t> safe_wal_size;
  bool temporary = false;
  // PostgreSQL 17 and later (nullopt before): a failover slot; on a standby,
  // a copy synchronized from the primary.
  std::optional<bool> failover;
  std::optional<bool> synced;
  std::string invalidation_reason;  // 17+: "" unless invalidated
  std::optional<bool> conflicting;  // 16+: invalidated by a recovery conflict
};

// The outbox table. Unknown values are nullopt, and `note` says why (the
// table is missing, the role may not read it, it has no created_at column).
struct OutboxStatus {
  std::optional<int64_t> rows;
  std::optional<double> oldest_row_age_seconds;  // also nullopt for an empty table
  std::string note;
};

// One outbox table of the selection.
struct TableStatus {
  std::string name;  // schema.table
  OutboxStatus outbox;
};

struct StatusReport {
  std::string slot_name;
  // One table: its name ("schema.table") and `outbox` its status. Several (or
  // none): the --table selection as given ("tenant_*.outbox"), and `outbox`
  // the sum over `tables` (rows unknown if any table's are; the oldest row of
  // them all).
  std::string table_name;
  int server_version_num = 0;
  // A standby (pg_is_in_recovery()): current_wal is then its replay
  // position (pg_last_wal_replay_lsn()), and the report says whether its
  // synced copy of the slot is ready to take over after a promotion.
  bool in_recovery = false;
  Lsn current_wal;  // pg_current_wal_lsn() when gathered
  SlotStatus slot;
  OutboxStatus outbox;
  // Every table --table selects, sorted (the ones that exist and match, and
  // exact entries that do not exist, noted so).
  std::vector<TableStatus> tables;
};

// Gathers the report, for every table of `selection`. A missing slot or
// table is reported in it, not an error; a failed connection or query is
// (Unavailable/FailedPrecondition with the server's message).
Result<StatusReport> GatherStatus(pg::PgConnection& conn, const std::string& slot,
                                  const pg::TableSelection& selection);

// The sum of several tables' statuses, as StatusReport::outbox holds it.
// Pure.
OutboxStatus SumOutboxes(const std::vector<TableStatus>& tables);

struct Verdict {
  bool healthy = true;
  std::string reason;  // when unhealthy: "slot pgoutbox is 1.2 GB behind (--max-lag 1 GB)"
  // What a person should act on even when healthy, one sentence each.
  std::vector<std::string> warnings;
  // On a standby: whether its copy of the slot can take over after a
  // promotion (nullopt on a primary), and why not.
  std::optional<bool> ready_to_take_over;
  std::string takeover_note;
};

// On a standby (report.in_recovery): whether the slot is ready to take over
// after a promotion: PostgreSQL 17 or later, and the slot a synced copy
// (synced), persistent (not temporary: the first sync has completed), not
// invalidated. `why` receives the reason it is not, or what makes it ready.
bool ReadyToTakeOver(const StatusReport& report, std::string* why);

// Unhealthy when the slot is missing, lost (wal_status = lost), or more than
// `max_lag_bytes` behind; healthy otherwise, also while the lag is unknown.
// On a standby the same, and unhealthy too when it runs PostgreSQL 17 or
// later and the slot is not ready to take over (ReadyToTakeOver); on 14 to
// 16 a warning says that slots are not synced there. The lag of a standby's
// slot is measured from the standby's replay position.
//
// A slot that exists but is not active (no pgoutbox is streaming from it)
// while it retains WAL gets a warning: it holds that WAL, and more with every
// write, until pgoutbox runs. It stays healthy (exit 0) unless the lag
// exceeds `max_lag_bytes`: right after `pgoutbox setup`, during a restart or a
// hot standby's takeover, an inactive slot is expected, and --max-lag is the
// threshold a monitor sets for how much retained WAL is too much. The warning
// makes the state visible instead; alert on `active` (--json) to page on it.
Verdict Judge(const StatusReport& report, uint64_t max_lag_bytes);

// Aligned "key: value" lines, sizes also humanised ("12.3 MB (12897485
// bytes)"), a "warning: <text>" line per warning, then "healthy" or
// "unhealthy: <reason>" (always the last line). With several tables, the
// totals ("tables", "rows", "oldest_row_age") then a "table" line each
// ("tenant_a.outbox: 12 rows, oldest 3m 12s").
std::string RenderStatusText(const StatusReport& report, const Verdict& verdict);

// One JSON object on one line: numbers as numbers, null where unknown, and
// "healthy", "reason" (null when healthy) and "warnings" (an array of
// strings, empty when none). `max_lag_bytes` is included. "table",
// "row_count", "oldest_row_age_seconds" and "table_note" are the table's (or
// the totals), and "tables" an array of one object with those four keys per
// table.
std::string RenderStatusJson(const StatusReport& report, const Verdict& verdict,
                             uint64_t max_lag_bytes);

// "0s", "42s", "3m 12s", "5h 3m", "2d 4h".
std::string FormatAge(double seconds);

}  // namespace pgoutbox::admin
