// RelayCommand: `pgoutbox-bench relay`. The benchmark's naive relay, the
// comparison for pgoutbox's live latency (bench/relay.h): streams the outbox
// inserts of an existing slot to Kafka until SIGTERM or SIGINT (or until
// --end-lsn is confirmed), then flushes and confirms what was acknowledged.
// Prints "ready=1" once the server accepted START_REPLICATION, and at the end
// events, acked, confirmed and seconds. Exits 0 after a stop signal or at
// --end-lsn, 1 on failure.
#pragma once

#include <memory>

#include "tools/command.h"

namespace pgoutbox::tools {

// Declares `pgoutbox-bench relay` on `app`.
std::unique_ptr<Command> MakeRelayCommand(CLI::App* app);

}  // namespace pgoutbox::tools
