// Report: the benchmark's results.md and the gnuplot script of its chart,
// rendered from Results (bench/results.h), and the targets evaluated on
// them. Pure functions: the caller gathers ReportInfo and writes the files.
//
// The phases it reads: catchup_1row, catchup_10row, catchup_1tx, and the
// message backlogs catchup_1msg, catchup_10msg; rss, and
// for each rate the live phases ran at (the order of the live_ phases in the
// results) live_<rate> (pgoutbox), relay_<rate> (the naive relay,
// bench/relay.h) and floor_<rate> (straight to Kafka); live, settings. The
// latency targets are those of the highest rate.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tools/bench/results.h"

namespace pgoutbox::bench {

// What the results do not hold: how the benchmark ran, and where.
struct ReportInfo {
  std::string mode;        // "quick" or "full"
  std::string invocation;  // "scripts/bench.sh --quick"
  std::string commit;      // "b4adeec", "b4adeec-dirty"
  std::string date;        // "2026-11-25 16:19 UTC"
  std::string cpu;         // "2 x AMD EPYC"
  std::string memory;      // "23.5 GiB"
  std::string kernel;      // "Linux 6.1.0"
  std::string postgres_version;
  std::string librdkafka_version;
  int keys = 10000;  // aggregate ids the events spread over
  int backlog_events = 0;
  int reps = 1;
  int rss_events = 0;
  int live_seconds = 0;
  int warmup_seconds = 0;
};

// One row of the targets table.
struct Target {
  std::string label;   // "catch-up ratio, 1-row transactions"
  std::string goal;    // ">= 0.90", "<= 5 ms"
  std::string result;  // "0.92", "109.96 ms (load reached only 4182 ev/s)"
  std::string met;     // "yes", "**no**" or "n/a" (no figure)
};

// The targets, evaluated on the figures as the report shows them (rounded).
std::vector<Target> EvaluateTargets(const Results& results, const ReportInfo& info);
// A row "targets,<slug of the label>,1 or 0,met" per target.
void AddTargetRows(const std::vector<Target>& targets, Results* results);
// "catch-up ratio, 1-row transactions" -> "catch_up_ratio_1_row_transactions".
std::string TargetSlug(std::string_view label);

// results.md: the run, the targets, the catch-up, peak RSS and live latency
// tables (pgoutbox, the naive relay and the floor side by side at each rate,
// then pgoutbox's own histograms) and the PostgreSQL settings. A figure that
// was not recorded shows as n/a.
std::string RenderMarkdown(const Results& results, const ReportInfo& info,
                           const std::vector<Target>& targets);
// A gnuplot script (data inline) drawing chart.png at `png_path`: catch-up
// throughput per backlog, and insert-to-consume latency per live phase
// (pgoutbox, relay, floor at each rate).
std::string RenderChartScript(const Results& results, const ReportInfo& info,
                              const std::string& png_path);

}  // namespace pgoutbox::bench
