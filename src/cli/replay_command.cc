#include "cli/replay_command.h"

#include <cstdio>
#include <set>

#include "common/text.h"

namespace pgoutbox::cli {

namespace {

class ReplayCommandImpl : public Command {
 public:
  explicit ReplayCommandImpl(CLI::App* app) {
    sub_ = app->add_subcommand("replay",
                               "publish outbox rows still in the table again (--since or --ids), "
                               "as the stream did; the slot is not touched");
    AddReplayFlags(sub_, &flags_);
  }
  CLI::App* subcommand() const override { return sub_; }

  int Run(const std::atomic<int>* stop_requests) override {
    auto config = ResolveReplayFlags(flags_);
    if (!config.ok()) return ExitCodeFor(config.status());
    app::ReplayStats stats;
    Status st = app::Replay(*config, stop_requests, &stats);
    if (stats.reading) {
      std::printf("%s\n", ReplaySummary(stats, config->dry_run).c_str());
      std::fflush(stdout);
    }
    return ExitCodeFor(st);
  }

 private:
  CLI::App* sub_ = nullptr;
  ReplayFlags flags_;
};

}  // namespace

void AddReplayFlags(CLI::App* cmd, ReplayFlags* f) {
  AddDbFlag(cmd, &f->db,
            "libpq conninfo or URI of the database (an ordinary connection: SELECT on the table "
            "is all replay needs)");
  AddBrokersFlag(cmd, &f->brokers, /*required=*/false);
  AddTableFlag(cmd, &f->table);
  f->opt_since = cmd->add_option("--since", f->since,
                                 "replay the rows whose created_at is at or after this time, in "
                                 "any form PostgreSQL's timestamptz accepts (e.g. '2026-12-06 "
                                 "10:00+00', 'yesterday'); one of --since and --ids is required")
                     ->envname("PGOUTBOX_SINCE");
  f->opt_until =
      cmd->add_option("--until", f->until, "with --since: only the rows created before this time")
          ->envname("PGOUTBOX_UNTIL");
  f->opt_ids = cmd->add_option("--ids", f->ids,
                               "replay the rows of these event ids (id,id,...), whatever their "
                               "age")
                   ->envname("PGOUTBOX_IDS")
                   ->delimiter(',')
                   ->allow_extra_args(false);
  cmd->add_flag("--dry-run", f->dry_run,
                "print how many rows would be replayed and their first and last created_at "
                "(no --brokers needed); publish nothing")
      ->envname("PGOUTBOX_DRY_RUN");
  cmd->add_option("--column-created-at", f->created_at_column,
                  "the timestamp column --since and --until compare, and the records' "
                  "timestamp (without it: --ids only, timestamped now)")
      ->envname("PGOUTBOX_COLUMN_CREATED_AT")
      ->capture_default_str();
  AddMappingFlags(cmd, &f->mapping);
  AddKafkaConfigFlag(cmd, &f->kafka_config);
  AddBadRowFlags(cmd, &f->bad_rows);
}

Result<app::ReplayConfig> ResolveReplayFlags(const ReplayFlags& f) {
  app::ReplayConfig c;
  c.db = f.db;
  c.brokers = f.brokers;
  c.tables = f.table;
  c.dry_run = f.dry_run;
  if (!c.dry_run && c.brokers.empty()) {
    return Status::InvalidArgument("--brokers is required (except with --dry-run)");
  }
  const bool since = f.opt_since != nullptr && f.opt_since->count() > 0;
  const bool until = f.opt_until != nullptr && f.opt_until->count() > 0;
  const bool ids = f.opt_ids != nullptr && f.opt_ids->count() > 0;
  if (since == ids) {
    return Status::InvalidArgument(
        std::string("exactly one of --since and --ids is required") +
        (since ? ", not both" : " (--since TIMESTAMP, or --ids ID,ID,...)"));
  }
  if (until && !since) return Status::InvalidArgument("--until needs --since");
  if (since) {
    if (f.since.empty()) return Status::InvalidArgument("--since must not be empty");
    c.since = f.since;
  }
  if (until) {
    if (f.until.empty()) return Status::InvalidArgument("--until must not be empty");
    c.until = f.until;
  }
  if (ids) {
    std::set<std::string> seen;
    for (const std::string& id : f.ids) {
      if (id.empty()) return Status::InvalidArgument("--ids has an empty id");
      if (seen.insert(id).second) c.ids.push_back(id);
    }
    // Never an empty selection: that would be every row.
    if (c.ids.empty()) return Status::InvalidArgument("--ids names no id");
  }
  if (f.created_at_column.empty()) {
    return Status::InvalidArgument("--column-created-at must not be empty");
  }
  c.created_at_column = f.created_at_column;
  ASSIGN_OR_RETURN(c.mapping, ResolveMappingFlags(f.mapping));
  ASSIGN_OR_RETURN(c.kafka_config, ResolveKafkaConfig(f.kafka_config));
  ASSIGN_OR_RETURN(BadRowPolicy bad_rows, ResolveBadRowFlags(f.bad_rows));
  c.on_bad_row = bad_rows.action;
  c.dead_letter_topic = bad_rows.dead_letter_topic;
  return c;
}

std::string ReplaySummary(const app::ReplayStats& stats, bool dry_run) {
  std::string s = dry_run ? "would replay " + Counted(stats.rows, "row")
                          : "replayed " + Counted(stats.events, "event") + " from " +
                                Counted(stats.rows, "row");
  if (stats.first_created_at) {
    s += " (created_at " + *stats.first_created_at + " to " +
         stats.last_created_at.value_or(*stats.first_created_at) + ")";
  }
  if (stats.bad_rows > 0) {
    s += "; " + Counted(stats.bad_rows, "bad row") + (dry_run ? "" : " skipped or dead-lettered");
  }
  return s;
}

std::unique_ptr<Command> MakeReplayCommand(CLI::App* app) {
  return std::make_unique<ReplayCommandImpl>(app);
}

}  // namespace pgoutbox::cli
