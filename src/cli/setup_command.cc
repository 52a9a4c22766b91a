#include "cli/setup_command.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>
#include <vector>

#include "admin/failover.h"
#include "admin/setup.h"
#include "common/defaults.h"
#include "pg/catalog.h"
#include "pg/connection.h"
#include "pg/table_selection.h"

namespace pgoutbox::cli {

namespace {

struct SetupFlags {
  std::string db;
  std::vector<std::string> table{std::string(defaults::kTable)};
  std::string publication{defaults::kPublication};
  std::string slot{defaults::kSlot};
  std::string role{defaults::kRole};
  bool dry_run = false;
};

Result<admin::SetupNames> Resolve(const SetupFlags& f) {
  admin::SetupNames names;
  ASSIGN_OR_RETURN(names.tables, pg::TableSelection::Parse(f.table));
  RETURN_IF_ERROR(pg::ValidatePublicationName(f.publication));
  RETURN_IF_ERROR(pg::ValidateSlotName(f.slot));
  names.publication = f.publication;
  names.slot = f.slot;
  names.role = f.role;
  return names;
}

void Print(const std::string& text) {
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

Status Setup(const SetupFlags& flags, const admin::SetupNames& names) {
  ASSIGN_OR_RETURN(auto conn, pg::PgConnection::Connect(flags.db, pg::PgConnection::Kind::kOrdinary,
                                                        "pgoutbox setup"));
  ASSIGN_OR_RETURN(admin::SetupPlan plan, admin::PlanSetup(*conn, names));
  if (flags.dry_run) {
    Print(admin::RenderDryRun(plan));
    return Status::Ok();
  }
  RETURN_IF_ERROR(
      admin::ApplySetup(*conn, plan, [](const std::string& line) { Print(line + "\n"); }));
  // What failover needs from the servers, after the report.
  ASSIGN_OR_RETURN(admin::FailoverSettings failover,
                   admin::ReadFailoverSettings(*conn, names.slot));
  for (const std::string& line : admin::FailoverSetupLines(failover, names.slot)) {
    Print(line + "\n");
  }
  return Status::Ok();
}

class SetupCommandImpl : public Command {
 public:
  explicit SetupCommandImpl(CLI::App* app) {
    sub_ = app->add_subcommand(
        "setup",
        "create the outbox tables, publication, role and slot if missing (the SQL of sql/)");
    AddDbFlag(sub_, &flags_.db, "libpq conninfo or URI of the database, as an admin");
    AddTableFlag(sub_, &flags_.table);
    AddPublicationFlag(sub_, &flags_.publication);
    AddSlotFlag(sub_, &flags_.slot);
    sub_->add_option("--role", flags_.role,
                     "least-privilege role pgoutbox runs as (LOGIN REPLICATION, SELECT and "
                     "DELETE on the table); empty for none")
        ->envname("PGOUTBOX_ROLE")
        ->capture_default_str();
    sub_->add_flag("--dry-run", flags_.dry_run, "print the SQL it would run; change nothing")
        ->envname("PGOUTBOX_DRY_RUN");
  }
  CLI::App* subcommand() const override { return sub_; }
  int Run(const std::atomic<int>*) override {
    auto names = Resolve(flags_);
    if (!names.ok()) return ExitCodeFor(names.status());
    return ExitCodeFor(Setup(flags_, *names));
  }

 private:
  CLI::App* sub_ = nullptr;
  SetupFlags flags_;
};

}  // namespace

std::unique_ptr<Command> MakeSetupCommand(CLI::App* app) {
  return std::make_unique<SetupCommandImpl>(app);
}

}  // namespace pgoutbox::cli
