#include "tools/produce_command.h"

#include <cstdio>

#include "kafka/publisher.h"
#include "tools/bench/rate_producer.h"

namespace pgoutbox::tools {

namespace {

class ProduceCommand : public Command {
 public:
  explicit ProduceCommand(CLI::App* app) {
    sub_ = app->add_subcommand("produce", "records straight to Kafka at a fixed rate");
    sub_->add_option("--brokers", options_.brokers)->required();
    sub_->add_option("--topic", options_.topic)->required();
    sub_->add_option("--rate", options_.rate)->required();
    sub_->add_option("--seconds", seconds_)->capture_default_str();
    sub_->add_option("-X", config_, "librdkafka property key=value");
  }
  CLI::App* subcommand() const override { return sub_; }

  int Run() override {
    options_.duration = Seconds(seconds_);
    for (const std::string& entry : config_) {
      auto kv = kafka::ParseConfigEntry(entry);
      if (!kv.ok()) return Fail(kv.status());
      options_.config.push_back(*kv);
    }
    auto r = bench::ProduceAtRate(options_);
    if (!r.ok()) return Fail(r.status());
    std::printf("produced=%llu seconds=%.3f events_per_s=%.6g\n",
                static_cast<unsigned long long>(r->produced), r->seconds,
                r->seconds > 0 ? static_cast<double>(r->produced) / r->seconds : 0.0);
    return 0;
  }

 private:
  CLI::App* sub_ = nullptr;
  bench::ProduceOptions options_;
  double seconds_ = 10;
  std::vector<std::string> config_;
};

}  // namespace

std::unique_ptr<Command> MakeProduceCommand(CLI::App* app) {
  return std::make_unique<ProduceCommand>(app);
}

}  // namespace pgoutbox::tools
