// Failover: what PostgreSQL 17's failover slots need from the servers, as
// `pgoutbox setup` reports it after creating the slot.
//
// From PostgreSQL 17 a logical slot created with failover => true is copied
// to standbys that have sync_replication_slots = on (with
// hot_standby_feedback, a physical slot of their own on the primary as
// primary_slot_name, and a dbname in primary_conninfo), and the primary
// holds logical decoding back until the standbys named in
// synchronized_standby_slots have the WAL. After a promotion pgoutbox
// continues from the copy. Before 17 slots do not survive a failover.
//
// ReadFailoverSettings only reads (pg_settings, pg_replication_slots: no
// privilege needed, settings the role may not see stay unknown);
// FailoverSetupLines is pure. Thread safety: one thread (the caller's
// connection).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "pg/catalog.h"
#include "pg/connection.h"

namespace pgoutbox::admin {

struct PhysicalSlot {
  std::string name;
  bool active = false;
};

// What the connected server says about failover slots.
struct FailoverSettings {
  int server_version_num = 0;
  bool in_recovery = false;
  pg::SlotInfo slot;  // pgoutbox's slot as this server has it
  // The primary's side: its physical slots and synchronized_standby_slots
  // (nullopt when the server has no such setting).
  std::vector<PhysicalSlot> physical_slots;
  std::optional<std::string> synchronized_standby_slots;
};

Result<FailoverSettings> ReadFailoverSettings(pg::PgConnection& conn, const std::string& slot);

// The lines setup prints after its report, each starting with "failover: ":
// on 17+ what each server needs and what the connected one already has; on
// 14 to 16 one line saying that slots do not survive a failover there.
std::vector<std::string> FailoverSetupLines(const FailoverSettings& settings,
                                            const std::string& slot);

}  // namespace pgoutbox::admin
