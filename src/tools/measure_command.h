// MeasureCommand: `pgoutbox-bench measure --out FILE [flags] -- COMMAND
// [ARGS...]`. Runs COMMAND (which gets the stop signals; measure only waits)
// and writes one key=value line to FILE (bench/measurement.h): wall_s,
// user_s, sys_s, maxrss_kb, exit, start_unix_s. With --until-line TEXT and
// --log FILE... the run ends, for the figures, at the time stamp of the last
// log line containing TEXT (until_s) instead of at the exit; with --events N
// it adds events_per_s, cpu_s_per_100k and maxrss_mib. Exits with COMMAND's
// status (128 + signal when it was killed), 1 if it could not run it or the
// line is missing.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tools/command.h"

namespace pgoutbox::tools {

// Declares `pgoutbox-bench measure` on `app`; `command` holds what followed
// "--" on the command line (main splits it off: CLI11 must not see its flags).
std::unique_ptr<Command> MakeMeasureCommand(CLI::App* app, const std::vector<std::string>* command);

}  // namespace pgoutbox::tools
