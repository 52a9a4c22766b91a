#include "tools/plan_command.h"

#include <cstdio>

#include "tools/faults/fault_plan.h"

namespace pgoutbox::tools {

namespace {

class PlanCommand : public Command {
 public:
  explicit PlanCommand(CLI::App* app) {
    sub_ = app->add_subcommand("plan", "when the fault suite's faults happen");
    sub_->add_option("--seed", o_.seed)->required();
    sub_->add_option("--duration-ms", o_.duration_ms, "the workload's planned length")->required();
    sub_->add_option("--kills", o_.kills, "SIGKILLs of pgoutbox")->required();
    sub_->add_option("--outage-s", o_.outage_s, "how long every broker is down")->required();
    sub_->add_option("--error-percent", o_.error_percent, "of the Produce requests; 0: none");
    sub_->add_option("--errors-from", o_.errors_from, "the SIGKILL the produce errors start at");
    sub_->add_option("--errors-to", o_.errors_to, "the SIGKILL they end at");
    sub_->add_option("--schedule", schedule_, "the plan for a person, written here");
  }
  CLI::App* subcommand() const override { return sub_; }

  int Run() override {
    const faults::FaultPlan plan = faults::PlanFaults(o_);
    if (!schedule_.empty()) {
      Status st = WriteFile(schedule_, faults::DescribePlan(o_, plan));
      if (!st.ok()) return Fail(st);
    }
    std::fputs(faults::FormatPlan(plan).c_str(), stdout);
    return 0;
  }

 private:
  CLI::App* sub_ = nullptr;
  faults::PlanOptions o_;
  std::string schedule_;
};

}  // namespace

std::unique_ptr<Command> MakePlanCommand(CLI::App* app) {
  return std::make_unique<PlanCommand>(app);
}

}  // namespace pgoutbox::tools
