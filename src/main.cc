// pgoutbox: streams a PostgreSQL outbox table to Kafka through logical
// replication. main() parses the command line, sets up logging and signals,
// and hands over to the command.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>

#include "cli/run_command.h"
#include "cli/run_config.h"

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

void SetUpLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("pgoutbox");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

constexpr int kExitUsage = 2;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pgoutbox: every committed outbox row to Kafka, in order per key, none lost"};
  app.set_version_flag("--version", PGOUTBOX_VERSION);
  app.require_subcommand(1);
  CLI::App* run = app.add_subcommand("run", "stream the outbox table to Kafka");
  pgoutbox::cli::RunFlags flags;
  pgoutbox::cli::AddRunFlags(run, &flags);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "pgoutbox: %s\n", e.what());
    std::fprintf(stderr, "Run with --help for usage.\n");
    return kExitUsage;
  }

  auto config = pgoutbox::cli::Resolve(flags);
  if (!config.ok()) {
    std::fprintf(stderr, "pgoutbox: %s\n", config.status().message().c_str());
    return kExitUsage;
  }
  SetUpLogging(config->log_level);
  InstallSignalHandlers();

  pgoutbox::Status st = pgoutbox::cli::RunCommand(*config, &g_stop_requests);
  if (!st.ok()) {
    spdlog::error("{}", st.message());
    return st.code() == pgoutbox::Status::Code::kInvalidArgument ? kExitUsage : 1;
  }
  return 0;
}
