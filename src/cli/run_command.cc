#include "cli/run_command.h"

#include <spdlog/spdlog.h>

#include "app/daemon.h"
#include "cli/run_flags.h"

namespace pgoutbox::cli {

namespace {

class RunCommandImpl : public Command {
 public:
  explicit RunCommandImpl(CLI::App* app) {
    sub_ = app->add_subcommand("run", "stream the outbox table to Kafka");
    AddRunFlags(sub_, &flags_);
  }
  CLI::App* subcommand() const override { return sub_; }
  int Run(const std::atomic<int>* stop_requests) override {
    auto config = Resolve(flags_);
    if (!config.ok()) return ExitCodeFor(config.status());
    Status st = app::RunDaemon(*config, stop_requests);
    if (st.code() == Status::Code::kCancelled) {
      // A stop signal during start-up: stopped as asked.
      spdlog::info("{}", st.message());
      return kExitOk;
    }
    return ExitCodeFor(st);
  }

 private:
  CLI::App* sub_ = nullptr;
  RunFlags flags_;
};

}  // namespace

std::unique_ptr<Command> MakeRunCommand(CLI::App* app) {
  return std::make_unique<RunCommandImpl>(app);
}

}  // namespace pgoutbox::cli
