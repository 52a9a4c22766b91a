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
Result<std::pair<size_t, size_t>> FindBlock(const std::string& text) {
  const size_t begin = text.find(kRunFlagsBegin);
  const size_t end = text.find(kRunFlagsEnd);
  if (begin == std::string::npos || end == std::string::npos || end < begin ||
      text.find(kRunFlagsBegin, begin + 1) != std::string::npos ||
      text.find(kRunFlagsEnd, end + 1) != std::string::npos) {
    return Status::NotFound("expected one line " + std::string(kRunFlagsBegin) +
                            " and, after it, one line " + std::string(kRunFlagsEnd));
  }
  size_t after = end + kRunFlagsEnd.size();
  if (after < text.size() && text[after] == '\n') ++after;
  return std::make_pair(begin, after);
}

}  // namespace

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

std::string FlagTableBlock(const std::string& table) {
  return std::string(kRunFlagsBegin) + "\n" + table + std::string(kRunFlagsEnd) + "\n";
}

Result<std::string> ReplaceFlagTableBlock(const std::string& text, const std::string& block) {
  ASSIGN_OR_RETURN(auto range, FindBlock(text));
  return text.substr(0, range.first) + block + text.substr(range.second);
}

Result<std::string> ExtractFlagTableBlock(const std::string& text) {
  ASSIGN_OR_RETURN(auto range, FindBlock(text));
  std::string block = text.substr(range.first, range.second - range.first);
  if (block.back() != '\n') block += '\n';
  return block;
}

}  // namespace pgoutbox::cli
