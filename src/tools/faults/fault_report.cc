#include "tools/faults/fault_report.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace pgoutbox::faults {

namespace {

std::string Format(const char* format, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}

unsigned long long N(uint64_t v) { return static_cast<unsigned long long>(v); }

// "+12.3s": `at_ms` from the start.
std::string Since(int64_t at_ms, int64_t start_ms) {
  return Format("+%.1fs", static_cast<double>(at_ms - start_ms) / 1000.0);
}

// When the first fault `what` happened, from the start; "never" if it did not.
std::string At(const FaultRun& run, std::string_view what) {
  for (const FaultEvent& m : run.marks) {
    if (m.what == what) return Since(m.at_ms, run.start_ms);
  }
  return "never";
}

}  // namespace

std::map<std::string, std::string> ParseKeyValues(std::string_view line) {
  std::map<std::string, std::string> kv;
  while (!line.empty()) {
    const size_t space = line.find(' ');
    const std::string_view word = line.substr(0, space);
    const size_t eq = word.find('=');
    if (eq != std::string_view::npos) kv.emplace(word.substr(0, eq), word.substr(eq + 1));
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
  }
  return kv;
}

std::string LastErrorMessage(std::string_view log) {
  std::string_view last;
  while (!log.empty()) {
    const size_t nl = log.find('\n');
    const std::string_view line = log.substr(0, nl);
    if (line.find(" error ") != std::string_view::npos ||
        line.find(" critical ") != std::string_view::npos) {
      last = line;
    }
    if (nl == std::string_view::npos) break;
    log.remove_prefix(nl + 1);
  }
  for (int word = 0; word < 2; ++word) {
    const size_t space = last.find(' ');
    last = space == std::string_view::npos ? std::string_view() : last.substr(space + 1);
  }
  return std::string(last);
}

std::string RenderRun(const FaultRun& run) {
  auto w = ParseKeyValues(run.workload);
  auto kw = [&](const char* key) { return w.count(key) ? w[key] : std::string(); };
  auto stats = ParseKeyValues(run.kafka_stats);
  std::string out;
  out += "pgoutbox fault suite, " + run.mode + " run: " + run.invocation + "\n";
  out += "date " + run.date + ", commit " + run.commit + ", elapsed " +
         std::to_string(run.elapsed_s) + " s\n\n";
  out += "workload                        " + kw("events_committed") + " events committed in " +
         kw("tx_committed") + " transactions, " + kw("seconds") + " s, " +
         std::to_string(run.connections) + " connections, " + std::to_string(run.keys * 2) +
         " keys\n";
  if (!kw("events_outbox").empty()) {
    out += "  events by source              public.outbox " + kw("events_outbox") +
           ", public.outbox_b " + kw("events_outbox_b") + ", messages " + kw("events_message") +
           "; non-transactional messages of another prefix sent: " + kw("foreign_messages") + "\n";
  }
  out += "  transactions                  one row " + kw("tx_one_row") + ", multi-row " +
         kw("tx_multi_row") + ", large " + kw("tx_large") + ", savepoint rolled back " +
         kw("tx_savepoint_rolled_back") + ", savepoint after an error " +
         kw("tx_savepoint_after_error") + ", savepoint released " + kw("tx_savepoint_released") +
         ", other tables only " + kw("tx_other_tables_only") + "\n";
  out += "  rolled back                   " + kw("tx_rolled_back") + " transactions with " +
         kw("events_rolled_back") + " events; " + kw("events_savepoint_rolled_back") +
         " events in rolled-back savepoints\n";
  out += "  cut short by the faults       never committed: " + kw("tx_failed") + " transactions (" +
         kw("events_failed") + " events); COMMITs unanswered: " + kw("tx_unknown") + " (" +
         kw("events_unknown") +
         " events, the tables settle them); reconnects: " + kw("reconnects") +
         "; deadlocks: " + kw("deadlocks") + "\n";
  out += "faults (times from the workload's start)\n";
  out += "  SIGKILLs of pgoutbox          " + std::to_string(run.kills_done);
  if (run.kills > 0 && !run.kill_pauses_ms.empty()) {
    auto [lo, hi] = std::minmax_element(run.kill_pauses_ms.begin(), run.kill_pauses_ms.end());
    out += ", each restarted after " + std::to_string(*lo) + "-" + std::to_string(*hi) + " ms";
  }
  out += "\n";
  if (run.outage_s == 0) {
    out += "  all brokers down              left out\n";
  } else {
    out += "  all brokers down              " + std::to_string(run.outage_s) + " s from " +
           At(run, "brokers-down") + "\n";
  }
  if (!run.pg_restarts) {
    out += "  PostgreSQL restarts           left out\n";
  } else {
    out += "  PostgreSQL restarts           -m fast at " + At(run, "pg-restart-fast") +
           ", -m immediate at " + At(run, "pg-restart-immediate") + "\n";
  }
  if (run.error_percent == 0) {
    out += "  Produce requests failed       left out\n";
  } else {
    const double requests = std::atof(stats["produce_requests"].c_str());
    const double errors = std::atof(stats["produce_errors"].c_str());
    std::string window = "during the whole workload";
    if (run.kills > 0) {
      window = "from SIGKILL #" + std::to_string(run.errors_from) + " to #" +
               std::to_string(run.errors_to) + ", " + At(run, "produce-errors-on") + " to " +
               At(run, "produce-errors-off");
    }
    const std::set<std::string> summarized = {"produce_requests", "produce_errors", "stack_ran_dry",
                                              "pending",          "error_percent",  "brokers_down"};
    std::string by_code;
    for (std::string_view rest = run.kafka_stats; !rest.empty();) {
      const size_t space = rest.find(' ');
      const std::string word(rest.substr(0, space));
      if (!word.empty() && !summarized.count(word.substr(0, word.find('=')))) {
        by_code += (by_code.empty() ? "" : " ") + word;
      }
      if (space == std::string_view::npos) break;
      rest.remove_prefix(space + 1);
    }
    out += "  Produce requests failed       " + stats["produce_errors"] + " of " +
           stats["produce_requests"] + " (" +
           Format("%.1f", requests > 0 ? 100 * errors / requests : 0.0) + "%) " + window +
           ", pgoutbox with " +
           (run.pipelined_errors ? "pipelined requests (--pipelined-errors)"
                                 : "one request in flight per broker") +
           " meanwhile: " + by_code + "; error stack found empty " + stats["stack_ran_dry"] +
           " times\n";
  }
  out += "  pgoutbox exits not by SIGKILL " + std::to_string(run.exits.size()) + "\n";
  for (const UnexpectedExit& e : run.exits) {
    out += "    status " + std::to_string(e.status) + ": " + e.message + "\n";
  }
  return out;
}

