// RunCommand: `pgoutbox run`. Declares the run flags (cli/run_flags.h),
// validates them and hands the configuration to the daemon (app/daemon.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/command.h"

namespace pgoutbox::cli {

// Declares `pgoutbox run` on `app`. Exit codes: those of ExitCodeFor, and 0
// when a stop signal came during start-up (stopped as asked).
std::unique_ptr<Command> MakeRunCommand(CLI::App* app);

}  // namespace pgoutbox::cli
