// Command: one `pgoutbox-bench <subcommand>`, the tools that scripts/bench.sh
// and scripts/faults.sh drive. main() declares every command on the CLI11
// app, parses, and runs the one chosen, like src/cli does for pgoutbox.
// Every command prints its results on stdout, most as one line of key=value
// pairs for the scripts to read.
//
// Contract: Make<Name>Command(app) declares the subcommand and its flags on
// `app` and keeps pointers to the parsed values; Run() is called at most
// once, after parsing, only if that subcommand was chosen. It returns the
// process exit code: 0 success, 1 failure (printed by Fail), or what the
// command documents.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "common/status.h"

namespace pgoutbox::tools {

class Command {
 public:
  virtual ~Command() = default;
  // The CLI11 subcommand this command declared.
  virtual CLI::App* subcommand() const = 0;
  virtual int Run() = 0;
};

// Prints "pgoutbox-bench: <status>" on stderr; returns 1.
int Fail(const Status& status);

// From now on SIGTERM and SIGINT set the stop flag instead of ending the
// process. Call from the main thread.
void CatchStopSignals();
// Whether a stop signal arrived since CatchStopSignals(). Any thread.
bool StopRequested();

// The whole file at `path`; NotFound if it cannot be read.
Result<std::string> ReadFile(const std::string& path);
// Writes `text` to `path`, replacing it; Internal if that fails.
Status WriteFile(const std::string& path, const std::string& text);

// The date and time now as a report shows it: "2026-12-06 23:40 UTC".
std::string UtcNow();

// Seconds as a duration, the unit of every timeout flag.
inline std::chrono::milliseconds Seconds(double s) {
  return std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
}

}  // namespace pgoutbox::tools
