// Results: the benchmark's figures as rows of phase,metric,value,unit (the
// format of results.csv), in the order they were recorded. scripts/bench.sh
// records what it measured; DeriveFigures adds what follows from those
// (medians over the repetitions, ratios), so the arithmetic lives here and
// not in the script. Values stay the strings they were recorded as.
//
// Thread safety: a value type; no shared state.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pgoutbox::bench {

struct ResultRow {
  std::string phase;   // "catchup_1row", "live_5000", "settings", ...
  std::string metric;  // "ratio", "insert_to_consume_p99_ms", ...
  std::string value;
  std::string unit;  // "events/s", "ms", or empty
};

class Results {
 public:
  // Rows of "phase,metric,value,unit" after a header line of the same
  // words; blank lines are skipped. InvalidArgument, with the line number,
  // for a missing header or a row without four fields.
  static Result<Results> ParseCsv(std::string_view csv);
  // The header and every row, one per line.
  std::string ToCsv() const;

  void Add(std::string phase, std::string metric, std::string value, std::string unit);
  // The value of the last row with `phase` and `metric`; nullopt if none.
  std::optional<std::string> Get(std::string_view phase, std::string_view metric) const;
  // The same as a number; nullopt if missing or not a number.
  std::optional<double> Number(std::string_view phase, std::string_view metric) const;
  // The phases that start with `prefix`, in the order they first appear.
  std::vector<std::string> Phases(std::string_view prefix) const;
  const std::vector<ResultRow>& rows() const { return rows_; }

 private:
  std::vector<ResultRow> rows_;
};

// Adds the figures derived from the measured rows, each after the last row
// of its phase:
//   catchup_*: from rep<N>_receiver_before_events_per_s,
//     rep<N>_receiver_after_events_per_s, rep<N>_pgoutbox_events_per_s,
//     rep<N>_pgoutbox_peak_rss_mib and rep<N>_pgoutbox_cpu_s_per_100k:
//     ceiling_events_per_s (median over the repetitions of the faster
//     receiver run), pgoutbox_events_per_s (median), ratio (median of each
//     repetition's pgoutbox / ceiling), pgoutbox_peak_rss_mib (maximum),
//     pgoutbox_cpu_s_per_100k (median) and the same per 1,000 events,
//     pgoutbox_cpu_s_per_1k; with events, backlog_wal_bytes_per_event and
//     stream_bytes_per_event from backlog_wal_bytes (the backlog's WAL) and
//     stream_bytes (its pgoutput stream, as the receiver read it);
//   rss: pgoutbox_cpu_s_per_1k from pgoutbox_cpu_s_per_100k;
//   live: pgoutbox_peak_rss_mib from pgoutbox_peak_rss_kb;
//   live_<rate> (pgoutbox) and relay_<rate> (the naive relay): from
//     streamer_cpu_ticks (utime + stime of the streaming process over the
//     phase), clock_ticks_per_s and consumed: streamer_cpu_s and
//     cpu_s_per_1k (per 1,000 events consumed); for live_ also
//     cpu_live_to_catchup, cpu_s_per_1k over catchup_1row's
//     pgoutbox_cpu_s_per_1k (the same 1-row transactions).
// A phase without those rows gets nothing.
void DeriveFigures(Results* results);

// `v` with 6 significant digits, like the values in results.csv ("48962.8").
std::string FormatNumber(double v);
// `value` with `decimals` decimals ("0.92"); "n/a" when it is missing or not
// a number.
std::string Fixed(const std::optional<std::string>& value, int decimals);
std::string Fixed(std::optional<double> value, int decimals);
// The median of `values` (the mean of the middle two for an even count); 0
// if empty.
double Median(std::vector<double> values);

}  // namespace pgoutbox::bench
