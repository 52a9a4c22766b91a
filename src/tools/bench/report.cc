#include "tools/bench/report.h"

#include <cctype>
#include <sstream>

namespace pgoutbox::bench {

namespace {

// The catch-up backlogs: phase suffix, table label, chart label. Rows of
// the outbox table, then events without a table (pg_logical_emit_message).
struct Backlog {
  const char* name;
  const char* label;
  const char* chart_label;
};
constexpr Backlog kBacklogs[] = {{"1row", "1-row transactions", "1-row tx"},
                                 {"10row", "10-row transactions", "10-row tx"},
                                 {"1tx", "one transaction", "one tx"},
                                 {"1msg", "1-message transactions", "1-msg tx"},
                                 {"10msg", "10-message transactions", "10-msg tx"}};

// The rates of the live phases, in the order they ran.
std::vector<std::string> LiveRates(const Results& r) {
  std::vector<std::string> rates;
  for (const std::string& phase : r.Phases("live_")) rates.push_back(phase.substr(5));
  return rates;
}

std::string Raw(const Results& r, std::string_view phase, std::string_view metric) {
  return r.Get(phase, metric).value_or("n/a");
}

std::string F(const Results& r, std::string_view phase, std::string_view metric, int decimals) {
  return Fixed(r.Get(phase, metric), decimals);
}

// "p50 / p99 / p99.9" of a metric family, e.g. "insert_to_consume".
std::string Quantiles(const Results& r, const std::string& phase, const std::string& family) {
  return F(r, phase, family + "_p50_ms", 2) + " / " + F(r, phase, family + "_p99_ms", 2) + " / " +
         F(r, phase, family + "_p999_ms", 2);
}

// "p50 / p99 / p99.9" as above, or "n/a" when the family was not recorded
// (a histogram that this pgoutbox does not export).
std::string QuantilesIfAny(const Results& r, const std::string& phase, const std::string& family) {
  if (!r.Get(phase, family + "_p50_ms")) return "n/a";
  return Quantiles(r, phase, family);
}

bool IsNumber(const std::string& value) { return value != "n/a" && !value.empty(); }

Target MakeTarget(std::string label, const std::string& value, const std::string& op,
                  const std::string& limit, const std::string& unit, const std::string& note) {
  const std::string suffix = unit.empty() ? "" : " " + unit;
  Target t{std::move(label), op + " " + limit + suffix, value + suffix + note, "n/a"};
  if (IsNumber(value)) {
    const double v = std::stod(value), l = std::stod(limit);
    t.met = (op == "<=" ? v <= l : v >= l) ? "yes" : "**no**";
  }
  return t;
}

// pgoutbox's `value` at or below the naive relay's `relay` (both in ms).
Target AtMostRelay(std::string label, const std::string& value, const std::string& relay,
                   const std::string& note) {
  Target t{std::move(label), "<= the naive relay's", value + " ms (relay " + relay + " ms)" + note,
           "n/a"};
  if (IsNumber(value) && IsNumber(relay)) {
    t.met = std::stod(value) <= std::stod(relay) ? "yes" : "**no**";
  }
  return t;
}

// " (load reached only N ev/s)" when a live phase's load fell more than 5%
// short of its rate; "" otherwise. `who` names the phase's streamer when
// there is more than one.
std::string LoadNote(const Results& r, const std::string& phase, const std::string& rate,
                     const std::string& who = "") {
  auto achieved = r.Number(phase, "achieved_events_per_s");
  if (!achieved || *achieved >= std::stod(rate) * 0.95) return "";
  return " (" + who + (who.empty() ? "load" : "'s load") + " reached only " + Fixed(achieved, 0) +
         " ev/s)";
}

}  // namespace

std::vector<Target> EvaluateTargets(const Results& r, const ReportInfo& info) {
  std::vector<Target> t;
  t.push_back(MakeTarget("catch-up ratio, 1-row transactions", F(r, "catchup_1row", "ratio", 2),
                         ">=", "0.90", "", ""));
  t.push_back(MakeTarget("catch-up ratio, 10-row transactions", F(r, "catchup_10row", "ratio", 2),
                         ">=", "0.90", "", ""));
  const std::vector<std::string> rates = LiveRates(r);
  if (!rates.empty()) {
    const std::string& top = rates.back();
    const std::string phase = "live_" + top, relay = "relay_" + top;
    const std::string note = LoadNote(r, phase, top);
    const std::string both = LoadNote(r, phase, top, "pgoutbox") + LoadNote(r, relay, top, "relay");
    t.push_back(AtMostRelay("insert-to-consume p99 at " + top + " ev/s, pgoutbox vs naive relay",
                            F(r, phase, "insert_to_consume_p99_ms", 2),
                            F(r, relay, "insert_to_consume_p99_ms", 2), both));
    t.push_back(AtMostRelay("insert-to-consume p99.9 at " + top + " ev/s, pgoutbox vs naive relay",
                            F(r, phase, "insert_to_consume_p999_ms", 2),
                            F(r, relay, "insert_to_consume_p999_ms", 2), both));
    t.push_back(MakeTarget("insert-to-consume p99 at " + top + " ev/s",
                           F(r, phase, "insert_to_consume_p99_ms", 2), "<=", "10", "ms", note));
    t.push_back(MakeTarget("insert-to-consume p99.9 at " + top + " ev/s",
                           F(r, phase, "insert_to_consume_p999_ms", 2), "<=", "20", "ms", note));
    t.push_back(MakeTarget("own share (Commit to ack) p99 at " + top + " ev/s",
                           F(r, phase, "own_latency_p99_ms", 2), "<=", "2", "ms", note));
    t.push_back(MakeTarget("CPU per event at " + top + " ev/s, live / catch-up",
                           F(r, phase, "cpu_live_to_catchup", 2), "<=", "3", "x", note));
    t.push_back(MakeTarget("commit-to-ack p99 at " + top + " ev/s",
                           F(r, phase, "commit_to_ack_p99_ms", 2), "<=", "5", "ms", note));
  }
  for (const std::string& rate : rates) {
    auto lag_ms = r.Number("live_" + rate, "confirm_lag_p99_ms");
    t.push_back(MakeTarget("confirm lag p99 at " + rate + " ev/s",
                           Fixed(lag_ms ? std::optional<double>(*lag_ms / 1000) : std::nullopt, 2),
                           "<=", "1.5", "s", ""));
  }
  t.push_back(MakeTarget("peak RSS, " + std::to_string(info.rss_events) + "-event backlog",
                         F(r, "rss", "pgoutbox_peak_rss_mib", 1), "<=", "64", "MiB",
                         info.rss_events == 1000000 ? "" : " (quick: not the 1M backlog)"));
  return t;
}

std::string TargetSlug(std::string_view label) {
  std::string slug;
  for (char c : label) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c));
    if (keep) {
      slug += c;
    } else if (slug.empty() || slug.back() != '_') {
      slug += '_';
    }
  }
  if (!slug.empty() && slug.back() == '_') slug.pop_back();
  return slug;
}

