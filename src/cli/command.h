// Command: one `pgoutbox <subcommand>`. main() builds every command on the
// CLI11 app, parses, and runs the one the user chose.
//
// Contract: Make<Name>Command(app) declares the subcommand and its flags on
// `app` and keeps pointers to the parsed values; Run() is called at most
// once, after parsing, only if that subcommand was chosen, with logging set
// up. It returns the process exit code: 0 success, 2 bad usage or
// configuration (Status::kInvalidArgument), 1 anything else unless the
// command documents otherwise.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace pgoutbox::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

class Command {
 public:
  virtual ~Command() = default;
  // The CLI11 subcommand this command declared.
  virtual CLI::App* subcommand() const = 0;
  // `stop_requests` counts SIGTERM/SIGINT signals received so far.
  virtual int Run(const std::atomic<int>* stop_requests) = 0;
};

// Logs a failed Status as one error line and maps it to an exit code.
int ExitCodeFor(const Status& status);

// The flags several commands share, each with its PGOUTBOX_* variable, so
// names, variables and help read the same everywhere. --db is required; the
// others show their default.
// AddDbFlag declares --db and --db-password-file: after parsing, the
// password read from the file (ReadPasswordFile) is added to `db`; a file
// that cannot be read or a --db that already holds a password fails the
// parse (exit 2).
void AddDbFlag(CLI::App* cmd, std::string* db,
               const std::string& help = "libpq conninfo or URI of the database");
// The password in the file at `path`: its content without the trailing
// newline. InvalidArgument naming the file when it is missing, not a regular
// file, accessible by every user (mode o+rwx: libpq refuses such a passfile
// too), empty or of several lines.
Result<std::string> ReadPasswordFile(const std::string& path);
// --table: repeatable and comma-separated (PGOUTBOX_TABLE comma-separated
// too); given entries replace the initial contents of `tables`, which are the
// default shown (callers start it as {defaults::kTable}).
void AddTableFlag(CLI::App* cmd, std::vector<std::string>* tables);
void AddPublicationFlag(CLI::App* cmd, std::string* publication);
void AddSlotFlag(CLI::App* cmd, std::string* slot);

// Whether `opt` was given, on the command line or by its environment
// variable, counting a variable that is set but empty ("PGOUTBOX_HTTP_ADDR=")
// as given with the value "": CLI11 ignores empty variables, but for a flag
// where '' means "none" the variable must say the same as the flag. Reads the
// environment; call it after parsing. False for nullptr.
bool GivenOrSetEmpty(const CLI::Option* opt);

// A default duration as a flag shows it: "0" for off, else FormatDuration's
// "30s".
std::string DurationFlag(std::chrono::milliseconds d);

}  // namespace pgoutbox::cli
