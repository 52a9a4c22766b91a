// ReplayCommand: `pgoutbox replay`, which publishes outbox rows still in the
// table once more, on an operator's request (see app/replay.h): the rows
// created since a time (--since, optionally --until) or the rows of given ids
// (--ids), with the keys, headers and topics of the stream. It prints one
// summary line on stdout: "replayed N events from M rows ...", or with
// --dry-run "would replay M rows ...".
//
// The flags that decide the records (--brokers, -X, the column mapping,
// --topic, --on-bad-row, --dlq-topic) are run's (cli/mapping_flags.h).
// Exit codes: 0 done; 2 the command line (neither or both of --since and
// --ids, a timestamp or id the server cannot read); 1 anything else,
// including records not delivered, a bad row under halt, ids not in the
// table and a stop signal before the end.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "app/replay.h"
#include "cli/command.h"
#include "cli/mapping_flags.h"
#include "common/defaults.h"
#include "common/status.h"

namespace pgoutbox::cli {

// Raw flag values as CLI11 fills them; ResolveReplayFlags() validates them.
struct ReplayFlags {
  std::vector<std::string> table{std::string(defaults::kTable)};
  std::string db, brokers;
  MappingFlags mapping;
  std::vector<std::string> kafka_config;
  std::string created_at_column{defaults::kCreatedAtColumn};
  std::string since, until;
  std::vector<std::string> ids;
  bool dry_run = false;
  BadRowFlags bad_rows;

  CLI::Option* opt_since = nullptr;
  CLI::Option* opt_until = nullptr;
  CLI::Option* opt_ids = nullptr;
};

// Declares the flags of `replay` on `cmd`, bound to `flags`.
void AddReplayFlags(CLI::App* cmd, ReplayFlags* flags);

// Validates the flags (InvalidArgument naming the flag); call it after
// parsing. The timestamps are left to the server to read.
Result<app::ReplayConfig> ResolveReplayFlags(const ReplayFlags& flags);

// The line printed on stdout: "replayed 3 events from 3 rows (created_at
// 2026-12-06 10:00:00+00 to 2026-12-06 11:00:00+00)", "would replay ...".
std::string ReplaySummary(const app::ReplayStats& stats, bool dry_run);

// Declares `pgoutbox replay` on `app`.
std::unique_ptr<Command> MakeReplayCommand(CLI::App* app);

}  // namespace pgoutbox::cli
