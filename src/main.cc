// pgoutbox: streams a PostgreSQL outbox table to Kafka through logical
// replication. main() parses the command line (cli/app.h), sets up logging
// and signals, and runs the chosen command.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/command.h"
#include "cli/logging.h"

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
  CommandLine command_line;
  ParseOutcome parsed = command_line.Parse(std::vector<std::string>(argv + 1, argv + argc));
  std::fputs(parsed.out.c_str(), stdout);
  std::fflush(stdout);
  std::fputs(parsed.err.c_str(), stderr);
  if (parsed.command == nullptr) return parsed.exit_code;
  if (pgoutbox::Status st = SetUpLogging(command_line.log_level(), command_line.log_format());
      !st.ok()) {
    std::fprintf(stderr, "pgoutbox: %s\n", st.message().c_str());
    return kExitUsage;
  }
  InstallSignalHandlers();
  return parsed.command->Run(&g_stop_requests);
}
