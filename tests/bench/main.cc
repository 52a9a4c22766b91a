// pgoutbox-bench: the benchmark's own tools, driven by scripts/bench.sh.
// Every subcommand prints its results as one line of key=value pairs.
//
//   kafka      hosts the mock Kafka cluster in a process of its own (with
//              --control, takes fault commands: see mock_faults.h)
//   receive    the ceiling: reads a slot's stream in bursts, does nothing
//   consume    insert-to-consume latency of the records on a topic
//   produce    the floor: records straight to Kafka at a fixed rate
//   measure    runs a command and reports its wall time, CPU and peak RSS
//   quantiles  quantiles of a pgoutbox histogram between two /metrics scrapes
//
// and the fault suite's (scripts/faults.sh):
//
//   workload   mixed transactions until N events are committed
//   collect    an independent consumer writing every record to a file
//   check      lost, duplicated, uncommitted and out-of-order events
#include <librdkafka/rdkafka.h>
// After rdkafka.h, which it requires.
#include <fcntl.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <thread>

#include "bench/fault_check.h"
#include "bench/fault_collector.h"
#include "bench/fault_workload.h"
#include "bench/histogram.h"
#include "bench/latency_consumer.h"
#include "bench/mock_faults.h"
#include "bench/rate_producer.h"
#include "bench/receiver.h"
#include "kafka/mock_cluster.h"
#include "kafka/publisher.h"

namespace pgoutbox::bench {
namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int Fail(const Status& st) {
  std::fprintf(stderr, "pgoutbox-bench: %s\n", st.ToString().c_str());
  return 1;
}

// Reads control commands, one per line, from the FIFO at `path` until
// SIGTERM; answers each on stdout ("ok down", "stats ...", "error ...").
void ServeControl(const std::string& path, MockFaults* faults) {
  // Read-write, so the FIFO never reports end-of-file between writers.
  int fd = open(path.c_str(), O_RDWR | O_NONBLOCK);
  if (fd < 0) {
    std::fprintf(stderr, "pgoutbox-bench: cannot open --control %s\n", path.c_str());
    return;
  }
  std::string pending;
  char buf[256];
  while (!g_stop) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) continue;
    pending.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
      const std::string line = pending.substr(0, nl);
      ControlCommand c = ParseControlCommand(line);
      switch (c.kind) {
        case ControlCommand::Kind::kDown:
          faults->SetAllBrokersDown(true);
          std::printf("ok down\n");
          break;
        case ControlCommand::Kind::kUp:
          faults->SetAllBrokersDown(false);
          std::printf("ok up\n");
          break;
        case ControlCommand::Kind::kErrors:
          faults->SetProduceErrorPercent(c.percent);
          std::printf("ok errors %d\n", c.percent);
          break;
        case ControlCommand::Kind::kStats:
          std::printf("stats %s\n", faults->Stats().c_str());
          break;
        case ControlCommand::Kind::kInvalid:
          std::printf("error unknown command: %s\n", line.c_str());
          break;
      }
      std::fflush(stdout);
    }
  }
  close(fd);
}

int HostKafka(int brokers, const std::vector<std::string>& topics, const std::string& control,
              uint64_t seed, const std::vector<std::string>& error_names) {
  std::vector<rd_kafka_resp_err_t> errors;
  for (const std::string& name : error_names) {
    auto code = ErrorCodeByName(name);
    if (!code.ok()) return Fail(code.status());
    errors.push_back(*code);
  }
  if (errors.empty()) errors = DefaultProduceErrors();
  auto cluster = kafka::MockCluster::Start(brokers);
  if (!cluster.ok()) return Fail(cluster.status());
  for (const std::string& spec : topics) {
    size_t colon = spec.rfind(':');
    int partitions = colon == std::string::npos ? 0 : std::atoi(spec.c_str() + colon + 1);
    if (partitions <= 0) return Fail(Status::InvalidArgument("--topic " + spec + ": want NAME:N"));
    std::string name = spec.substr(0, colon);
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create((*cluster)->cluster(), name.c_str(),
                                                         partitions, std::min(3, brokers));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Fail(Status::Internal("topic " + name + ": " + rd_kafka_err2str(err)));
    }
  }
  std::unique_ptr<MockFaults> faults;
  if (!control.empty()) {
    faults = std::make_unique<MockFaults>((*cluster)->cluster(), brokers, seed, errors);
  }
  std::printf("bootstraps=%s\n", (*cluster)->bootstraps().c_str());
  std::fflush(stdout);
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  if (faults) {
    ServeControl(control, faults.get());
    std::printf("final %s\n", faults->Stats().c_str());
    std::fflush(stdout);
    return 0;
  }
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return 0;
}

