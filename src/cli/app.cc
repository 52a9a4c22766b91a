#include "cli/app.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "cli/cleanup_command.h"
#include "cli/config_file.h"
#include "cli/replay_command.h"
#include "cli/run_command.h"
#include "cli/setup_command.h"
#include "cli/status_command.h"
#include "cli/suggest.h"

namespace pgoutbox::cli {

namespace {

constexpr const char* kProgram = "pgoutbox";

bool IsFlagWord(const std::string& word) { return word.size() > 1 && word[0] == '-'; }

// "--retention=1h" -> "--retention".
std::string FlagName(const std::string& word) { return word.substr(0, word.find('=')); }

// Every spelling of the options declared directly on `app`: "--retention", "-X".
std::vector<std::string> FlagNames(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : app.get_options()) {
    for (const std::string& name : opt->get_lnames()) names.push_back("--" + name);
    for (const std::string& name : opt->get_snames()) names.push_back("-" + name);
  }
  return names;
}

bool Declares(const CLI::App& app, const std::string& flag) {
  for (const std::string& name : FlagNames(app)) {
    if (name == flag) return true;
  }
  return false;
}

// "pgoutbox run" for a subcommand, "pgoutbox" for the app itself.
std::string CommandName(const CLI::App* subcommand) {
  return subcommand == nullptr ? kProgram : std::string(kProgram) + " " + subcommand->get_name();
}

ParseOutcome Usage(std::string message) {
  ParseOutcome o;
  o.exit_code = kExitUsage;
  o.err = std::move(message);
  return o;
}

}  // namespace

CommandLine::CommandLine()
    : app_("pgoutbox: every committed outbox row to Kafka, in order per key, none lost", kProgram) {
  app_.set_version_flag("-V,--version", std::string(kProgram) + " " + PGOUTBOX_VERSION,
                        "print the program name and version, then exit");
  app_.require_subcommand(1);
  app_.fallthrough();  // global flags may follow the subcommand
  app_.set_config("--config", "",
                  "read flags from this file (key = value, keys named like the flags); a flag "
                  "or its environment variable wins over the file")
      ->envname("PGOUTBOX_CONFIG")
      ->type_name("FILE");
  app_.config_formatter(std::make_shared<ConfigFileFormat>(&app_));
  app_.add_option("--log-level", log_level_,
                  "how much to log: trace, debug, info, warn, error, critical or off")
      ->envname("PGOUTBOX_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  app_.add_option("--log-format", log_format_,
                  "text, or json for one JSON object per line (time, level, msg)")
      ->envname("PGOUTBOX_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  commands_.push_back(MakeRunCommand(&app_));
  commands_.push_back(MakeSetupCommand(&app_));
  commands_.push_back(MakeStatusCommand(&app_));
  commands_.push_back(MakeCleanupCommand(&app_));
  commands_.push_back(MakeReplayCommand(&app_));
  // After the subcommands, which would inherit it.
  app_.footer(std::string("Run '") + kProgram + " help SUBCOMMAND' or '" + kProgram +
              " SUBCOMMAND --help' for the flags of a subcommand.");
}

ParseOutcome CommandLine::Parse(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "help") return Help(args);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 pops from the back
  // CLI11 reads the file before the environment: PGOUTBOX_CONFIG is given
  // to it as the flag, unless the flag itself is there.
  const char* config_env = std::getenv("PGOUTBOX_CONFIG");
  if (config_env != nullptr && *config_env != '\0') {
    bool given = false;
    for (const std::string& arg : args) {
      if (arg == "--config" || arg.rfind("--config=", 0) == 0) given = true;
    }
    if (!given) {
      reversed.push_back(config_env);
      reversed.push_back("--config");
    }
  }
  try {
    app_.parse(reversed);
  } catch (const CLI::ParseError& error) {
    return Failed(error);
  }
  for (const auto& command : commands_) {
    if (command->subcommand()->parsed()) {
      ParseOutcome o;
      o.command = command.get();
      return o;
    }
  }
  return Usage(std::string(kProgram) + ": a subcommand is required:\n" + SubcommandList());
}

