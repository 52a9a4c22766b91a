#include "cli/command.h"

#include <spdlog/spdlog.h>

#include <cstdlib>

#include "common/duration.h"

namespace pgoutbox::cli {

int ExitCodeFor(const Status& status) {
  if (status.ok()) return kExitOk;
  spdlog::error("{}", status.message());
  return status.code() == Status::Code::kInvalidArgument ? kExitUsage : kExitFailure;
}

void AddDbFlag(CLI::App* cmd, std::string* db, const std::string& help) {
  cmd->add_option("--db", *db, help)->envname("PGOUTBOX_DB")->required();
}

void AddTableFlag(CLI::App* cmd, std::vector<std::string>* tables) {
  std::string shown;
  for (const std::string& t : *tables) shown += (shown.empty() ? "" : ",") + t;
  cmd->add_option("--table", *tables,
                  "the outbox tables: schema.table, * a wildcard in either part "
                  "(tenant_*.outbox); repeat the flag or separate with commas")
      ->envname("PGOUTBOX_TABLE")
      ->delimiter(',')
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->default_str(shown);
}

void AddPublicationFlag(CLI::App* cmd, std::string* publication) {
  cmd->add_option("--publication", *publication, "name of the publication")
      ->envname("PGOUTBOX_PUBLICATION")
      ->capture_default_str();
}

void AddSlotFlag(CLI::App* cmd, std::string* slot) {
  cmd->add_option("--slot", *slot, "name of the logical replication slot")
      ->envname("PGOUTBOX_SLOT")
      ->capture_default_str();
}

bool GivenOrSetEmpty(const CLI::Option* opt) {
  if (opt == nullptr) return false;
  if (opt->count() > 0) return true;
  const std::string& name = opt->get_envname();
  if (name.empty()) return false;
  const char* value = std::getenv(name.c_str());
  return value != nullptr && *value == '\0';
}

std::string DurationFlag(std::chrono::milliseconds d) {
  return d.count() == 0 ? "0" : FormatDuration(d);
}

}  // namespace pgoutbox::cli
