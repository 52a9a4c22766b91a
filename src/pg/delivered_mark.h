// The PostgreSQL facts recovery from the table rests on (see
// core/delivery_state.h): the server's identity, the delivered mark, and
// whether the retained rows still cover a mark.
//
// Failure: the query's error (Unavailable for a broken connection). Thread
// safety: one thread per connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "common/types.h"
#include "pg/connection.h"

namespace pgoutbox::pg {

// Which cluster and timeline a server is: IDENTIFY_SYSTEM on a replication
// connection.
struct ServerIdentity {
  std::string system_identifier;  // decimal
  uint32_t timeline = 0;
  Lsn wal_end;  // the server's flush position then

  friend bool operator==(const ServerIdentity&, const ServerIdentity&) = default;
};
// REQUIRES: `conn` is a replication connection (Kind::kReplication).
Result<ServerIdentity> IdentifySystem(PgConnection& conn);

// The delivered mark taken now, on a primary, in one statement: the WAL
// insert position, the oldest running transaction id (64-bit) and now().
// Needs no privilege. FailedPrecondition on a standby.
struct DeliveredMark {
  Lsn insert_lsn;
  uint64_t xmin = 0;
  std::string taken_at;  // timestamptz as the server prints it

  friend bool operator==(const DeliveredMark&, const DeliveredMark&) = default;
};
// With `taken_on`: also which cluster and timeline the mark was taken on
// (pg_control_system(), and the timeline of the WAL file being written), in
// the same statement, so that a mark taken on a newly promoted server is
// never judged by positions confirmed on the old one.
Result<DeliveredMark> TakeDeliveredMark(PgConnection& conn, ServerIdentity* taken_on = nullptr);

// Whether no cleanup that deletes rows older than `retention` can yet have
// deleted a row created at or after `taken_at`: taken_at >= now() -
// retention. Always true for a retention of 0 (cleanup off).
Result<bool> RowsCoverMark(PgConnection& conn, const std::string& taken_at,
                           std::chrono::milliseconds retention);

}  // namespace pgoutbox::pg
