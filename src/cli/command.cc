#include "cli/command.h"

#include <spdlog/spdlog.h>

namespace pgoutbox::cli {

int ExitCodeFor(const Status& status) {
  if (status.ok()) return kExitOk;
  spdlog::error("{}", status.message());
  return status.code() == Status::Code::kInvalidArgument ? kExitUsage : kExitFailure;
}

void AddDbFlag(CLI::App* cmd, std::string* db, const std::string& help) {
  cmd->add_option("--db", *db, help)->envname("PGOUTBOX_DB")->required();
}

void AddTableFlag(CLI::App* cmd, std::string* table) {
  cmd->add_option("--table", *table, "outbox table (schema.table)")
      ->envname("PGOUTBOX_TABLE")
      ->capture_default_str();
}

void AddPublicationFlag(CLI::App* cmd, std::string* publication) {
  cmd->add_option("--publication", *publication, "publication name")
      ->envname("PGOUTBOX_PUBLICATION")
      ->capture_default_str();
}

void AddSlotFlag(CLI::App* cmd, std::string* slot) {
  cmd->add_option("--slot", *slot, "logical replication slot name")
      ->envname("PGOUTBOX_SLOT")
      ->capture_default_str();
}

}  // namespace pgoutbox::cli
