#include "tools/collect_command.h"

#include <cstdio>

#include "tools/faults/fault_collector.h"

namespace pgoutbox::tools {

namespace {

class CollectCommand : public Command {
 public:
  explicit CollectCommand(CLI::App* app) {
    sub_ = app->add_subcommand("collect", "write every record of the topics to a file");
    sub_->add_option("--brokers", options_.brokers)->required();
    sub_->add_option("--topic", options_.topics)->required();
    sub_->add_option("--out", options_.out)->required();
    sub_->add_option("--drain-timeout", drain_s_, "seconds")->capture_default_str();
  }
  CLI::App* subcommand() const override { return sub_; }

  int Run() override {
    options_.drain_timeout = Seconds(drain_s_);
    CatchStopSignals();
    auto r = faults::Collect(
        options_,
        [] {
          std::printf("ready=1\n");
          std::fflush(stdout);
        },
        [] { return StopRequested(); });
    if (!r.ok()) return Fail(r.status());
    std::printf("records=%llu partitions=%d consumer_errors=%llu drained=%d\n",
                static_cast<unsigned long long>(r->records), r->partitions,
                static_cast<unsigned long long>(r->consumer_errors), r->drained ? 1 : 0);
    return r->drained ? 0 : 1;
  }

 private:
  CLI::App* sub_ = nullptr;
  faults::CollectOptions options_;
  double drain_s_ = 120;
};

}  // namespace

std::unique_ptr<Command> MakeCollectCommand(CLI::App* app) {
  return std::make_unique<CollectCommand>(app);
}

}  // namespace pgoutbox::tools
