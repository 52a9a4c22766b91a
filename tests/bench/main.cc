// pgoutbox-bench: the benchmark's own tools, driven by scripts/bench.sh.
// Every subcommand prints its results as one line of key=value pairs.
//
//   kafka      hosts the mock Kafka cluster in a process of its own
//   receive    the ceiling: reads a slot's stream in bursts, does nothing
//   consume    insert-to-consume latency of the records on a topic
//   produce    the floor: records straight to Kafka at a fixed rate
//   measure    runs a command and reports its wall time, CPU and peak RSS
//   quantiles  quantiles of a pgoutbox histogram between two /metrics scrapes
#include <librdkafka/rdkafka.h>
// After rdkafka.h, which it requires.
#include <librdkafka/rdkafka_mock.h>
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

#include "bench/histogram.h"
#include "bench/latency_consumer.h"
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

int HostKafka(int brokers, const std::vector<std::string>& topics) {
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
  std::printf("bootstraps=%s\n", (*cluster)->bootstraps().c_str());
  std::fflush(stdout);
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
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

  if (*kafka_cmd) return HostKafka(brokers, topics);
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
    std::printf("count=%llu kept=%zu missing_ts=%llu p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f "
                "max_ms=%.3f\n",
                static_cast<unsigned long long>(r->records), kept,
                static_cast<unsigned long long>(r->missing_ts), p50, p99, p999,
                v.empty() ? 0.0 : v.back());
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