void AddTargetRows(const std::vector<Target>& targets, Results* results) {
  for (const Target& t : targets) {
    results->Add("targets", TargetSlug(t.label), t.met == "yes" ? "1" : "0", "met");
  }
}

std::string RenderMarkdown(const Results& r, const ReportInfo& info,
                           const std::vector<Target>& targets) {
  std::ostringstream md;
  md << "# pgoutbox benchmark (" << info.mode << ")\n\n"
     << "- date: " << info.date << "; commit: `" << info.commit << "`; `" << info.invocation
     << "`\n"
     << "- machine: " << info.cpu << ", " << info.memory << " memory, " << info.kernel << "\n"
     << "- PostgreSQL " << info.postgres_version
     << " (throwaway, fsync on, settings below); librdkafka " << info.librdkafka_version << "\n"
     << "- Kafka: librdkafka's mock cluster, 3 brokers, in a process of its own on the same "
        "machine\n"
     << "- events: ~300-byte JSON payload, 2 headers, aggregate id random among " << info.keys
     << " keys\n\n";

  md << "## Targets\n\n| target | goal | result | met |\n|---|---|---|---|\n";
  for (const Target& t : targets) {
    md << "| " << t.label << " | " << t.goal << " | " << t.result << " | " << t.met << " |\n";
  }

  md << "\n## Catch-up throughput\n\n"
     << "A backlog of " << info.backlog_events
     << " events is written first, then streamed to its end position.\n"
     << "Ceiling: a minimal receiver that reads the stream in bursts and only counts (the faster "
        "of one\n"
     << "run before and one after pgoutbox), timed from its process's start to its exit; "
        "pgoutbox: timed\n"
     << "from its process's start to the confirmation of the end position (its log line; not the "
        "teardown);\n"
     << "medians of " << info.reps
     << " repetition(s); pg_recvlogical run once. The message "
        "backlogs hold no rows:\n"
     << "each event is a pg_logical_emit_message(true, 'pgoutbox', ...) whose JSON content has "
        "the row's\n"
     << "fields and values (id included), published like a row; the receiver counts them as "
        "events too.\n"
     << "Bytes per event: the backlog's WAL, and its pgoutput stream as the receiver read it.\n\n"
     << "| backlog | events | ceiling ev/s | pgoutbox ev/s | ratio | pg_recvlogical ev/s | "
        "pgoutbox peak RSS MiB | pgoutbox CPU s / 1,000 events | WAL bytes / event | stream "
        "bytes / event |\n"
     << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const Backlog& b : kBacklogs) {
    const std::string p = std::string("catchup_") + b.name;
    md << "| " << b.label << " | " << Raw(r, p, "events") << " | "
       << F(r, p, "ceiling_events_per_s", 0) << " | " << F(r, p, "pgoutbox_events_per_s", 0)
       << " | " << F(r, p, "ratio", 2) << " | " << F(r, p, "pg_recvlogical_events_per_s", 0)
       << " | " << F(r, p, "pgoutbox_peak_rss_mib", 1) << " | "
       << F(r, p, "pgoutbox_cpu_s_per_1k", 4) << " | " << F(r, p, "backlog_wal_bytes_per_event", 0)
       << " | " << F(r, p, "stream_bytes_per_event", 0) << " |\n";
  }

  md << "\n## Peak RSS on a large backlog\n\n"
     << "| backlog | events | pgoutbox ev/s | peak RSS MiB | CPU s / 1,000 events |\n"
     << "|---|---:|---:|---:|---:|\n"
     << "| 10-row transactions | " << Raw(r, "rss", "events") << " | "
     << F(r, "rss", "pgoutbox_events_per_s", 0) << " | " << F(r, "rss", "pgoutbox_peak_rss_mib", 1)
     << " | " << F(r, "rss", "pgoutbox_cpu_s_per_1k", 4) << " |\n";

  md << "\n## Live latency\n\n"
     << info.live_seconds
     << "s per phase, 1-row transactions from 2 pgbench clients (-R, default synchronous_commit),\n"
     << "so that the load leaves the machine room; the first " << info.warmup_seconds
     << "s of samples dropped. insert-to-consume: an\n"
     << "independent consumer's arrival time minus the payload's \"ts\" (clock_timestamp() at "
        "insert; for\n"
     << "the floor, the producer's clock). Each rate runs through pgoutbox, then through a naive "
        "relay\n"
     << "(pgoutbox-bench relay: one libpq loop, one produce call and rd_kafka_poll(0) per insert, "
        "the same\n"
     << "records, confirms after the acks; slot and topic of its own), then straight to Kafka "
        "(the floor:\n"
     << "an idempotent producer with acks=all, no PostgreSQL). CPU: utime + stime of the "
        "streaming process\n"
     << "from the start of the load until its consumer had every record (read as the consumer "
        "exits, 3 s\n"
     << "after the last one, while the streamer idles), per 1,000 events consumed; live / "
        "catch-up: over\n"
     << "pgoutbox's CPU per event on the 1-row catch-up backlog ("
     << F(r, "catchup_1row", "pgoutbox_cpu_s_per_1k", 4)
     << " s / 1,000 events). own share: pgoutbox's\n"
     << "histogram from the Commit message's arrival to the broker's ack, per event (n/a: this "
        "pgoutbox\n"
     << "does not export it).\n\n"
     << "| rate ev/s | streamer | achieved ev/s | events | insert-to-consume p50 / p99 / p99.9 ms "
        "| max ms | CPU s / 1,000 events | live / catch-up CPU | own share p50 / p99 / p99.9 ms |\n"
     << "|---:|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const std::string& rate : LiveRates(r)) {
    struct Row {
      const char* label;
      std::string phase;
    };
    for (const Row& row : {Row{"pgoutbox", "live_" + rate}, Row{"naive relay", "relay_" + rate},
                           Row{"floor (Kafka only)", "floor_" + rate}}) {
      const std::string& p = row.phase;
      const bool pgoutbox = p.rfind("live_", 0) == 0, floor = p.rfind("floor_", 0) == 0;
      md << "| " << rate << " | " << row.label << " | " << F(r, p, "achieved_events_per_s", 0)
         << " | " << Raw(r, p, "consumed") << " | " << Quantiles(r, p, "insert_to_consume") << " | "
         << F(r, p, "insert_to_consume_max_ms", 2) << " | "
         << (floor ? "" : F(r, p, "cpu_s_per_1k", 4)) << " | "
         << (pgoutbox ? F(r, p, "cpu_live_to_catchup", 2) : "") << " | "
         << (pgoutbox ? QuantilesIfAny(r, p, "own_latency") : "") << " |\n";
    }
  }

  md << "\n### pgoutbox's own histograms\n\n"
     << "Bucket-interpolated, between two /metrics scrapes of the live phases. commit-to-receive: "
        "from the\n"
     << "commit to the Commit message reaching pgoutbox (the server's WAL flush, logical decoding "
        "and sending).\n"
     << "read delay: from the server sending the Commit message to its arrival (part of "
        "commit-to-receive).\n"
     << "commit-to-ack: from the commit to the broker's ack. produce-to-ack: the broker's part. "
        "confirm lag:\n"
     << "from the commit to the slot's confirmation. n/a: a histogram this pgoutbox does not "
        "export.\n\n"
     << "| rate ev/s | commit-to-receive p50 / p99 / p99.9 ms | read delay p50 / p99 / p99.9 ms "
        "| commit-to-ack p50 / p99 / p99.9 ms "
        "| produce-to-ack p50 / p99 / p99.9 ms | own share p50 / p99 / p99.9 ms | confirm lag p99 "
        "ms |\n"
     << "|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const std::string& rate : LiveRates(r)) {
    const std::string p = "live_" + rate;
    md << "| " << rate << " | " << Quantiles(r, p, "receive_lag") << " | "
       << QuantilesIfAny(r, p, "read_delay") << " | " << Quantiles(r, p, "commit_to_ack") << " | "
       << QuantilesIfAny(r, p, "broker_latency") << " | " << QuantilesIfAny(r, p, "own_latency")
       << " | " << F(r, p, "confirm_lag_p99_ms", 0) << " |\n";
  }
  md << "\npgoutbox's peak RSS during the live phases: " << F(r, "live", "pgoutbox_peak_rss_mib", 1)
     << " MiB.\n";

  md << "\n## PostgreSQL settings\n\n| setting | value |\n|---|---|\n";
  for (const ResultRow& row : r.rows()) {
    if (row.phase == "settings") md << "| " << row.metric << " | " << row.value << " |\n";
  }
  return md.str();
}

