// The config file: `pgoutbox --config FILE <subcommand>` (or PGOUTBOX_CONFIG)
// sets flags from a file, for systemd units and the like.
//
//   # /etc/pgoutbox/shop.conf
//   db = "host=db.internal dbname=shop user=pgoutbox"
//   db-password-file = "/etc/pgoutbox/shop.password"
//   brokers = "kafka-1:9092,kafka-2:9092"
//   table = ["public.outbox", "billing.outbox"]
//   X = ["compression.type=zstd"]
//   no-create = true
//   retention = 7d
//   [status]
//   max-lag = 512MB
//
// The format is a subset of TOML: `key = value` lines, `#` comments outside
// quotes, values "basic strings" (with \" \\ \n \t \uXXXX escapes),
// 'literal strings', bare words without spaces (7d, true, 0/16B3748), or
// arrays of those in [...] (which may span lines). A key is a flag's long
// name without the dashes ("http-addr"; "X" for -X); a switch takes true or
// false. `[run]`, `[setup]`, ... start a section whose keys apply only to that
// subcommand and override the top-level ones for it. A top-level key that the
// chosen subcommand does not have but another one has is ignored, so one file
// serves run, status, setup, cleanup and replay.
//
// Precedence: a flag on the command line > its PGOUTBOX_* variable (set, even
// to '') > the file > the default. A list given on the command line replaces
// the file's list.
//
// Errors (exit 2, "pgoutbox: config file PATH: line N: ..."): a syntax error,
// a key no subcommand has (with the closest one), a key set twice, a section
// that is not a subcommand, a switch not true or false, several values for a
// flag that takes one, `config` itself.
//
// Thread safety: ParseConfigText is pure; ConfigFileFormat is called by CLI11
// during CommandLine::Parse, on the parsing thread.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pgoutbox::cli {

// One `key = value` line of a config file.
struct ConfigEntry {
  std::string section;  // "" at the top, else the name in [...]
  std::string key;
  std::vector<std::string> values;  // one for a scalar, the elements of an array
  bool array = false;
  int line = 0;  // 1-based, where the key is
};

// The entries of a config file's text, in order. InvalidArgument
// "line N: ..." for a syntax error.
Result<std::vector<ConfigEntry>> ParseConfigText(std::string_view text);

// The CLI11 config formatter of pgoutbox's command line: reads the file with
// ParseConfigText and hands CLI11 the entries that apply to the subcommand
// being parsed, as items of that subcommand (or of the root app for the
// global flags), leaving out those whose environment variable is set. CLI11
// itself skips an item whose flag was given on the command line. Throws
// CLI::ConfigError with the message described above.
//
// `root` must outlive the formatter; its --config option holds the file name.
class ConfigFileFormat : public CLI::Config {
 public:
  explicit ConfigFileFormat(const CLI::App* root) : root_(root) {}

  std::string to_config(const CLI::App* app, bool default_also, bool write_description,
                        std::string prefix) const override;
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

 private:
  const CLI::App* root_;
};

// The entries of `entries` that apply when `chosen` (a subcommand of `root`)
// runs, as CLI11 items; InvalidArgument "line N: ..." as described above.
// Reads the environment.
Result<std::vector<CLI::ConfigItem>> PlaceConfigEntries(const CLI::App& root,
                                                        const CLI::App& chosen,
                                                        const std::vector<ConfigEntry>& entries);

// The config file's key of every option of `app` that may be set in one
// ("db", "X"), in declaration order: --help, --version and --config are not.
std::vector<std::string> ConfigKeys(const CLI::App& app);

}  // namespace pgoutbox::cli