int Measure(const std::string& out, std::vector<std::string> argv) {
  if (argv.empty()) return Fail(Status::InvalidArgument("measure: no command"));
  const auto started = std::chrono::steady_clock::now();
  const double started_unix =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  pid_t pid = fork();
  if (pid < 0) return Fail(Status::Internal("fork failed"));
  if (pid == 0) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::perror(args[0]);
    _exit(127);
  }
  // The command gets the stop signals; we only wait for it.
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) return Fail(Status::Internal("wait4 failed"));
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  std::ofstream f(out);
  f << "wall_s=" << wall << " user_s=" << secs(usage.ru_utime) << " sys_s=" << secs(usage.ru_stime)
    << " maxrss_kb=" << usage.ru_maxrss << " exit=" << code << " start_unix_s=" << std::fixed
    << std::setprecision(6) << started_unix << "\n";
  if (!f) return Fail(Status::Internal("cannot write " + out));
  return code;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Status::NotFound("cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int Quantiles(const std::string& before_path, const std::string& after_path,
              const std::string& metric) {
  auto before_text = ReadFile(before_path);
  auto after_text = ReadFile(after_path);
  if (!before_text.ok()) return Fail(before_text.status());
  if (!after_text.ok()) return Fail(after_text.status());
  auto before = ParseHistogram(*before_text, metric);
  auto after = ParseHistogram(*after_text, metric);
  if (!before.ok()) return Fail(before.status());
  if (!after.ok()) return Fail(after.status());
  auto diff = Difference(*after, *before);
  if (!diff.ok()) return Fail(diff.status());
  auto ms = [&](double q) { return Quantile(*diff, q).value_or(0) * 1000; };
  std::printf("count=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f\n", diff->back().count, ms(0.5),
              ms(0.99), ms(0.999));
  return 0;
}

int RunWorkloadCommand(const WorkloadOptions& options) {
  auto r = RunWorkload(options);
  if (!r.ok()) return Fail(r.status());
  std::printf(
      "tx_committed=%llu events_committed=%llu tx_rolled_back=%llu events_rolled_back=%llu "
      "events_savepoint_rolled_back=%llu other_rows=%llu tx_failed=%llu "
      "events_failed=%llu tx_unknown=%llu events_unknown=%llu deadlocks=%llu "
      "reconnects=%llu seconds=%.1f",
      static_cast<unsigned long long>(r->tx_committed),
      static_cast<unsigned long long>(r->events_committed),
      static_cast<unsigned long long>(r->tx_rolled_back),
      static_cast<unsigned long long>(r->events_rolled_back),
      static_cast<unsigned long long>(r->events_savepoint_rolled_back),
      static_cast<unsigned long long>(r->other_rows), static_cast<unsigned long long>(r->tx_failed),
      static_cast<unsigned long long>(r->events_failed),
      static_cast<unsigned long long>(r->tx_unknown),
      static_cast<unsigned long long>(r->events_unknown),
      static_cast<unsigned long long>(r->deadlocks), static_cast<unsigned long long>(r->reconnects),
      r->seconds);
  for (int k = 0; k < TxPlan::kKinds; ++k) {
    std::printf(" tx_%s=%llu", KindName(static_cast<TxPlan::Kind>(k)),
                static_cast<unsigned long long>(r->tx_by_kind[k]));
  }
  std::printf("\n");
  return 0;
}

int CollectCommand(const CollectOptions& options) {
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  auto r = Collect(
      options,
      [] {
        std::printf("ready=1\n");
        std::fflush(stdout);
      },
      [] { return g_stop != 0; });
  if (!r.ok()) return Fail(r.status());
  std::printf("records=%llu partitions=%d consumer_errors=%llu drained=%d\n",
              static_cast<unsigned long long>(r->records), r->partitions,
              static_cast<unsigned long long>(r->consumer_errors), r->drained ? 1 : 0);
  return r->drained ? 0 : 1;
}

struct CheckOptions {
  std::string committed, records, faults;
  int64_t start_ms = 0;
  std::string confirmed_lsn, end_lsn, wal_lsn;
};

