#include "pg/slot_snapshot.h"

#include <libpq-fe.h>

#include "pg/catalog.h"

namespace pgoutbox::pg {

Result<std::unique_ptr<SlotSnapshot>> SlotSnapshot::Create(const SlotSnapshotOptions& options) {
  std::unique_ptr<SlotSnapshot> s(new SlotSnapshot());
  ASSIGN_OR_RETURN(s->conn_,
                   PgConnection::Connect(options.conninfo, PgConnection::Kind::kReplication,
                                         "pgoutbox recovery"));
  PgConnection& conn = *s->conn_;
  s->server_version_ = PQserverVersion(conn.get());
  if (options.failover && s->server_version_ < kFailoverSlotsVersion) {
    return Status::FailedPrecondition("failover slots need PostgreSQL 17 or later");
  }
  RETURN_IF_ERROR(conn.Query("BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ").status());
  s->in_transaction_ = true;
  const std::string slot = conn.QuoteIdentifier(options.slot);
  std::string sql = "CREATE_REPLICATION_SLOT " + slot + " LOGICAL pgoutput ";
  if (s->server_version_ < 150000) {
    sql += "USE_SNAPSHOT";
  } else {
    sql += options.failover ? "(SNAPSHOT 'use', FAILOVER true)" : "(SNAPSHOT 'use')";
  }
  SqlError error;
  auto rows = conn.Query(sql, &error);
  if (!rows.ok()) {
    if (error.sqlstate == "42710") {  // duplicate_object
      return Status::FailedPrecondition("replication slot " + options.slot + " already exists");
    }
    return rows.status().WithContext("cannot create replication slot " + options.slot);
  }
  // slot_name, consistent_point, snapshot_name, output_plugin
  if (rows->size() != 1 || rows->rows[0].size() < 3) {
    return Status::Internal("CREATE_REPLICATION_SLOT returned an unexpected result");
  }
  auto point = Lsn::Parse(rows->Get(0, 1));
  if (!point) {
    return Status::Internal("CREATE_REPLICATION_SLOT returned no consistent point: " +
                            rows->Get(0, 1));
  }
  s->consistent_point_ = *point;
  s->snapshot_name_ = rows->Get(0, 2);
  return s;
}

SlotSnapshot::~SlotSnapshot() {
  if (in_transaction_ && conn_) (void)conn_->Query("ROLLBACK");
}

Status SlotSnapshot::Finish() {
  if (!in_transaction_) return Status::Ok();
  in_transaction_ = false;
  return conn_->Query("COMMIT").status();
}

}  // namespace pgoutbox::pg
