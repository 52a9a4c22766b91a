#include "tools/receive_command.h"

#include <cstdio>

#include "tools/bench/receiver.h"

namespace pgoutbox::tools {

namespace {

class ReceiveCommand : public Command {
 public:
  explicit ReceiveCommand(CLI::App* app) {
    sub_ = app->add_subcommand("receive", "read a slot's stream up to --end-lsn");
    sub_->add_option("--db", options_.conninfo)->required();
    sub_->add_option("--slot", options_.slot)->required();
    sub_->add_option("--publication", options_.publication)->required();
    sub_->add_option("--end-lsn", end_lsn_)->required();
    sub_->add_option("--nap-ms", nap_ms_, "sleep when the socket is empty")->capture_default_str();
    sub_->add_option("--message-prefix", options_.message_prefix,
                     "transactional logical messages with this prefix count as events")
        ->capture_default_str();
  }
  CLI::App* subcommand() const override { return sub_; }

  int Run() override {
    auto lsn = Lsn::Parse(end_lsn_);
    if (!lsn) return Fail(Status::InvalidArgument("--end-lsn " + end_lsn_ + ": not an LSN"));
    options_.end_lsn = *lsn;
    options_.nap = std::chrono::milliseconds(nap_ms_);
    auto r = bench::Receive(options_);
    if (!r.ok()) return Fail(r.status());
    std::printf(
        "events=%llu event_messages=%llu messages=%llu bytes=%llu seconds=%.3f "
        "events_per_s=%.0f\n",
        static_cast<unsigned long long>(r->events),
        static_cast<unsigned long long>(r->event_messages),
        static_cast<unsigned long long>(r->messages), static_cast<unsigned long long>(r->bytes),
        r->seconds, r->seconds > 0 ? static_cast<double>(r->events) / r->seconds : 0.0);
    return 0;
  }

 private:
  CLI::App* sub_ = nullptr;
  bench::ReceiveOptions options_;
  std::string end_lsn_;
  int nap_ms_ = 20;
};

}  // namespace

std::unique_ptr<Command> MakeReceiveCommand(CLI::App* app) {
  return std::make_unique<ReceiveCommand>(app);
}

}  // namespace pgoutbox::tools
