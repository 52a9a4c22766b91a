// RunConfig: the effective configuration of `pgoutbox run`, and its command
// line (CLI11; every flag can also come from a PGOUTBOX_* environment
// variable).
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cli/cleanup_command.h"
#include "common/status.h"
#include "common/types.h"
#include "core/streamer.h"
#include "outbox/column_map.h"

namespace pgoutbox::cli {

struct RunConfig {
  std::string db;
  std::string brokers;
  std::string table = "public.outbox";
  std::string publication = "pgoutbox";
  std::string slot = "pgoutbox";
  bool no_create = false;
  std::string preset;  // "" or "debezium"
  outbox::ColumnMap columns;
  bool headers_column_explicit = false;  // --column-headers given
  bool topic_column_explicit = false;    // --column-topic given
  std::string topic_template = "outbox.event.{aggregate_type}";
  std::vector<std::pair<std::string, std::string>> kafka_config;  // -X
  std::optional<Lsn> end_lsn;
  bool exit_when_caught_up = false;
  std::chrono::milliseconds feedback_interval{1000};
  std::chrono::milliseconds startup_timeout{10000};
  std::chrono::milliseconds shutdown_timeout{30000};
  std::string http_addr = "127.0.0.1:9187";  // empty: no HTTP endpoint
  std::chrono::milliseconds stall_timeout{60000};
  std::chrono::milliseconds heartbeat_interval{0};  // 0: off
  std::chrono::milliseconds standby_retry_interval{2000};
  std::chrono::milliseconds log_summary_interval{30000};  // 0: off
  admin::PeriodicCleanerOptions cleanup;  // cleanup.cleanup.enabled(): periodic deletion on
  core::BadRowAction on_bad_row = core::BadRowAction::kHalt;
  std::string dead_letter_topic = "outbox.dlq";

  // One line for the start-up log, secrets redacted, durations the way a
  // user writes them ("retention=24h").
  std::string Describe() const;
};

// Raw flag values as CLI11 fills them; Resolve() validates them.
struct RunFlags {
  std::string db, brokers, table = "public.outbox", publication = "pgoutbox", slot = "pgoutbox";
  bool no_create = false;
  std::string preset = "default";
  std::string column_id, column_key, column_type, column_aggregate_type, column_payload,
      column_headers, column_topic;
  std::string topic_template = "outbox.event.{aggregate_type}";
  std::vector<std::string> kafka_config;
  std::string end_lsn;
  bool exit_when_caught_up = false;
  std::string feedback_interval = "1s", startup_timeout = "10s", shutdown_timeout = "30s";
  std::string http_addr = "127.0.0.1:9187", stall_timeout = "60s", heartbeat_interval = "0",
              standby_retry_interval = "2s", log_summary_interval = "30s";
  CleanupFlags cleanup;
  std::string on_bad_row = "halt", dlq_topic = "outbox.dlq";

  CLI::Option* opt_column_id = nullptr;
  CLI::Option* opt_column_key = nullptr;
  CLI::Option* opt_column_type = nullptr;
  CLI::Option* opt_column_aggregate_type = nullptr;
  CLI::Option* opt_column_payload = nullptr;
  CLI::Option* opt_column_headers = nullptr;
  CLI::Option* opt_column_topic = nullptr;
  CLI::Option* opt_http_addr = nullptr;
};

// Declares the flags of `run` on `cmd`, bound to `flags`.
void AddRunFlags(CLI::App* cmd, RunFlags* flags);

// Validates the flags into a RunConfig (InvalidArgument with the flag's name).
// Call it after parsing: an empty PGOUTBOX_HTTP_ADDR, PGOUTBOX_COLUMN_HEADERS
// or PGOUTBOX_COLUMN_TOPIC in the environment means '' (disabled), as the
// flag would, though CLI11 ignores empty variables.
Result<RunConfig> Resolve(const RunFlags& flags);

}  // namespace pgoutbox::cli