std::string RenderChartScript(const Results& r, const ReportInfo& info,
                              const std::string& png_path) {
  auto value = [&](const std::string& phase, const char* metric) {
    auto v = r.Number(phase, metric);
    return v ? FormatNumber(*v) : std::string("NaN");
  };
  std::ostringstream gp;
  gp << "$catchup << EOD\n";
  for (const Backlog& b : kBacklogs) {
    const std::string p = std::string("catchup_") + b.name;
    gp << "\"" << b.chart_label << "\" " << value(p, "ceiling_events_per_s") << " "
       << value(p, "pgoutbox_events_per_s") << " " << value(p, "pg_recvlogical_events_per_s")
       << "\n";
  }
  gp << "EOD\n$latency << EOD\n";
  for (const std::string& rate : LiveRates(r)) {
    for (const auto& [kind, label] : {std::pair<std::string, std::string>{"live", "pgoutbox"},
                                      {"relay", "relay"},
                                      {"floor", "floor"}}) {
      const std::string p = kind + "_" + rate;
      gp << "\"" << label << " " << rate << "\" " << value(p, "insert_to_consume_p50_ms") << " "
         << value(p, "insert_to_consume_p99_ms") << " " << value(p, "insert_to_consume_p999_ms")
         << "\n";
    }
  }
  gp << "EOD\n"
     << "set terminal pngcairo size 1400,560 font \"Liberation Sans,11\"\n"
     << "set output \"" << png_path << "\"\n"
     << "set multiplot layout 1,2 title \"pgoutbox benchmark (" << info.mode << ", " << info.commit
     << ", " << info.date << ")\"\n"
     << "set style data histogram\n"
     << "set style histogram clustered gap 1\n"
     << "set style fill solid 0.85 border -1\n"
     << "set boxwidth 0.9\n"
     << "set key below horizontal\n"
     << "set grid ytics\n"
     << "set yrange [0:*]\n"
     << "set title \"Catch-up throughput (median of " << info.reps << ")\"\n"
     << "set ylabel \"events/s\"\n"
     << "plot $catchup using 2:xtic(1) title \"ceiling (receiver)\", \\\n"
     << "     $catchup using 3 title \"pgoutbox\", $catchup using 4 title \"pg\\\\_recvlogical\"\n"
     << "set title \"Insert-to-consume: pgoutbox, a naive relay; produce-to-consume: floor\"\n"
     << "set ylabel \"ms (log scale)\"\n"
     << "set logscale y\n"
     << "set yrange [0.1:*]\n"
     << "plot $latency using 2:xtic(1) title \"p50\", $latency using 3 title \"p99\", "
        "$latency using 4 title \"p99.9\"\n"
     << "unset multiplot\n";
  return gp.str();
}

}  // namespace pgoutbox::bench
