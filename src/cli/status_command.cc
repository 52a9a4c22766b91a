#include "cli/status_command.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>
#include <vector>

#include "admin/status.h"
#include "common/byte_size.h"
#include "common/defaults.h"
#include "pg/catalog.h"
#include "pg/connection.h"
#include "pg/table_selection.h"

namespace pgoutbox::cli {

namespace {

struct StatusFlags {
  std::string db;
  std::string slot{defaults::kSlot};
  std::vector<std::string> table{std::string(defaults::kTable)};
  std::string max_lag{defaults::kStatusMaxLag};
  bool json = false;
};

struct StatusConfig {
  std::string db;
  std::string slot;
  pg::TableSelection tables = pg::TableSelection::Of(pg::TableName{});
  uint64_t max_lag_bytes = 0;
  bool json = false;
};

Result<StatusConfig> Resolve(const StatusFlags& f) {
  StatusConfig c;
  c.db = f.db;
  c.slot = f.slot;
  c.json = f.json;
  if (c.slot.empty()) return Status::InvalidArgument("--slot must not be empty");
  ASSIGN_OR_RETURN(c.tables, pg::TableSelection::Parse(f.table));
  auto max_lag = ParseByteSize(f.max_lag);
  if (!max_lag.ok()) return max_lag.status().WithContext("--max-lag");
  c.max_lag_bytes = *max_lag;
  return c;
}

// Exit 0 healthy, 1 unhealthy or unreachable (any error once the flags are
// valid: a bad conninfo is reported by libpq only when connecting).
int ReportStatus(const StatusConfig& c) {
  auto conn = pg::PgConnection::Connect(c.db, pg::PgConnection::Kind::kOrdinary, "pgoutbox status");
  if (!conn.ok()) {
    spdlog::error("{}", conn.status().message());
    return kExitFailure;
  }
  auto report = admin::GatherStatus(**conn, c.slot, c.tables);
  if (!report.ok()) {
    spdlog::error("{}", report.status().message());
    return kExitFailure;
  }
  const admin::Verdict verdict = admin::Judge(*report, c.max_lag_bytes);
  const std::string out = c.json ? admin::RenderStatusJson(*report, verdict, c.max_lag_bytes)
                                 : admin::RenderStatusText(*report, verdict);
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
  return verdict.healthy ? kExitOk : kExitFailure;
}

class StatusCommandImpl : public Command {
 public:
  explicit StatusCommandImpl(CLI::App* app) {
    sub_ = app->add_subcommand("status",
                               "report the slot's lag and the outbox tables; exit 1 if unhealthy");
    AddDbFlag(sub_, &flags_.db);
    AddSlotFlag(sub_, &flags_.slot);
    AddTableFlag(sub_, &flags_.table);
    sub_->add_option("--max-lag", flags_.max_lag,
                     "unhealthy when the slot's confirmed position is further behind the "
                     "server's WAL than this (1GB, 512MB, 100kB, bytes)")
        ->envname("PGOUTBOX_MAX_LAG")
        ->capture_default_str();
    sub_->add_flag("--json", flags_.json, "print one JSON object instead of text")
        ->envname("PGOUTBOX_JSON");
  }
  CLI::App* subcommand() const override { return sub_; }
  int Run(const std::atomic<int>*) override {
    auto config = Resolve(flags_);
    if (!config.ok()) return ExitCodeFor(config.status());
    return ReportStatus(*config);
  }

 private:
  CLI::App* sub_ = nullptr;
  StatusFlags flags_;
};

}  // namespace

std::unique_ptr<Command> MakeStatusCommand(CLI::App* app) {
  return std::make_unique<StatusCommandImpl>(app);
}

}  // namespace pgoutbox::cli
