#include "tools/relay_command.h"

#include <cstdio>

#include "kafka/publisher.h"
#include "tools/bench/relay.h"

namespace pgoutbox::tools {

namespace {

class RelayCommand : public Command {
 public:
  explicit RelayCommand(CLI::App* app) {
    sub_ = app->add_subcommand("relay", "a naive relay of a slot's outbox inserts to Kafka");
    sub_->add_option("--db", options_.conninfo)->required();
    sub_->add_option("--brokers", options_.brokers)->required();
    sub_->add_option("--slot", options_.slot, "an existing pgoutput slot")->required();
    sub_->add_option("--publication", options_.publication)->required();
    sub_->add_option("--topic", options_.topic_template, "topic template")->capture_default_str();
    sub_->add_option("-X", config_, "librdkafka property key=value");
    sub_->add_option("--end-lsn", end_lsn_, "exit once everything up to here is confirmed");
  }
  CLI::App* subcommand() const override { return sub_; }

  int Run() override {
    if (!end_lsn_.empty()) {
      auto lsn = Lsn::Parse(end_lsn_);
      if (!lsn) return Fail(Status::InvalidArgument("--end-lsn " + end_lsn_ + ": not an LSN"));
      options_.end_lsn = *lsn;
    }
    for (const std::string& entry : config_) {
      auto kv = kafka::ParseConfigEntry(entry);
      if (!kv.ok()) return Fail(kv.status());
      options_.config.push_back(*kv);
    }
    CatchStopSignals();
    auto r = bench::Relay(
        options_,
        [] {
          std::printf("ready=1\n");
          std::fflush(stdout);
        },
        StopRequested);
    if (!r.ok()) return Fail(r.status());
    std::printf("events=%llu acked=%llu confirmed=%s seconds=%.3f\n",
                static_cast<unsigned long long>(r->events),
                static_cast<unsigned long long>(r->acked), r->confirmed.ToString().c_str(),
                r->seconds);
    return 0;
  }

 private:
  CLI::App* sub_ = nullptr;
  bench::RelayOptions options_;
  std::vector<std::string> config_;
  std::string end_lsn_;
};

}  // namespace

std::unique_ptr<Command> MakeRelayCommand(CLI::App* app) {
  return std::make_unique<RelayCommand>(app);
}

}  // namespace pgoutbox::tools
