#include "tools/consume_command.h"

#include <cstdio>

#include "tools/bench/latency_consumer.h"

namespace pgoutbox::tools {

namespace {

class ConsumeCommand : public Command {
 public:
  explicit ConsumeCommand(CLI::App* app) {
    sub_ = app->add_subcommand("consume", "latency of the records arriving on a topic");
    sub_->add_option("--brokers", options_.brokers)->required();
    sub_->add_option("--topic", options_.topic)->required();
    sub_->add_option("--expect", options_.expect, "stop after this many records");
    sub_->add_option("--timeout", timeout_s_, "seconds")->capture_default_str();
    sub_->add_option("--idle", idle_s_, "stop this many seconds after the last record")
        ->capture_default_str();
    sub_->add_option("--skip-seconds", skip_s_, "warm-up samples to drop")->capture_default_str();
    sub_->add_option("--fetch-wait-ms", options_.fetch_wait_ms, "fetch.wait.max.ms")
        ->capture_default_str();
  }
  CLI::App* subcommand() const override { return sub_; }

  int Run() override {
    options_.timeout = Seconds(timeout_s_);
    options_.idle = Seconds(idle_s_);
    options_.skip = Seconds(skip_s_);
    auto r = bench::Consume(options_, [] {
      std::printf("ready=1\n");
      std::fflush(stdout);
    });
    if (!r.ok()) return Fail(r.status());
    auto& v = r->latencies_ms;
    const size_t kept = v.size();
    const double p50 = bench::Percentile(&v, 50), p99 = bench::Percentile(&v, 99),
                 p999 = bench::Percentile(&v, 99.9);
    std::printf(
        "count=%llu kept=%zu missing_ts=%llu p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f "
        "max_ms=%.3f\n",
        static_cast<unsigned long long>(r->records), kept,
        static_cast<unsigned long long>(r->missing_ts), p50, p99, p999, v.empty() ? 0.0 : v.back());
    return 0;
  }

 private:
  CLI::App* sub_ = nullptr;
  bench::ConsumeOptions options_;
  double timeout_s_ = 120, skip_s_ = 0, idle_s_ = 3;
};

}  // namespace

std::unique_ptr<Command> MakeConsumeCommand(CLI::App* app) {
  return std::make_unique<ConsumeCommand>(app);
}

}  // namespace pgoutbox::tools
