// Daemon: `pgoutbox run` once its flags are valid. Checks everything before
// touching anything (database reachable, wal_level, table and columns,
// publication and slot, Kafka reachable: app/startup.h), decides how to
// start from the server's identity, the state topic and the slot
// (app/start_plan.h: refusing another cluster or a retention gap with one
// line, nothing created), creates the publication and slot if missing or
// recovers from the table (app/recovery.h), then wires the parts together
// (metrics and the HTTP endpoint, the server monitor, the periodic cleaner,
// the publisher, the state keeper, the ack tracker and the streamer) and
// streams under the Supervisor until stopped, the end position, or a
// failure. When the slot vanishes under the stream, it waits for the events
// in flight and goes back to deciding, with what this process knows was
// delivered.
//
// Failure: the Status of what stopped it (see the README's exit codes);
// Cancelled when a stop signal came during start-up, saying what was
// created. Thread safety: call from the main thread; `stop_requests` is
// incremented by the signal handler (SIGTERM/SIGINT).
#pragma once

#include <atomic>

#include "app/run_config.h"
#include "common/status.h"

namespace pgoutbox::app {

Status RunDaemon(const RunConfig& config, const std::atomic<int>* stop_requests);

}  // namespace pgoutbox::app