bool Passed(const CheckReport& r, const Positions& p) { return r.ok() && p.confirmed >= p.end; }

std::string RenderCheck(const CheckReport& r, const Positions& p, int64_t start_ms) {
  std::string out;
  out += Format("committed events                %llu (%llu keys)\n", N(r.committed),
                N(r.committed_keys));
  out += Format("delivered records               %llu (%llu distinct events)\n", N(r.records),
                N(r.distinct_delivered));
  out +=
      "by source                       committed / delivered / lost / duplicates / rolled back "
      "published / uncommitted published / order violations\n";
  for (int s = 0; s < kEventSources; ++s) {
    const auto source = static_cast<EventSource>(s);
    const SourceFigures& f = r.by_source[static_cast<size_t>(s)];
    if (source == EventSource::kUnknown && f.duplicates == 0 && f.uncommitted_published == 0) {
      continue;
    }
    out += Format("  %-30s %llu / %llu / %llu / %llu / %llu / %llu / %llu\n", SourceLabel(source),
                  N(f.committed), N(f.delivered), N(f.lost), N(f.duplicates),
                  N(f.rolled_back_published), N(f.uncommitted_published), N(f.order_violations));
  }
  out += Format("lost                            %llu\n", N(r.lost));
  out += Format(
      "duplicates                      %llu (records beyond the first of an event), by the\n"
      "  kill or restart before their arrival:\n",
      N(r.duplicates));
  int kill = 0;
  for (const DuplicateShare& d : r.duplicates_by_fault) {
    std::string label = d.fault.what;
    if (d.fault.at_ms == 0) {
      label = "before the first kill/restart";
    } else {
      if (label == "kill") label = "SIGKILL #" + std::to_string(++kill);
      label += " at " + Since(d.fault.at_ms, start_ms);
    }
    out += Format("  %-30s %llu\n", label.c_str(), N(d.records));
  }
  out += Format("rolled-back events published    %llu (%llu from rolled-back savepoints)\n",
                N(r.rolled_back_published), N(r.rolled_back_savepoint_published));
  out += Format("published, not in the table     %llu\n", N(r.uncommitted_published));
  out += Format(
      "per-key order violations        %llu (keys on several partitions: %llu; reorderings\n"
      "  between the two tables, which pgoutbox does not order: %llu)\n",
      N(r.order_violations), N(r.keys_on_several_partitions), N(r.cross_table_reorders));
  out += Format("records unlike their table row  %llu (wrong table header: %llu)\n",
                N(r.mismatched), N(r.wrong_table_header));
  out += Format("offsets the consumer never read %llu (same offset read twice: %llu)\n",
                N(r.offset_gaps), N(r.consumer_redeliveries));
  out += Format(
      "ground truth                    %llu keys with seq gaps, %llu rolled-back ids "
      "committed, %llu ids in another source\n",
      N(r.committed_seq_gaps), N(r.committed_marked_rolled_back), N(r.committed_wrong_source));
  const bool reached = p.confirmed >= p.end;
  out += Format("confirmed position              %s, end of the workload %s: %s",
                p.confirmed.ToString().c_str(), p.end.ToString().c_str(),
                reached ? "reached" : "NOT reached");
  if (reached) {
    out += Format(" (%llu bytes past it", N(p.confirmed.value() - p.end.value()));
  } else {
    out += Format(" (%llu bytes short", N(p.end.value() - p.confirmed.value()));
  }
  if (p.wal) out += "; server WAL end " + p.wal->ToString();
  out += ")\n";
  for (const std::string& e : r.examples) out += "  ! " + e + "\n";
  out += Format("verdict                         %s\n", Passed(r, p) ? "PASS" : "FAIL");
  return out;
}

}  // namespace pgoutbox::faults
