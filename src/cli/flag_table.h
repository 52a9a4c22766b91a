// The README's flag table, rendered from the CLI11 definitions so that the
// README and `pgoutbox <subcommand> --help` cannot drift apart.
//
// One markdown row per flag, in declaration order: the subcommand's flags,
// then the global ones (--log-level, --log-format); --help and --version are
// left out.
//
//   | flag (environment variable) | default | meaning |
//   |---|---|---|
//   | `--db` (`PGOUTBOX_DB`) | required | libpq conninfo or URI ... |
//
// The default column shows "required" for a required flag, "off" for a
// switch, the default string in backticks otherwise, and nothing when there
// is none. The meaning is the flag's description, with '|' escaped.
//
// Thread safety: pure functions over an app that is not being parsed.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

namespace pgoutbox::cli {

// The markers of a subcommand's generated block in README.md:
// "<!-- run-flags:begin -->" and "<!-- run-flags:end -->" for `run`.
std::string FlagTableBegin(std::string_view subcommand);
std::string FlagTableEnd(std::string_view subcommand);

// The table of `subcommand` (its own flags) followed by the global flags of
// `root`, its parent; every line ends in "\n". NotFound if `root` has no
// such subcommand.
Result<std::string> RenderFlagTable(const CLI::App& root, const std::string& subcommand);

// `table` between the markers of `subcommand`, each on a line of its own:
// "<!-- run-flags:begin -->\n" + table + "<!-- run-flags:end -->\n".
std::string FlagTableBlock(const std::string& table, std::string_view subcommand = "run");

// Replaces what is between the markers in `text` (markers included) with
// `block` (from FlagTableBlock). NotFound when the markers are missing, in
// the wrong order or there twice.
Result<std::string> ReplaceFlagTableBlock(const std::string& text, const std::string& block,
                                          std::string_view subcommand = "run");

// The block between the markers in `text`, markers and the end's newline
// included, as FlagTableBlock() renders it. NotFound as above.
Result<std::string> ExtractFlagTableBlock(const std::string& text,
                                          std::string_view subcommand = "run");

}  // namespace pgoutbox::cli
