#include "admin/failover.h"

namespace pgoutbox::admin {

namespace {

std::string MajorOf(int server_version_num) { return std::to_string(server_version_num / 10000); }

// The names of a comma-separated setting, trimmed, quotes removed.
std::vector<std::string> SplitNames(const std::string& list) {
  std::vector<std::string> out;
  std::string name;
  auto flush = [&] {
    size_t b = name.find_first_not_of(" \t\"");
    size_t e = name.find_last_not_of(" \t\"");
    if (b != std::string::npos) out.push_back(name.substr(b, e - b + 1));
    name.clear();
  };
  for (char c : list) {
    if (c == ',') {
      flush();
    } else {
      name.push_back(c);
    }
  }
  flush();
  return out;
}

}  // namespace

Result<FailoverSettings> ReadFailoverSettings(pg::PgConnection& conn, const std::string& slot) {
  FailoverSettings out;
  ASSIGN_OR_RETURN(out.server_version_num, pg::ServerVersionNum(conn));
  ASSIGN_OR_RETURN(pg::Rows recovery, conn.Query("SELECT pg_is_in_recovery()"));
  out.in_recovery = recovery.Get(0, 0) == "t";
  ASSIGN_OR_RETURN(out.slot, pg::InspectSlot(conn, slot));
  ASSIGN_OR_RETURN(pg::Rows physical,
                   conn.Query("SELECT slot_name, active FROM pg_replication_slots "
                              "WHERE slot_type = 'physical' ORDER BY slot_name"));
  for (size_t i = 0; i < physical.size(); ++i) {
    out.physical_slots.push_back({physical.Get(i, 0), physical.Get(i, 1) == "t"});
  }
  ASSIGN_OR_RETURN(pg::Rows standby_slots, conn.Query("SELECT setting FROM pg_settings "
                                                      "WHERE name = 'synchronized_standby_slots'"));
  if (!standby_slots.empty()) out.synchronized_standby_slots = standby_slots.Get(0, 0);
  return out;
}

std::vector<std::string> FailoverSetupLines(const FailoverSettings& settings,
                                            const std::string& slot) {
  std::vector<std::string> lines;
  if (settings.server_version_num < pg::kFailoverSlotsVersion) {
    lines.push_back("failover: PostgreSQL " + MajorOf(settings.server_version_num) +
                    " does not keep logical slots on standbys, so slot " + slot +
                    " does not survive a failover; after one pgoutbox recovers from the rows the "
                    "outbox table retains (see --retention)");
    return lines;
  }
  if (std::string warning =
          pg::FailoverSlotWarning(settings.slot, slot, settings.server_version_num);
      !warning.empty()) {
    lines.push_back("failover: " + warning);
  } else {
    lines.push_back("failover: slot " + slot +
                    " is a failover slot: standbys keep a synced copy that pgoutbox continues "
                    "from after a promotion, when the servers are set up as follows");
  }

  // The primary: a physical slot per standby, named in synchronized_standby_slots.
  std::string physical;
  for (const PhysicalSlot& p : settings.physical_slots) {
    physical += (physical.empty() ? "" : ", ") + p.name + (p.active ? " (in use)" : " (unused)");
  }
  lines.push_back("failover: primary: a physical slot for each standby, its primary_slot_name: " +
                  (physical.empty()
                       ? std::string("none here yet (SELECT "
                                     "pg_create_physical_replication_slot('<standby>'))")
                       : "here: " + physical));
  const std::string standby_slots = settings.synchronized_standby_slots.value_or("");
  std::string missing;
  for (const std::string& name : SplitNames(standby_slots)) {
    bool found = false;
    for (const PhysicalSlot& p : settings.physical_slots) found |= p.name == name;
    if (!found) missing += (missing.empty() ? "" : ", ") + name;
  }
  std::string standby_state;
  if (!settings.synchronized_standby_slots) {
    standby_state = "unknown here";
  } else if (standby_slots.empty()) {
    standby_state =
        "not set (ALTER SYSTEM SET synchronized_standby_slots = '<physical slot>'; SELECT "
        "pg_reload_conf()): pgoutbox may then receive changes a promoted standby does not have";
  } else {
    standby_state = "set to '" + standby_slots + "'" +
                    (missing.empty() ? "" : "; no physical slot here is named " + missing);
  }
  lines.push_back("failover: primary: synchronized_standby_slots naming those physical slots: " +
                  standby_state);
  lines.push_back(
      "failover: standby: sync_replication_slots = on, hot_standby_feedback = on, "
      "primary_slot_name = '<its physical slot>' and a dbname=... in primary_conninfo (set on "
      "each standby; pgoutbox status there says whether the slot is ready to take over)");
  return lines;
}

}  // namespace pgoutbox::admin
