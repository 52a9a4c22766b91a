// FaultPlan: when the fault suite (scripts/faults.sh) does what, from the
// workload's start: the SIGKILLs of pgoutbox and the pause before each
// restart, the broker outage, and the two PostgreSQL restarts. The same
// seed and options give the same plan.
//
// Placement: SIGKILLs anywhere from 3 s to the end of the planned workload;
// the outage apart from the window of the produce errors (from SIGKILL
// #errors_from to #errors_to, 5 s either side) when it can be; each
// PostgreSQL restart apart from the outage, and the two apart from each
// other, by a tenth of the workload (at most 20 s). Each "apart" is tried
// 1000 times, then the last draw stands.
//
// Pure; thread safety: none needed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pgoutbox::faults {

struct PlanOptions {
  uint64_t seed = 1;
  int64_t duration_ms = 0;  // the workload's planned length
  int kills = 0;
  int outage_s = 0;
  int error_percent = 0;  // 0: no produce errors to keep the outage away from
  int errors_from = 0;    // SIGKILL numbers, from 1
  int errors_to = 0;
};

struct FaultPlan {
  std::vector<int64_t> kill_at_ms;  // sorted
  std::vector<int64_t> kill_pause_ms;
  int64_t outage_at_ms = 0;
  int64_t pg_fast_at_ms = 0;
  int64_t pg_immediate_at_ms = 0;
};

FaultPlan PlanFaults(const PlanOptions& options);

// The plan for a person: schedule.txt.
std::string DescribePlan(const PlanOptions& options, const FaultPlan& plan);

// The plan for the script: one line of key=value pairs, kill_at and
// kill_pause as comma-separated lists.
std::string FormatPlan(const FaultPlan& plan);

}  // namespace pgoutbox::faults
