#include "tools/bench/results.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>

namespace pgoutbox::bench {

namespace {

constexpr std::string_view kHeader = "phase,metric,value,unit";

std::optional<double> ToNumber(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string> Split(std::string_view line) {
  std::vector<std::string> fields;
  for (size_t comma; (comma = line.find(',')) != std::string_view::npos;) {
    fields.emplace_back(line.substr(0, comma));
    line.remove_prefix(comma + 1);
  }
  fields.emplace_back(line);
  return fields;
}

// Inserts `derived` after the last row of `phase`.
void InsertAfterPhase(std::vector<ResultRow>* rows, const std::string& phase,
                      std::vector<ResultRow> derived) {
  auto last = std::find_if(rows->rbegin(), rows->rend(),
                           [&](const ResultRow& r) { return r.phase == phase; });
  rows->insert(last.base(), derived.begin(), derived.end());
}

void DeriveCatchup(Results* results, const std::string& phase, std::vector<ResultRow>* out) {
  std::vector<double> ceilings, speeds, ratios, rss, cpu;
  for (int rep = 1;; ++rep) {
    const std::string p = "rep" + std::to_string(rep) + "_";
    auto before = results->Number(phase, p + "receiver_before_events_per_s");
    auto after = results->Number(phase, p + "receiver_after_events_per_s");
    auto speed = results->Number(phase, p + "pgoutbox_events_per_s");
    if (!before || !after || !speed) break;
    ceilings.push_back(std::max(*before, *after));
    speeds.push_back(*speed);
    ratios.push_back(*speed / ceilings.back());
    if (auto v = results->Number(phase, p + "pgoutbox_peak_rss_mib")) rss.push_back(*v);
    if (auto v = results->Number(phase, p + "pgoutbox_cpu_s_per_100k")) cpu.push_back(*v);
  }
  if (speeds.empty()) return;
  out->push_back({phase, "ceiling_events_per_s", FormatNumber(Median(ceilings)), "events/s"});
  out->push_back({phase, "pgoutbox_events_per_s", FormatNumber(Median(speeds)), "events/s"});
  out->push_back({phase, "ratio", FormatNumber(Median(ratios)), "ratio"});
  if (!rss.empty()) {
    out->push_back({phase, "pgoutbox_peak_rss_mib",
                    FormatNumber(*std::max_element(rss.begin(), rss.end())), "MiB"});
  }
  if (!cpu.empty()) {
    out->push_back({phase, "pgoutbox_cpu_s_per_100k", FormatNumber(Median(cpu)), "s"});
    out->push_back({phase, "pgoutbox_cpu_s_per_1k", FormatNumber(Median(cpu) / 100), "s"});
  }
  // The backlog's size per event, to compare backlogs of different kinds.
  auto events = results->Number(phase, "events");
  if (!events || *events <= 0) return;
  for (const char* bytes : {"backlog_wal_bytes", "stream_bytes"}) {
    if (auto v = results->Number(phase, bytes)) {
      const std::string metric = std::string(bytes) + "_per_event";
      out->push_back({phase, metric, FormatNumber(*v / *events), "bytes"});
    }
  }
}

// A live phase's streaming process: its CPU seconds, per 1,000 events
// consumed, and (for pgoutbox's live_ phases) over its catch-up CPU per
// event, that of the 1-row backlog, the same transactions.
void DeriveLive(Results* results, const std::string& phase, std::vector<ResultRow>* out) {
  auto ticks = results->Number(phase, "streamer_cpu_ticks");
  auto hz = results->Number(phase, "clock_ticks_per_s");
  auto consumed = results->Number(phase, "consumed");
  if (!ticks || !hz || !consumed || *hz <= 0 || *consumed <= 0) return;
  const double cpu_s = *ticks / *hz, per_1k = cpu_s / *consumed * 1000;
  out->push_back({phase, "streamer_cpu_s", FormatNumber(cpu_s), "s"});
  out->push_back({phase, "cpu_s_per_1k", FormatNumber(per_1k), "s"});
  auto catchup = results->Number("catchup_1row", "pgoutbox_cpu_s_per_1k");
  if (phase.rfind("live_", 0) == 0 && catchup && *catchup > 0) {
    out->push_back({phase, "cpu_live_to_catchup", FormatNumber(per_1k / *catchup), "ratio"});
  }
}

}  // namespace

Result<Results> Results::ParseCsv(std::string_view csv) {
  Results results;
  bool header = false;
  int line_no = 0;
  while (!csv.empty()) {
    const size_t nl = csv.find('\n');
    std::string_view line = csv.substr(0, nl);
    csv.remove_prefix(nl == std::string_view::npos ? csv.size() : nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (!header) {
      if (line != kHeader) {
        return Status::InvalidArgument("line 1: want the header " + std::string(kHeader));
      }
      header = true;
      continue;
    }
    std::vector<std::string> f = Split(line);
    if (f.size() != 4) {
      return Status::InvalidArgument("line " + std::to_string(line_no) +
                                     ": want phase,metric,value,unit: " + std::string(line));
    }
    results.Add(f[0], f[1], f[2], f[3]);
  }
  if (!header) return Status::InvalidArgument("no header line " + std::string(kHeader));
  return results;
}

std::string Results::ToCsv() const {
  std::string csv = std::string(kHeader) + "\n";
  for (const ResultRow& r : rows_) {
    csv += r.phase + "," + r.metric + "," + r.value + "," + r.unit + "\n";
  }
  return csv;
}

void Results::Add(std::string phase, std::string metric, std::string value, std::string unit) {
  rows_.push_back({std::move(phase), std::move(metric), std::move(value), std::move(unit)});
}

std::optional<std::string> Results::Get(std::string_view phase, std::string_view metric) const {
  for (auto it = rows_.rbegin(); it != rows_.rend(); ++it) {
    if (it->phase == phase && it->metric == metric) return it->value;
  }
  return std::nullopt;
}

std::optional<double> Results::Number(std::string_view phase, std::string_view metric) const {
  auto v = Get(phase, metric);
  return v ? ToNumber(*v) : std::nullopt;
}

std::vector<std::string> Results::Phases(std::string_view prefix) const {
  std::vector<std::string> phases;
  for (const ResultRow& r : rows_) {
    if (r.phase.rfind(prefix, 0) == 0 &&
        std::find(phases.begin(), phases.end(), r.phase) == phases.end()) {
      phases.push_back(r.phase);
    }
  }
  return phases;
}

void DeriveFigures(Results* results) {
  // In two rounds: the live phases' ratios need the catch-up's figures.
  for (int round = 0; round < 2; ++round) {
    std::vector<std::pair<std::string, std::vector<ResultRow>>> derived;
    if (round == 0) {
      for (const std::string& phase : results->Phases("catchup_")) {
        std::vector<ResultRow> rows;
        DeriveCatchup(results, phase, &rows);
        derived.emplace_back(phase, std::move(rows));
      }
      if (auto cpu = results->Number("rss", "pgoutbox_cpu_s_per_100k")) {
        derived.push_back(
            {"rss", {{"rss", "pgoutbox_cpu_s_per_1k", FormatNumber(*cpu / 100), "s"}}});
      }
      if (auto kb = results->Number("live", "pgoutbox_peak_rss_kb")) {
        derived.push_back(
            {"live", {{"live", "pgoutbox_peak_rss_mib", FormatNumber(*kb / 1024), "MiB"}}});
      }
    } else {
      for (const char* prefix : {"live_", "relay_"}) {
        for (const std::string& phase : results->Phases(prefix)) {
          std::vector<ResultRow> rows;
          DeriveLive(results, phase, &rows);
          derived.emplace_back(phase, std::move(rows));
        }
      }
    }
    std::vector<ResultRow> rows = results->rows();
    for (auto& [phase, extra] : derived) InsertAfterPhase(&rows, phase, std::move(extra));
    Results out;
    for (ResultRow& r : rows) out.Add(r.phase, r.metric, r.value, r.unit);
    *results = std::move(out);
  }
}

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string Fixed(std::optional<double> value, int decimals) {
  if (!value) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, *value);
  return buf;
}

std::string Fixed(const std::optional<std::string>& value, int decimals) {
  return Fixed(value ? ToNumber(*value) : std::nullopt, decimals);
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace pgoutbox::bench