// Prints the figures; exit 0 when nothing was lost, published uncommitted
// or reordered and the slot confirmed the end, 3 otherwise.
int CheckCommand(const CheckOptions& o) {
  auto committed_text = ReadFile(o.committed);
  auto records_text = ReadFile(o.records);
  auto faults_text = ReadFile(o.faults);
  for (const auto* t : {&committed_text, &records_text, &faults_text}) {
    if (!t->ok()) return Fail(t->status());
  }
  auto committed = ParseCommitted(*committed_text);
  if (!committed.ok()) return Fail(committed.status());
  auto records = ParseRecords(*records_text);
  if (!records.ok()) return Fail(records.status());
  auto faults = ParseFaults(*faults_text);
  if (!faults.ok()) return Fail(faults.status());
  auto confirmed = Lsn::Parse(o.confirmed_lsn), end = Lsn::Parse(o.end_lsn);
  if (!confirmed || !end)
    return Fail(Status::InvalidArgument("--confirmed-lsn/--end-lsn: not LSNs"));
  CheckReport r = Check(*committed, *records, *faults);

  auto n = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  auto at = [&](int64_t ms) { return static_cast<double>(ms - o.start_ms) / 1000.0; };
  std::printf("committed events                %llu (%llu keys)\n", n(r.committed),
              n(r.committed_keys));
  std::printf("delivered records               %llu (%llu distinct events)\n", n(r.records),
              n(r.distinct_delivered));
  std::printf("lost                            %llu\n", n(r.lost));
  std::printf(
      "duplicates                      %llu (records beyond the first of an event), by the\n"
      "  kill or restart before their arrival:\n",
      n(r.duplicates));
  int kill = 0;
  for (const DuplicateShare& d : r.duplicates_by_fault) {
    std::string label = d.fault.what;
    if (d.fault.at_ms == 0) {
      label = "before the first kill/restart";
    } else {
      if (label == "kill") label = "SIGKILL #" + std::to_string(++kill);
      char when[32];
      std::snprintf(when, sizeof when, " at +%.1fs", at(d.fault.at_ms));
      label += when;
    }
    std::printf("  %-30s %llu\n", label.c_str(), n(d.records));
  }
  std::printf("rolled-back events published    %llu (%llu from rolled-back savepoints)\n",
              n(r.rolled_back_published), n(r.rolled_back_savepoint_published));
  std::printf("published, not in the table     %llu\n", n(r.uncommitted_published));
  std::printf("per-key order violations        %llu (keys on several partitions: %llu)\n",
              n(r.order_violations), n(r.keys_on_several_partitions));
  std::printf("records unlike their table row  %llu\n", n(r.mismatched));
  std::printf("offsets the consumer never read %llu (same offset read twice: %llu)\n",
              n(r.offset_gaps), n(r.consumer_redeliveries));
  std::printf(
      "ground truth                    %llu keys with seq gaps, %llu rolled-back ids "
      "in the table\n",
      n(r.committed_seq_gaps), n(r.committed_marked_rolled_back));
  const bool confirmed_end = *confirmed >= *end;
  std::printf("confirmed position              %s, end of the workload %s: %s",
              confirmed->ToString().c_str(), end->ToString().c_str(),
              confirmed_end ? "reached" : "NOT reached");
  if (confirmed_end) {
    std::printf(" (%llu bytes past it", n(confirmed->value() - end->value()));
  } else {
    std::printf(" (%llu bytes short", n(end->value() - confirmed->value()));
  }
  if (auto wal = Lsn::Parse(o.wal_lsn)) {
    std::printf("; server WAL end %s", wal->ToString().c_str());
  }
  std::printf(")\n");
  for (const std::string& e : r.examples) std::printf("  ! %s\n", e.c_str());
  const bool ok = r.ok() && confirmed_end;
  std::printf("verdict                         %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 3;
}

}  // namespace
}  // namespace pgoutbox::bench

