// CommandLine: the whole command line of pgoutbox, built once and shared by
// main() and the tests: the CLI11 app with the global flags (--config,
// --log-level, --log-format, -V/--version, -h/--help), every subcommand (run,
// setup, status, cleanup, replay) and the messages for what does not parse.
// --config (or PGOUTBOX_CONFIG) reads flags from a file (cli/config_file.h).
//
// Parse() never throws: CLI11's exceptions stay inside it and come out as a
// ParseOutcome. Mistakes get exit code 2 and a message that names the
// culprit and what was probably meant:
//   pgoutbox: unknown subcommand 'rnu'; did you mean 'run'?  (+ the list)
//   pgoutbox: unknown flag --retenion for run; did you mean --retention?
// The first line of each starts with "pgoutbox: " and is the only one that
// does.
// `pgoutbox help [SUBCOMMAND]`, --help and -V/--version print to stdout and
// exit 0.
//
// Thread safety: one thread; Parse() at most once per CommandLine.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"

namespace pgoutbox::cli {

// What main() does after parsing: print `out` to stdout and `err` to stderr,
// then run `command` if it is set, else exit with `exit_code`.
struct ParseOutcome {
  Command* command = nullptr;  // owned by the CommandLine
  int exit_code = kExitOk;
  std::string out;
  std::string err;
};

class CommandLine {
 public:
  CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  // Parses the arguments after the program name.
  ParseOutcome Parse(const std::vector<std::string>& args);

  // The global flags, valid after a Parse() that chose a command.
  const std::string& log_level() const { return log_level_; }
  const std::string& log_format() const { return log_format_; }

  // The CLI11 app, for inspection (help, the README's flag table).
  const CLI::App& app() const { return app_; }

 private:
  ParseOutcome Failed(const CLI::ParseError& error);
  ParseOutcome ConfigFileMissing() const;
  ParseOutcome Help(const std::vector<std::string>& args) const;
  ParseOutcome UnknownFlag(const CLI::App* subcommand, const std::string& word) const;
  ParseOutcome UnknownSubcommand(const std::string& word) const;
  std::string SubcommandList() const;

  CLI::App app_;
  std::string log_level_ = "info";
  std::string log_format_ = "text";
  std::vector<std::unique_ptr<Command>> commands_;
};

}  // namespace pgoutbox::cli
