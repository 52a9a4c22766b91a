// PlanCommand: `pgoutbox-bench plan`. The fault suite's schedule
// (faults/fault_plan.h): prints it as one key=value line for the script and
// writes it for a person to --schedule.
#pragma once

#include <memory>

#include "tools/command.h"

namespace pgoutbox::tools {

// Declares `pgoutbox-bench plan` on `app`.
std::unique_ptr<Command> MakePlanCommand(CLI::App* app);

}  // namespace pgoutbox::tools
