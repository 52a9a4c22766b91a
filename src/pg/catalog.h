// Catalog: what pgoutbox checks and creates in the database before it
// streams, over an ordinary connection: wal_level, the outbox table's
// columns, the publication and the logical replication slot.
//
// Every function returns a Status whose message tells the user what is wrong
// and what to do. Thread safety: one thread (uses the given connection).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/types.h"
#include "pg/column_info.h"
#include "pg/connection.h"

namespace pgoutbox::pg {

struct TableName {
  std::string schema = "public";
  std::string name = "outbox";
  std::string ToString() const { return schema + "." + name; }
  friend bool operator==(const TableName&, const TableName&) = default;
  friend auto operator<=>(const TableName&, const TableName&) = default;
};

// Parses "schema.table" or "table" (schema public). Quoted identifiers
// ("My Table") keep their case; unquoted names are folded to lower case like
// PostgreSQL does.
Result<TableName> ParseTableName(const std::string& text);

// FailedPrecondition unless wal_level is logical.
Status CheckWalLevel(PgConnection& conn);

// The table's columns (name and type OID). NotFound if it does not exist.
Result<std::vector<ColumnInfo>> TableColumns(PgConnection& conn, const TableName& table);

class TableSelection;

// The existing tables (relkind r or p, not a partition, not in pg_catalog,
// information_schema or a pg_toast/pg_temp schema) that `selection` matches,
// sorted by schema then name (byte order). An exact entry that matches no
// table is not an error here: callers decide.
Result<std::vector<TableName>> ListTables(PgConnection& conn, const TableSelection& selection);

struct PublicationInfo {
  bool exists = false;
  bool publishes_insert = false;
  bool all_tables = false;  // FOR ALL TABLES
  // The publication's tables (pg_publication_tables), a partition counted as
  // its partitioned root table.
  std::vector<TableName> tables;
  std::vector<TableName> other_tables;  // of those, the ones the selection does not match
  // Whether the publication publishes `t` (it holds it, or is FOR ALL TABLES).
  bool Includes(const TableName& t) const;
};
// Reads the publication from pg_publication and pg_publication_tables;
// `exists` false (and nothing else set) when there is none.
Result<PublicationInfo> InspectPublication(PgConnection& conn, const std::string& publication,
                                           const TableSelection& selection);
// CREATE PUBLICATION p FOR TABLE a, b WITH (publish = 'insert').
// REQUIRES: `tables` non-empty.
Status CreatePublication(PgConnection& conn, const std::string& publication,
                         const std::vector<TableName>& tables);
// ALTER PUBLICATION p ADD TABLE a, b. The caller leaves out the tables
// already in it. REQUIRES: `tables` non-empty.
Status AddTablesToPublication(PgConnection& conn, const std::string& publication,
                              const std::vector<TableName>& tables);
// OK if the publication does not exist, or publishes inserts and holds no
// table the selection does not match (and is not FOR ALL TABLES).
// FailedPrecondition saying how to fix it otherwise. Tables of the selection
// missing from the publication are not an error here: setup and run add them.
Status CheckPublication(const PublicationInfo& info, const std::string& publication,
                        const TableSelection& selection);
// The tables of `tables` that the publication does not publish yet, in order.
std::vector<TableName> MissingFromPublication(const PublicationInfo& info,
                                              const std::vector<TableName>& tables);

struct SlotInfo {
  bool exists = false;
  std::string plugin;
  std::string database;
  std::string slot_type;
  bool active = false;
  std::string active_pid;
  std::optional<Lsn> confirmed_flush;
  std::string wal_status;
  bool temporary = false;
  // PostgreSQL 17 and later only (nullopt before): the slot is synchronized
  // to standbys (failover), or is such a copy on a standby (synced).
  std::optional<bool> failover;
  std::optional<bool> synced;
  // Why the slot was invalidated (17+: wal_removed, rows_removed,
  // wal_level_insufficient, idle_timeout), "" if it was not or the server
  // does not say; `conflicting` (16+): invalidated by a recovery conflict.
  std::string invalidation_reason;
  std::optional<bool> conflicting;
  // PostgreSQL 14 and later (nullopt before): the slot decodes a prepared
  // transaction at PREPARE TRANSACTION (created with two_phase => true).
  std::optional<bool> two_phase;
};
// Reads the slot from pg_replication_slots; the columns a server version
// lacks stay unknown.
Result<SlotInfo> InspectSlot(PgConnection& conn, const std::string& slot);
// OK if the slot does not exist or is a logical pgoutput slot of `database`,
// without two_phase, that was not invalidated (with `allow_lost`: invalidated
// or not). FailedPrecondition saying why otherwise. A two_phase slot is
// refused because it sends a prepared transaction's rows at PREPARE, before
// the transaction commits or rolls back, as messages pgoutbox does not decode.
Status CheckSlot(const SlotInfo& info, const std::string& slot, const std::string& database,
                 bool allow_lost = false);
// Whether the slot can no longer be streamed from: wal_status = lost, or an
// invalidation reason (17+), or conflicting (16+).
bool SlotIsLost(const SlotInfo& info);
// PostgreSQL's rules for the names pgoutbox creates, checked before anything
// is created so that a bad name is a usage error (InvalidArgument, naming the
// flag) and not a half-done start-up. A slot name is 1 to 63 lower-case
// letters, digits or underscores; a publication name is 1 to 63 bytes (a
// longer one would be truncated by the server and then not found).
Status ValidateSlotName(const std::string& slot);
Status ValidatePublicationName(const std::string& publication);

// Who holds an active slot, in words a user can act on: "application_name
// 'pgoutbox' from 10.0.0.7:51544, connected since 2026-12-06 20:01:02+00
// (server pid 1134)". Falls back to the server pid alone when
// pg_stat_replication does not show the holder (another role without
// pg_read_all_stats), and to "" when the slot is not active.
Result<std::string> DescribeSlotHolder(PgConnection& conn, const std::string& slot);

// The first server version whose logical slots can be synchronized to a
// standby and used there after promotion (failover slots).
inline constexpr int kFailoverSlotsVersion = 170000;

// The oldest server pgoutbox streams from (the README's requirement; tested
// with 14 to 18).
inline constexpr int kMinServerVersion = 140000;

// The server's server_version_num (150004 for 15.4).
Result<int> ServerVersionNum(PgConnection& conn);

// OK for PostgreSQL 14 and later; FailedPrecondition naming the version
// (from `server_version_num`) otherwise.
Status CheckServerVersion(int server_version_num);

// The server's wal_sender_timeout (SHOW wal_sender_timeout, which a
// replication connection may run too): how long a walsender waits for a
// reply from its client before it ends the connection; 0 when the server
// never does.
Result<std::chrono::milliseconds> WalSenderTimeout(PgConnection& conn);

// Creates a pgoutput logical slot; waits for running transactions to end.
// On PostgreSQL 17 and later the slot is a failover slot (failover => true),
// so that standbys with sync_replication_slots can take it over.
Status CreateSlot(PgConnection& conn, const std::string& slot);
// Drops the slot (it must not be active). The server's error otherwise.
Status DropSlot(PgConnection& conn, const std::string& slot);

// On PostgreSQL 17 and later (`server_version_num`), the warning for an
// existing slot that is not a failover slot, saying how to make it one; ""
// when there is nothing to say (the slot is missing, a failover slot, or the
// server older).
std::string FailoverSlotWarning(const SlotInfo& info, const std::string& slot,
                                int server_version_num);

// The server's current WAL write position.
Result<Lsn> CurrentWalLsn(PgConnection& conn);

}  // namespace pgoutbox::pg
