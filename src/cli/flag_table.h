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

// The markers of the generated block in README.md.
inline constexpr std::string_view kRunFlagsBegin = "<!-- run-flags:begin -->";
inline constexpr std::string_view kRunFlagsEnd = "<!-- run-flags:end -->";

// The table of `subcommand` (its own flags) followed by the global flags of
// `root`, its parent; every line ends in "\n". NotFound if `root` has no
// such subcommand.
Result<std::string> RenderFlagTable(const CLI::App& root, const std::string& subcommand);

// `table` between the markers, each on a line of its own:
// "<!-- run-flags:begin -->\n" + table + "<!-- run-flags:end -->\n".
std::string FlagTableBlock(const std::string& table);

// Replaces what is between the markers in `text` (markers included) with
// `block` (from FlagTableBlock). NotFound when the markers are missing, in
// the wrong order or there twice.
Result<std::string> ReplaceFlagTableBlock(const std::string& text, const std::string& block);

// The block between the markers in `text`, markers and the end's newline
// included, as FlagTableBlock() renders it. NotFound as above.
Result<std::string> ExtractFlagTableBlock(const std::string& text);

}  // namespace pgoutbox::cli
