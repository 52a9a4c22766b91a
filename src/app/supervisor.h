// Supervisor: keeps the streamer connected. It starts the replication
// stream and runs the streamer on it until the run is over, reconnecting
// with backoff when the connection breaks (a server restart, the network)
// and waiting as a hot standby while another process holds the slot, trying
// to take it over every standby_retry_interval. A run with an end position
// does not wait as a hot standby: that is an error. Between connections the
// events in flight keep being acknowledged (Streamer::ServeDeliveries).
//
// Logs "streaming from slot ..." once, when the slot is first held, and one
// line per reconnect or takeover naming the server (with several hosts in
// the conninfo, the one that accepted: after a failover, the new primary);
// retries are logged at most every 5 s. A START_REPLICATION that fails
// because the server is not ready (shutting down, starting up, in recovery,
// a synced slot during promotion) is retried like a broken connection.
//
// With return_on_takeover, taking the slot over from another process ends
// Run() (OK, taken_over()) once the events in flight are acknowledged,
// before streaming: the daemon decides the start again from the state that
// process wrote (a recovery from the table it left unfinished must be done
// before anything is streamed, or its rows would be skipped).
//
// When the slot is gone (missing, or invalidated) on a (re)connection, Run()
// returns NotFound or FailedPrecondition and slot_gone() says so: the daemon
// then recovers from the table (app/recovery.h) instead of exiting.
//
// When a stream comes from another server or timeline than the previous one
// (a standby was promoted and the failover slot followed the old primary's,
// PostgreSQL 17+), the events in flight are first all acknowledged
// (Streamer::Drain, without a stream), then the stream starts from the
// slot's position there (Streamer::RebaseOnSlot): the position confirmed on
// the old primary may lie past the promotion point, in WAL that is not the
// new primary's, and confirming it there would skip the new primary's
// first transactions.
//
// Every time it has the slot, it reads the slot's confirmed position
// (another process may have moved it: a takeover) and hands it to the
// streamer before streaming (Streamer::SlotConfirmedAt).
//
// Ownership: borrows the streamer, metrics and health, which must outlive
// Run(). Thread safety: Run() on the streaming thread; the stop counter is
// set by a signal handler.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "common/defaults.h"
#include "common/status.h"
#include "common/types.h"
#include "core/streamer.h"
#include "observe/metrics.h"
#include "pg/delivered_mark.h"

namespace pgoutbox::app {

struct SupervisorOptions {
  std::string conninfo;  // the --db value; replication=database is added
  std::string slot;
  std::string publication;
  std::chrono::milliseconds standby_retry_interval = defaults::kStandbyRetryInterval;
  // The end position, if the run has one, and the flag that set it (for the
  // message when the slot is held by another process).
  std::optional<Lsn> end_lsn;
  std::string end_flag = "--end-lsn";
  // Told which server each stream comes from, if given.
  core::StateKeeper* state_keeper = nullptr;
  // Once the slot is taken over from another process (after waiting as a
  // hot standby), return OK with taken_over() instead of streaming, for the
  // start to be decided again from what that process left in the state.
  bool return_on_takeover = false;
};

class Supervisor {
 public:
  Supervisor(SupervisorOptions options, core::Streamer* streamer, observe::Metrics* metrics,
             observe::Health* health);

  // Streams until the end position is confirmed or a stop is requested
  // (OK), or a failure a reconnect cannot heal (the streamer's, or the
  // stream's: slot missing or invalidated, permissions). `start_position` is
  // the slot's confirmed position at start-up, for the log line.
  Status Run(Lsn start_position, const std::atomic<int>* stop_requests);

  // Whether Run() returned because the slot is gone (see above); and the
  // identity of the last server streamed from.
  bool slot_gone() const { return slot_gone_; }
  bool taken_over() const { return taken_over_; }
  const std::optional<pg::ServerIdentity>& last_server() const { return last_server_; }

 private:
  SupervisorOptions options_;
  core::Streamer* streamer_;
  observe::Metrics* metrics_;
  observe::Health* health_;
  bool slot_gone_ = false;
  bool taken_over_ = false;
  std::optional<pg::ServerIdentity> last_server_;
};

}  // namespace pgoutbox::app