int main(int argc, char** argv) {
  using namespace pgoutbox;         // NOLINT: main only
  using namespace pgoutbox::bench;  // NOLINT: main only
  CLI::App app{"pgoutbox-bench: the benchmark's tools (see scripts/bench.sh)"};
  app.require_subcommand(1);

  int brokers = 3;
  std::vector<std::string> topics;
  auto* kafka_cmd = app.add_subcommand("kafka", "host a mock Kafka cluster until SIGTERM");
  kafka_cmd->add_option("--brokers", brokers)->check(CLI::Range(1, 16));
  kafka_cmd->add_option("--topic", topics, "NAME:PARTITIONS, created up front");
  std::string control;
  uint64_t kafka_seed = 1;
  kafka_cmd->add_option("--control", control,
                        "FIFO to read fault commands from: down, up, errors PCT, stats");
  kafka_cmd->add_option("--seed", kafka_seed, "seed of the produce error positions")
      ->capture_default_str();
  std::vector<std::string> produce_errors;
  kafka_cmd->add_option("--produce-error", produce_errors,
                        "error code injected by `errors PCT`, repeatable (default _TRANSPORT: "
                        "the broker drops the connection; see mock_faults.h)");

  WorkloadOptions workload;
  int reconnect_s = 180;
  auto* workload_cmd = app.add_subcommand("workload", "mixed transactions until N events commit");
  workload_cmd->add_option("--db", workload.conninfo)->required();
  workload_cmd->add_option("--events", workload.events, "committed events to reach")
      ->capture_default_str();
  workload_cmd->add_option("--rate", workload.rate, "rows written per second")
      ->capture_default_str();
  workload_cmd->add_option("--connections", workload.connections)->capture_default_str();
  workload_cmd->add_option("--keys", workload.keys, "aggregates per aggregate type")
      ->capture_default_str();
  workload_cmd->add_option("--seed", workload.seed)->capture_default_str();
  workload_cmd->add_option("--reconnect-timeout", reconnect_s, "seconds")->capture_default_str();

  CollectOptions collect;
  double drain_s = 120;
  auto* collect_cmd = app.add_subcommand("collect", "write every record of the topics to a file");
  collect_cmd->add_option("--brokers", collect.brokers)->required();
  collect_cmd->add_option("--topic", collect.topics)->required();
  collect_cmd->add_option("--out", collect.out)->required();
  collect_cmd->add_option("--drain-timeout", drain_s, "seconds")->capture_default_str();

  CheckOptions check;
  auto* check_cmd = app.add_subcommand("check", "the fault suite's verdict");
  check_cmd->add_option("--committed", check.committed, "id, key, seq of the table")->required();
  check_cmd->add_option("--records", check.records, "pgoutbox-bench collect's file")->required();
  check_cmd->add_option("--faults", check.faults, "at_ms, what")->required();
  check_cmd->add_option("--start-ms", check.start_ms, "the run's start, Unix ms")->required();
  check_cmd->add_option("--confirmed-lsn", check.confirmed_lsn)->required();
  check_cmd->add_option("--end-lsn", check.end_lsn)->required();
  check_cmd->add_option("--wal-lsn", check.wal_lsn);

  ReceiveOptions receive;
  std::string end_lsn;
  int nap_ms = 20;
  auto* receive_cmd = app.add_subcommand("receive", "read a slot's stream up to --end-lsn");
  receive_cmd->add_option("--db", receive.conninfo)->required();
  receive_cmd->add_option("--slot", receive.slot)->required();
  receive_cmd->add_option("--publication", receive.publication)->required();
  receive_cmd->add_option("--end-lsn", end_lsn)->required();
  receive_cmd->add_option("--nap-ms", nap_ms, "sleep when the socket is empty")
      ->capture_default_str();

  ConsumeOptions consume;
  double timeout_s = 120, skip_s = 0, idle_s = 3;
  auto* consume_cmd = app.add_subcommand("consume", "latency of the records arriving on a topic");
  consume_cmd->add_option("--brokers", consume.brokers)->required();
  consume_cmd->add_option("--topic", consume.topic)->required();
  consume_cmd->add_option("--expect", consume.expect, "stop after this many records");
  consume_cmd->add_option("--timeout", timeout_s, "seconds")->capture_default_str();
  consume_cmd->add_option("--idle", idle_s, "stop this many seconds after the last record")
      ->capture_default_str();
  consume_cmd->add_option("--skip-seconds", skip_s, "warm-up samples to drop")
      ->capture_default_str();
  consume_cmd->add_option("--fetch-wait-ms", consume.fetch_wait_ms, "fetch.wait.max.ms")
      ->capture_default_str();

  ProduceOptions produce;
  double produce_s = 10;
  auto* produce_cmd = app.add_subcommand("produce", "records straight to Kafka at a fixed rate");
  produce_cmd->add_option("--brokers", produce.brokers)->required();
  produce_cmd->add_option("--topic", produce.topic)->required();
  produce_cmd->add_option("--rate", produce.rate)->required();
  produce_cmd->add_option("--seconds", produce_s)->capture_default_str();
  std::vector<std::string> produce_config;
  produce_cmd->add_option("-X", produce_config, "librdkafka property key=value");

  // measure --out FILE -- COMMAND ARGS...: parsed here, the command's own
  // flags must not reach CLI11.
  if (argc >= 5 && std::string(argv[1]) == "measure" && std::string(argv[2]) == "--out" &&
      std::string(argv[4]) == "--") {
    return Measure(argv[3], std::vector<std::string>(argv + 5, argv + argc));
  }
  app.add_subcommand("measure", "run a command, report time, CPU, peak RSS")
      ->footer("usage: pgoutbox-bench measure --out FILE -- COMMAND [ARGS...]")
      ->allow_extras();

  std::string before, after, metric;
  auto* quantiles_cmd = app.add_subcommand("quantiles", "histogram quantiles between two scrapes");
  quantiles_cmd->add_option("--before", before)->required();
  quantiles_cmd->add_option("--after", after)->required();
  quantiles_cmd->add_option("--metric", metric)->required();

  CLI11_PARSE(app, argc, argv);

  if (*kafka_cmd) return HostKafka(brokers, topics, control, kafka_seed, produce_errors);
  if (*workload_cmd) {
    workload.reconnect_timeout = std::chrono::seconds(reconnect_s);
    return RunWorkloadCommand(workload);
  }
  if (*collect_cmd) {
    collect.drain_timeout = std::chrono::milliseconds(static_cast<int64_t>(drain_s * 1000));
    return CollectCommand(collect);
  }
  if (*check_cmd) return CheckCommand(check);
  if (app.got_subcommand("measure")) {
    return Fail(Status::InvalidArgument("usage: measure --out FILE -- COMMAND [ARGS...]"));
  }
  if (*quantiles_cmd) return Quantiles(before, after, metric);
  if (*receive_cmd) {
    auto lsn = Lsn::Parse(end_lsn);
    if (!lsn) return Fail(Status::InvalidArgument("--end-lsn " + end_lsn + ": not an LSN"));
    receive.end_lsn = *lsn;
    receive.nap = std::chrono::milliseconds(nap_ms);
    auto r = Receive(receive);
    if (!r.ok()) return Fail(r.status());
    std::printf("events=%llu messages=%llu bytes=%llu seconds=%.3f events_per_s=%.0f\n",
                static_cast<unsigned long long>(r->events),
                static_cast<unsigned long long>(r->messages),
                static_cast<unsigned long long>(r->bytes), r->seconds,
                r->seconds > 0 ? static_cast<double>(r->events) / r->seconds : 0.0);
    return 0;
  }
  if (*consume_cmd) {
    consume.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    consume.idle = std::chrono::milliseconds(static_cast<int64_t>(idle_s * 1000));
    consume.skip = std::chrono::milliseconds(static_cast<int64_t>(skip_s * 1000));
    auto r = Consume(consume, [] {
      std::printf("ready=1\n");
      std::fflush(stdout);
    });
    if (!r.ok()) return Fail(r.status());
    auto& v = r->latencies_ms;
    const size_t kept = v.size();
    const double p50 = Percentile(&v, 50), p99 = Percentile(&v, 99), p999 = Percentile(&v, 99.9);
    std::printf(
        "count=%llu kept=%zu missing_ts=%llu p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f "
        "max_ms=%.3f\n",
        static_cast<unsigned long long>(r->records), kept,
        static_cast<unsigned long long>(r->missing_ts), p50, p99, p999, v.empty() ? 0.0 : v.back());
    return 0;
  }
  if (*produce_cmd) {
    produce.duration = std::chrono::milliseconds(static_cast<int64_t>(produce_s * 1000));
    for (const std::string& entry : produce_config) {
      auto kv = kafka::ParseConfigEntry(entry);
      if (!kv.ok()) return Fail(kv.status());
      produce.config.push_back(*kv);
    }
    auto r = ProduceAtRate(produce);
    if (!r.ok()) return Fail(r.status());
    std::printf("produced=%llu seconds=%.3f\n", static_cast<unsigned long long>(r->produced),
                r->seconds);
    return 0;
  }
  return 0;
}
