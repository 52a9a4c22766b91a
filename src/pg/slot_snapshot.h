// SlotSnapshot: a logical replication slot created together with a
// snapshot that a transaction uses, the seam of a gap-free recovery from the
// table. Everything committed before the slot's consistent point is visible
// to queries on connection() (and nothing after it), and everything
// committed after it comes from the slot: each committed row is in exactly
// one of the two.
//
// Create() opens a replication connection (replication=database), starts a
// read-only REPEATABLE READ transaction and creates the slot in it with
// pgoutput and the snapshot in use (CREATE_REPLICATION_SLOT ... USE_SNAPSHOT
// on PostgreSQL 14; (SNAPSHOT 'use') from 15 on, and (FAILOVER true) from 17
// on when asked). Like any logical slot creation it waits for the
// transactions running at that moment to end. The caller reads the rows it
// needs on connection(), then Finish() ends the transaction; the slot stays.
// Destroying it without Finish() rolls the transaction back; the slot stays
// too (a created slot is only dropped explicitly).
//
// Ownership: owns the replication connection. Thread safety: one thread.
// Failure: the server's message; FailedPrecondition when the slot exists.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "common/types.h"
#include "pg/connection.h"

namespace pgoutbox::pg {

struct SlotSnapshotOptions {
  std::string conninfo;
  std::string slot;
  bool failover = false;  // PostgreSQL 17 and later: a failover slot
};

class SlotSnapshot {
 public:
  static Result<std::unique_ptr<SlotSnapshot>> Create(const SlotSnapshotOptions& options);
  ~SlotSnapshot();
  SlotSnapshot(const SlotSnapshot&) = delete;
  SlotSnapshot& operator=(const SlotSnapshot&) = delete;

  // Where the slot starts: the first commit it streams ends after it.
  Lsn consistent_point() const { return consistent_point_; }
  const std::string& snapshot_name() const { return snapshot_name_; }
  // The connection whose queries see the snapshot (until Finish()).
  PgConnection& connection() { return *conn_; }
  // The server's version (server_version_num).
  int server_version() const { return server_version_; }

  // Ends the snapshot's transaction.
  Status Finish();

 private:
  SlotSnapshot() = default;
  std::unique_ptr<PgConnection> conn_;
  Lsn consistent_point_;
  std::string snapshot_name_;
  int server_version_ = 0;
  bool in_transaction_ = false;
};

}  // namespace pgoutbox::pg
