// RunConfig: the effective configuration of the daemon (`pgoutbox run`),
// validated. The command line fills it (cli/run_flags.h); the daemon
// (app/daemon.h) reads it and never changes it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "admin/cleanup.h"
#include "app/mapping.h"
#include "common/defaults.h"
#include "common/types.h"
#include "core/streamer.h"

namespace pgoutbox::app {

struct RunConfig {
  std::string db;
  std::string brokers;
  // The --table entries (pg::TableSelection: "schema.table", `*` wildcards).
  std::vector<std::string> tables{std::string(defaults::kTable)};
  std::string publication{defaults::kPublication};
  std::string slot{defaults::kSlot};
  bool no_create = false;
  MappingConfig mapping;
  std::vector<std::pair<std::string, std::string>> kafka_config;  // -X
  std::optional<Lsn> end_lsn;
  bool exit_when_caught_up = false;
  std::chrono::milliseconds feedback_interval = defaults::kFeedbackInterval;
  std::chrono::milliseconds startup_timeout = defaults::kStartupTimeout;
  std::chrono::milliseconds shutdown_timeout = defaults::kShutdownTimeout;
  std::string http_addr{defaults::kHttpAddr};  // empty: no HTTP endpoint
  std::chrono::milliseconds stall_timeout = defaults::kStallTimeout;
  std::chrono::milliseconds heartbeat_interval = defaults::kHeartbeatInterval;  // 0: off
  std::chrono::milliseconds standby_retry_interval = defaults::kStandbyRetryInterval;
  std::chrono::milliseconds log_summary_interval = defaults::kLogSummaryInterval;  // 0: off
  admin::PeriodicCleanerOptions cleanup;  // cleanup.cleanup.enabled(): periodic deletion on
  core::BadRowAction on_bad_row = core::BadRowAction::kHalt;
  std::string dead_letter_topic{defaults::kDeadLetterTopic};
  std::string state_topic{defaults::kStateTopic};
  // Recover from the table even when cleanup may have deleted rows the
  // delivered mark needs (app/start_plan.h).
  bool accept_gap = false;
  // Logical decoding messages with this prefix are events
  // (outbox::MessageMapper); empty: none is.
  std::string message_prefix{defaults::kMessagePrefix};

  // The flag that makes this run stop at an end position, for messages:
  // "--exit-when-caught-up" or "--end-lsn".
  const char* EndFlag() const {
    return exit_when_caught_up ? "--exit-when-caught-up" : "--end-lsn";
  }

  // One line for the start-up log, secrets redacted, durations the way a
  // user writes them ("retention=24h").
  std::string Describe() const;
};

}  // namespace pgoutbox::app
