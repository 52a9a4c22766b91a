// ServerMonitor: a background thread with its own ordinary connection that
// watches the server while pgoutbox streams:
//  - every second, the replication lag: pg_current_wal_lsn() minus the
//    confirmed position (pgoutbox_replication_lag_bytes);
//  - every 10 s while more than `catchup_log_threshold` bytes behind, one info
//    line with the bytes remaining, the rate and the estimated time to catch
//    up;
//  - every `heartbeat_interval` (if set), a non-transactional logical message
//    `pgoutbox.heartbeat`, so the slot and the lag move even on a database
//    without writes.
// Connection failures are logged at most every few seconds and retried.
//
// Thread safety: Start/Stop from the owner thread; the monitor reads the
// StreamProgress atomics and updates Metrics (both thread-safe).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "common/defaults.h"
#include "core/state_keeper.h"
#include "observe/metrics.h"
#include "observe/progress.h"

namespace pgoutbox::observe {

struct ServerMonitorOptions {
  std::string conninfo;
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds heartbeat_interval{0};  // 0: no heartbeat
  std::chrono::milliseconds progress_log_interval{10000};
  uint64_t catchup_log_threshold = 16ull << 20;  // bytes
  // Takes a delivered mark this often for the state keeper (if given; see
  // core/state_keeper.h). Marks are taken on a primary only.
  core::StateKeeper* state_keeper = nullptr;
  std::chrono::milliseconds mark_interval = defaults::kMarkInterval;
};

class ServerMonitor {
 public:
  ServerMonitor(ServerMonitorOptions options, const StreamProgress* progress, Metrics* metrics);
  ~ServerMonitor();  // stops and joins
  ServerMonitor(const ServerMonitor&) = delete;
  ServerMonitor& operator=(const ServerMonitor&) = delete;

  void Start();
  void Stop();

  uint64_t heartbeats_sent() const { return heartbeats_.load(); }

 private:
  void Loop();

  ServerMonitorOptions options_;
  const StreamProgress* progress_;
  Metrics* metrics_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
  std::atomic<uint64_t> heartbeats_{0};
};

}  // namespace pgoutbox::observe