ParseOutcome CommandLine::Failed(const CLI::ParseError& error) {
  if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    // --help, --version.
    std::ostringstream out, err;
    ParseOutcome o;
    o.exit_code = app_.exit(error, out, err);
    o.out = out.str();
    o.err = err.str();
    return o;
  }
  if (dynamic_cast<const CLI::ConfigError*>(&error) != nullptr) {
    return Usage(std::string(kProgram) + ": " + error.what() + "\n");
  }
  if (dynamic_cast<const CLI::FileError*>(&error) != nullptr) return ConfigFileMissing();
  // CLI11 keeps what it could not place (in order) whatever error it then
  // raised: look there first, a typo explains most other errors ("--db is
  // required" after "--dbb x").
  const std::vector<std::string> unknown = app_.remaining(true);
  const std::vector<CLI::App*> chosen = app_.get_subcommands();
  const CLI::App* subcommand = chosen.empty() ? nullptr : chosen.front();
  if (subcommand == nullptr && !unknown.empty() && !IsFlagWord(unknown.front())) {
    if (unknown.front() == "help") return Help(unknown);
    return UnknownSubcommand(unknown.front());
  }
  for (const std::string& word : unknown) {
    if (IsFlagWord(word)) return UnknownFlag(subcommand, word);
  }
  if (subcommand == nullptr) {
    return Usage(std::string(kProgram) + ": a subcommand is required:\n" + SubcommandList());
  }
  if (!unknown.empty()) {
    return Usage(std::string(kProgram) + ": unexpected argument '" + unknown.front() + "' for " +
                 subcommand->get_name() + " (every value belongs to a flag)\nRun '" +
                 CommandName(subcommand) + " --help' for its flags.\n");
  }
  return Usage(std::string(kProgram) + ": " + error.what() + "\nRun '" + CommandName(subcommand) +
               " --help' for its flags.\n");
}

ParseOutcome CommandLine::ConfigFileMissing() const {
  const CLI::Option* opt = app_.get_config_ptr();
  const std::string path = opt != nullptr && opt->count() > 0 ? opt->as<std::string>() : "";
  std::string reason = "cannot be read";
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    reason = std::strerror(errno);
  } else if (S_ISDIR(st.st_mode)) {
    reason = "is a directory";
  } else if (FILE* f = std::fopen(path.c_str(), "r"); f == nullptr) {
    reason = std::strerror(errno);
  } else {
    std::fclose(f);
  }
  return Usage(std::string(kProgram) + ": config file " + path + ": " + reason + "\n");
}

ParseOutcome CommandLine::Help(const std::vector<std::string>& args) const {
  ParseOutcome o;
  if (args.size() < 2) {
    o.out = app_.help();
    return o;
  }
  for (const auto& command : commands_) {
    if (command->subcommand()->get_name() == args[1]) {
      o.out = command->subcommand()->help(kProgram);
      return o;
    }
  }
  return UnknownSubcommand(args[1]);
}

ParseOutcome CommandLine::UnknownFlag(const CLI::App* subcommand, const std::string& word) const {
  const std::string flag = FlagName(word);
  std::vector<std::string> candidates;
  if (subcommand != nullptr) candidates = FlagNames(*subcommand);
  for (const std::string& name : FlagNames(app_)) candidates.push_back(name);
  std::string message = std::string(kProgram) + ": unknown flag " + flag;
  if (subcommand != nullptr) message += " for " + subcommand->get_name();
  if (auto match = ClosestMatch(flag, candidates)) message += "; did you mean " + *match + "?";
  message += "\n";
  std::string owners;
  for (const auto& command : commands_) {
    const CLI::App* other = command->subcommand();
    if (other == subcommand || !Declares(*other, flag)) continue;
    owners += std::string(owners.empty() ? "" : ", ") + "'" + CommandName(other) + "'";
  }
  if (!owners.empty()) message += flag + " is a flag of " + owners + "\n";
  if (subcommand == nullptr) {
    message += "A subcommand is required:\n" + SubcommandList();
  } else {
    message += "Run '" + CommandName(subcommand) + " --help' for its flags.\n";
  }
  return Usage(message);
}

ParseOutcome CommandLine::UnknownSubcommand(const std::string& word) const {
  std::vector<std::string> names;
  for (const auto& command : commands_) names.push_back(command->subcommand()->get_name());
  std::string message = std::string(kProgram) + ": unknown subcommand '" + word + "'";
  if (auto match = ClosestMatch(word, names)) message += "; did you mean '" + *match + "'?";
  return Usage(message + "\nThe subcommands are:\n" + SubcommandList());
}

std::string CommandLine::SubcommandList() const {
  size_t width = 0;
  for (const auto& command : commands_) {
    width = std::max(width, command->subcommand()->get_name().size());
  }
  std::string list;
  for (const auto& command : commands_) {
    const CLI::App* sub = command->subcommand();
    list += "  " + sub->get_name() + std::string(width + 2 - sub->get_name().size(), ' ') +
            sub->get_description() + "\n";
  }
  return list + "Run '" + kProgram + " help SUBCOMMAND' or '" + kProgram +
         " SUBCOMMAND --help' for its flags.\n";
}

}  // namespace pgoutbox::cli
