#include "cli/command.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/duration.h"
#include "pg/connection.h"

namespace pgoutbox::cli {

int ExitCodeFor(const Status& status) {
  if (status.ok()) return kExitOk;
  spdlog::error("{}", status.message());
  return status.code() == Status::Code::kInvalidArgument ? kExitUsage : kExitFailure;
}

Result<std::string> ReadPasswordFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return Status::InvalidArgument(path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + " is not a file");
  if ((st.st_mode & S_IRWXO) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::InvalidArgument(path + " is accessible by every user (mode " + mode +
                                   "): only its owner and group may read it (chmod o-rwx " + path +
                                   ")");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(path + ": " + std::strerror(errno));
  std::stringstream content;
  content << in.rdbuf();
  std::string password = content.str();
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
    password.pop_back();
  }
  if (password.empty()) return Status::InvalidArgument(path + " is empty");
  if (password.find('\n') != std::string::npos) {
    return Status::InvalidArgument(path +
                                   " holds more than one line: the password is the file's "
                                   "only line");
  }
  return password;
}

void AddDbFlag(CLI::App* cmd, std::string* db, const std::string& help) {
  cmd->add_option("--db", *db, help)->envname("PGOUTBOX_DB")->required();
  CLI::Option* password_file =
      cmd->add_option("--db-password-file",
                      "file that holds the database password (its only line), added to --db; it "
                      "must not be accessible by every user (chmod 0640 or 0600)")
          ->envname("PGOUTBOX_DB_PASSWORD_FILE")
          ->type_name("FILE");
  // After parsing, so that --db and the file may come from anywhere
  // (command line, environment, config file).
  cmd->final_callback([db, password_file] {
    if (password_file->count() == 0) return;
    const std::string path = password_file->as<std::string>();
    if (path.empty()) return;
    auto password = ReadPasswordFile(path);
    if (!password.ok()) {
      throw CLI::ValidationError("--db-password-file", password.status().message());
    }
    auto conninfo = pg::AddPassword(*db, *password);
    if (!conninfo.ok()) {
      throw CLI::ValidationError("--db-password-file", conninfo.status().message());
    }
    *db = *conninfo;
  });
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
