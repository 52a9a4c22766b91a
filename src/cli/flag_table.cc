#include "cli/flag_table.h"

namespace pgoutbox::cli {

namespace {

std::string Code(const std::string& text) { return "`" + text + "`"; }

std::string EscapeCell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

bool IsHelpOrVersion(const CLI::Option* opt) {
  for (const std::string& name : opt->get_lnames()) {
    if (name == "help" || name == "help-all" || name == "version") return true;
  }
  return false;
}

std::string Row(const CLI::Option* opt) {
  std::string flag = Code(opt->get_name());
  if (!opt->get_envname().empty()) flag += " (" + Code(opt->get_envname()) + ")";
  std::string default_value;
  if (opt->get_required()) {
    default_value = "required";
  } else if (opt->get_expected_max() == 0) {
    default_value = "off";  // a switch
  } else if (!opt->get_default_str().empty()) {
    default_value = Code(opt->get_default_str());
  }
  return "| " + flag + " | " + default_value + " | " + EscapeCell(opt->get_description()) + " |\n";
}

void AppendRows(const CLI::App& app, std::string* out) {
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_positional() || IsHelpOrVersion(opt)) continue;
    *out += Row(opt);
  }
}

// Where the block starts and ends (after the end marker's line) in `text`.
Result<std::pair<size_t, size_t>> FindBlock(const std::string& text, std::string_view subcommand) {
  const std::string begin_marker = FlagTableBegin(subcommand);
  const std::string end_marker = FlagTableEnd(subcommand);
  const size_t begin = text.find(begin_marker);
  const size_t end = text.find(end_marker);
  if (begin == std::string::npos || end == std::string::npos || end < begin ||
      text.find(begin_marker, begin + 1) != std::string::npos ||
      text.find(end_marker, end + 1) != std::string::npos) {
    return Status::NotFound("expected one line " + begin_marker + " and, after it, one line " +
                            end_marker);
  }
  size_t after = end + end_marker.size();
  if (after < text.size() && text[after] == '\n') ++after;
  return std::make_pair(begin, after);
}

}  // namespace

std::string FlagTableBegin(std::string_view subcommand) {
  return "<!-- " + std::string(subcommand) + "-flags:begin -->";
}

std::string FlagTableEnd(std::string_view subcommand) {
  return "<!-- " + std::string(subcommand) + "-flags:end -->";
}

Result<std::string> RenderFlagTable(const CLI::App& root, const std::string& subcommand) {
  const CLI::App* sub = nullptr;
  for (const CLI::App* candidate : root.get_subcommands([](const CLI::App*) { return true; })) {
    if (candidate->get_name() == subcommand) sub = candidate;
  }
  if (sub == nullptr) return Status::NotFound("no subcommand " + subcommand);
  std::string table =
      "| flag (environment variable) | default | meaning |\n"
      "|---|---|---|\n";
  AppendRows(*sub, &table);
  AppendRows(root, &table);
  return table;
}

std::string FlagTableBlock(const std::string& table, std::string_view subcommand) {
  return FlagTableBegin(subcommand) + "\n" + table + FlagTableEnd(subcommand) + "\n";
}

Result<std::string> ReplaceFlagTableBlock(const std::string& text, const std::string& block,
                                          std::string_view subcommand) {
  ASSIGN_OR_RETURN(auto range, FindBlock(text, subcommand));
  return text.substr(0, range.first) + block + text.substr(range.second);
}

Result<std::string> ExtractFlagTableBlock(const std::string& text, std::string_view subcommand) {
  ASSIGN_OR_RETURN(auto range, FindBlock(text, subcommand));
  std::string block = text.substr(range.first, range.second - range.first);
  if (block.back() != '\n') block += '\n';
  return block;
}

}  // namespace pgoutbox::cli
