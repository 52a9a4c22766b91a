#include "cli/cleanup_command.h"

#include <chrono>
#include <cstdio>

#include "app/cleanup_once.h"
#include "cli/command.h"
#include "common/duration.h"
#include "common/text.h"
#include "pg/catalog.h"
#include "pg/table_selection.h"

namespace pgoutbox::cli {

namespace {

// "--retention 2x: ..." for a value that is not a duration or is longer
// than `max`.
Status ParseDurationFlag(const std::string& flag, const std::string& text,
                         std::chrono::milliseconds* out,
                         std::chrono::milliseconds max = kMaxDuration) {
  auto d = ParseDuration(text, max);
  if (!d.ok()) return d.status().WithContext(flag);
  *out = *d;
  return Status::Ok();
}

Status RequirePositive(const std::string& flag, std::chrono::milliseconds d) {
  if (d.count() <= 0) return Status::InvalidArgument(flag + " must be greater than 0");
  return Status::Ok();
}

class CleanupCommandImpl : public Command {
 public:
  explicit CleanupCommandImpl(CLI::App* app) {
    sub_ = app->add_subcommand("cleanup",
                               "delete outbox rows older than the retention, once (their events "
                               "are in the WAL, nothing is lost)");
    AddDbFlag(sub_, &db_);
    AddTableFlag(sub_, &table_);
    AddCleanupFlags(sub_, &flags_, CleanupFlagScope::kCleanupCommand);
  }
  CLI::App* subcommand() const override { return sub_; }

  int Run(const std::atomic<int>* stop_requests) override {
    auto config = ResolveCleanupFlags(flags_, db_, table_);
    if (!config.ok()) return ExitCodeFor(config.status());
    if (!config->cleanup.enabled()) {
      std::printf("cleanup is disabled (--retention 0): deleted 0 rows\n");
      std::fflush(stdout);
      return kExitOk;
    }
    auto selection = pg::TableSelection::Parse(table_);
    if (!selection.ok()) return ExitCodeFor(selection.status());
    auto stats = app::CleanupOnce(*config, *selection, stop_requests);
    if (!stats.ok()) return ExitCodeFor(stats.status());
    std::printf("%s\n", CleanupSummary(*stats).c_str());
    std::fflush(stdout);
    return kExitOk;
  }

 private:
  CLI::App* sub_ = nullptr;
  std::string db_;
  std::vector<std::string> table_{std::string(defaults::kTable)};
  CleanupFlags flags_;
};

}  // namespace

void AddCleanupFlags(CLI::App* cmd, CleanupFlags* f, CleanupFlagScope scope) {
  const bool run = scope == CleanupFlagScope::kRunCommand;
  cmd->add_option("--column-created-at", f->created_at_column,
                  run ? "the timestamp column cleanup compares with --retention (cleanup is off, "
                        "with a warning, if the table lacks it)"
                      : "the timestamp column cleanup compares with --retention")
      ->envname("PGOUTBOX_COLUMN_CREATED_AT")
      ->capture_default_str();
  cmd->add_option("--retention", f->retention,
                  "delete outbox rows older than this (e.g. 24h, 7d); 0 disables cleanup")
      ->envname("PGOUTBOX_RETENTION")
      ->capture_default_str();
  if (run) {
    cmd->add_option("--cleanup-interval", f->interval,
                    "how often cleanup deletes the rows older than --retention")
        ->envname("PGOUTBOX_CLEANUP_INTERVAL")
        ->capture_default_str();
  }
  cmd->add_option("--cleanup-batch", f->batch_size,
                  "how many rows one cleanup batch, a short transaction of its own, deletes")
      ->envname("PGOUTBOX_CLEANUP_BATCH")
      ->capture_default_str();
  cmd->add_option("--cleanup-lock-timeout", f->lock_timeout,
                  "how long a cleanup batch waits for a lock before it gives up until the next "
                  "pass")
      ->envname("PGOUTBOX_CLEANUP_LOCK_TIMEOUT")
      ->capture_default_str();
  cmd->add_option("--cleanup-statement-timeout", f->statement_timeout,
                  "how long one cleanup batch may run before it gives up until the next pass")
      ->envname("PGOUTBOX_CLEANUP_STATEMENT_TIMEOUT")
      ->capture_default_str();
}

Result<admin::PeriodicCleanerOptions> ResolveCleanupFlags(const CleanupFlags& f,
                                                          const std::string& db,
                                                          const std::vector<std::string>& tables) {
  admin::PeriodicCleanerOptions o;
  o.conninfo = db;
  ASSIGN_OR_RETURN(pg::TableSelection selection, pg::TableSelection::Parse(tables));
  o.tables = selection.ExactTables();
  if (!o.tables.empty()) o.cleanup.table = o.tables.front();
  if (f.created_at_column.empty()) {
    return Status::InvalidArgument("--column-created-at must not be empty");
  }
  o.cleanup.created_at_column = f.created_at_column;
  RETURN_IF_ERROR(ParseDurationFlag("--retention", f.retention, &o.cleanup.retention));
  if (f.batch_size < 1) {
    return Status::InvalidArgument("--cleanup-batch must be at least 1, not " +
                                   std::to_string(f.batch_size));
  }
  o.cleanup.batch_size = f.batch_size;
  RETURN_IF_ERROR(ParseDurationFlag("--cleanup-lock-timeout", f.lock_timeout,
                                    &o.cleanup.lock_timeout, kMaxIntMillis));
  RETURN_IF_ERROR(RequirePositive("--cleanup-lock-timeout", o.cleanup.lock_timeout));
  // PostgreSQL's lock_timeout and statement_timeout are ints of milliseconds.
  RETURN_IF_ERROR(ParseDurationFlag("--cleanup-statement-timeout", f.statement_timeout,
                                    &o.cleanup.statement_timeout, kMaxIntMillis));
  RETURN_IF_ERROR(RequirePositive("--cleanup-statement-timeout", o.cleanup.statement_timeout));
  RETURN_IF_ERROR(ParseDurationFlag("--cleanup-interval", f.interval, &o.interval));
  RETURN_IF_ERROR(RequirePositive("--cleanup-interval", o.interval));
  // Anything else ValidateCleanupOptions checks is covered above; keep them
  // in step.
  RETURN_IF_ERROR(admin::ValidateCleanupOptions(o.cleanup));
  return o;
}

std::string CleanupSummary(const admin::CleanupStats& stats) {
  return "deleted " + Counted(stats.rows, "row");
}

std::unique_ptr<Command> MakeCleanupCommand(CLI::App* app) {
  return std::make_unique<CleanupCommandImpl>(app);
}

}  // namespace pgoutbox::cli
