// RunCommand: `pgoutbox run`. Checks everything before touching anything
// (database reachable, wal_level, table and columns, publication and slot,
// Kafka reachable), then creates the publication and slot if missing, and
// streams until stopped, the end position, or a failure.
#pragma once

#include <atomic>

#include "cli/command.h"
#include "cli/run_config.h"
#include "common/status.h"

namespace pgoutbox::cli {

// `stop_requests` is incremented by the signal handler (SIGTERM/SIGINT).
Status RunCommand(const RunConfig& config, const std::atomic<int>* stop_requests);

// Declares `pgoutbox run` on `app`.
std::unique_ptr<Command> MakeRunCommand(CLI::App* app);

}  // namespace pgoutbox::cli
