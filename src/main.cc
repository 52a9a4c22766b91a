// pgoutbox: streams a PostgreSQL outbox table to Kafka through logical
// replication. main() builds the subcommands, parses the command line, sets
// up logging and signals, and runs the chosen command.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <memory>
#include <vector>

#include "cli/cleanup_command.h"
#include "cli/command.h"
#include "cli/logging.h"
#include "cli/run_command.h"
#include "cli/setup_command.h"
#include "cli/status_command.h"

namespace {

// The only process-wide state: how many stop signals arrived.
std::atomic<int> g_stop_requests{0};

void OnStopSignal(int) { g_stop_requests.fetch_add(1, std::memory_order_relaxed); }

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pgoutbox::cli;  // NOLINT: main only
  CLI::App app{"pgoutbox: every committed outbox row to Kafka, in order per key, none lost"};
  app.set_version_flag("--version", PGOUTBOX_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the subcommand
  std::string log_level = "info";
  std::string log_format = "text";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
      ->envname("PGOUTBOX_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", log_format, "text or json (one object per line)")
      ->envname("PGOUTBOX_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  // Every subcommand; the one chosen runs.
  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(MakeRunCommand(&app));
  commands.push_back(MakeSetupCommand(&app));
  commands.push_back(MakeStatusCommand(&app));
  commands.push_back(MakeCleanupCommand(&app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "pgoutbox: %s\n", e.what());
    std::fprintf(stderr, "Run with --help for usage.\n");
    return kExitUsage;
  }
  if (pgoutbox::Status st = SetUpLogging(log_level, log_format); !st.ok()) {
    std::fprintf(stderr, "pgoutbox: %s\n", st.message().c_str());
    return kExitUsage;
  }
  InstallSignalHandlers();
  for (auto& command : commands) {
    if (command->subcommand()->parsed()) return command->Run(&g_stop_requests);
  }
  return kExitUsage;
}
