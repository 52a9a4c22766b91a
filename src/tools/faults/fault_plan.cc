#include "tools/faults/fault_plan.h"

#include <algorithm>
#include <random>

namespace pgoutbox::faults {

namespace {

std::string Join(const std::vector<int64_t>& values) {
  std::string out;
  for (int64_t v : values) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

}  // namespace

FaultPlan PlanFaults(const PlanOptions& o) {
  std::mt19937_64 rng(o.seed);
  auto between = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, std::max(lo, hi))(rng);
  };
  const int64_t d = o.duration_ms;
  const int64_t sep = std::min<int64_t>(d / 10, 20000);
  FaultPlan p;
  for (int i = 0; i < o.kills; ++i) p.kill_at_ms.push_back(between(3000, d));
  std::sort(p.kill_at_ms.begin(), p.kill_at_ms.end());
  for (int i = 0; i < o.kills; ++i) p.kill_pause_ms.push_back(between(200, 3000));

  int64_t busy_from = -1, busy_to = -1;
  if (o.error_percent > 0 && o.kills > 0) {
    auto kill = [&](int n) { return p.kill_at_ms[std::clamp(n - 1, 0, o.kills - 1)]; };
    busy_from = kill(o.errors_from) - 5000;
    busy_to = kill(o.errors_to) + 5000;
  }
  const int64_t outage_ms = o.outage_s * int64_t{1000};
  for (int tries = 0; tries < 1000; ++tries) {
    p.outage_at_ms = between(d / 10, d * 4 / 5);
    if (p.outage_at_ms + outage_ms < busy_from || p.outage_at_ms > busy_to) break;
  }
  const int64_t outage_end = p.outage_at_ms + outage_ms;
  auto apart_from_outage = [&](int64_t t) {
    return t < p.outage_at_ms - sep || t > outage_end + sep;
  };
  for (int tries = 0; tries < 1000; ++tries) {
    p.pg_fast_at_ms = between(d / 10, d * 9 / 10);
    if (apart_from_outage(p.pg_fast_at_ms)) break;
  }
  for (int tries = 0; tries < 1000; ++tries) {
    p.pg_immediate_at_ms = between(d / 10, d * 9 / 10);
    if (!apart_from_outage(p.pg_immediate_at_ms)) continue;
    if (std::abs(p.pg_immediate_at_ms - p.pg_fast_at_ms) > sep) break;
  }
  return p;
}

std::string DescribePlan(const PlanOptions& o, const FaultPlan& p) {
  std::string s = "seed " + std::to_string(o.seed) + ", planned workload " +
                  std::to_string(o.duration_ms) + " ms (times from its start)\n";
  s += "brokers down at " + std::to_string(p.outage_at_ms) + " ms for " +
       std::to_string(o.outage_s) + " s\n";
  s += "pg_ctl restart -m fast at " + std::to_string(p.pg_fast_at_ms) + " ms, -m immediate at " +
       std::to_string(p.pg_immediate_at_ms) + " ms\n";
  if (o.error_percent > 0 && o.kills > 0) {
    s += "produce errors " + std::to_string(o.error_percent) + "% from SIGKILL #" +
         std::to_string(o.errors_from) + " to #" + std::to_string(o.errors_to) + "\n";
  }
  for (size_t i = 0; i < p.kill_at_ms.size(); ++i) {
    s += "SIGKILL #" + std::to_string(i + 1) + " at " + std::to_string(p.kill_at_ms[i]) +
         " ms, restart after " + std::to_string(p.kill_pause_ms[i]) + " ms\n";
  }
  return s;
}

std::string FormatPlan(const FaultPlan& p) {
  return "outage_at=" + std::to_string(p.outage_at_ms) +
         " pg_fast_at=" + std::to_string(p.pg_fast_at_ms) +
         " pg_immediate_at=" + std::to_string(p.pg_immediate_at_ms) +
         " kill_at=" + Join(p.kill_at_ms) + " kill_pause=" + Join(p.kill_pause_ms) + "\n";
}

}  // namespace pgoutbox::faults
