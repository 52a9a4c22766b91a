// RunFlags: the command line of `pgoutbox run` (CLI11; every flag can also
// come from a PGOUTBOX_* environment variable), validated into the daemon's
// app::RunConfig.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "app/run_config.h"
#include "cli/cleanup_command.h"
#include "cli/command.h"
#include "cli/mapping_flags.h"
#include "common/defaults.h"
#include "common/status.h"
#include "common/types.h"
#include "core/streamer.h"

namespace pgoutbox::cli {

// Raw flag values as CLI11 fills them; Resolve() validates them.
struct RunFlags {
  std::vector<std::string> table{std::string(defaults::kTable)};
  std::string db, brokers, publication{defaults::kPublication}, slot{defaults::kSlot};
  bool no_create = false;
  MappingFlags mapping;
  std::vector<std::string> kafka_config;
  std::string end_lsn;
  bool exit_when_caught_up = false;
  std::string feedback_interval = DurationFlag(defaults::kFeedbackInterval),
              startup_timeout = DurationFlag(defaults::kStartupTimeout),
              shutdown_timeout = DurationFlag(defaults::kShutdownTimeout);
  std::string http_addr{defaults::kHttpAddr},
      stall_timeout = DurationFlag(defaults::kStallTimeout),
      heartbeat_interval = DurationFlag(defaults::kHeartbeatInterval),
      standby_retry_interval = DurationFlag(defaults::kStandbyRetryInterval),
      state_topic{defaults::kStateTopic},
      log_summary_interval = DurationFlag(defaults::kLogSummaryInterval);
  CleanupFlags cleanup;
  BadRowFlags bad_rows;
  bool accept_gap = false;
  std::string message_prefix{defaults::kMessagePrefix};

  CLI::Option* opt_http_addr = nullptr;
  CLI::Option* opt_message_prefix = nullptr;
};

// Declares the flags of `run` on `cmd`, bound to `flags`.
void AddRunFlags(CLI::App* cmd, RunFlags* flags);

// Validates the flags into a RunConfig (InvalidArgument with the flag's name).
// Call it after parsing: an empty PGOUTBOX_HTTP_ADDR, PGOUTBOX_COLUMN_HEADERS,
// PGOUTBOX_COLUMN_TOPIC or PGOUTBOX_MESSAGE_PREFIX in the environment means
// '' (disabled), as the
// flag would, though CLI11 ignores empty variables.
Result<app::RunConfig> Resolve(const RunFlags& flags);

}  // namespace pgoutbox::cli
