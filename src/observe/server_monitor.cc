#include "observe/server_monitor.h"

#include <spdlog/spdlog.h>

#include "common/byte_size.h"
#include "common/defaults.h"
#include "common/types.h"
#include "pg/connection.h"
#include "pg/delivered_mark.h"

namespace pgoutbox::observe {

ServerMonitor::ServerMonitor(ServerMonitorOptions options, const StreamProgress* progress,
                             Metrics* metrics)
    : options_(std::move(options)), progress_(progress), metrics_(metrics) {}

ServerMonitor::~ServerMonitor() { Stop(); }

void ServerMonitor::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void ServerMonitor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ServerMonitor::Loop() {
  using Clock = std::chrono::steady_clock;
  std::unique_ptr<pg::PgConnection> conn;
  Clock::time_point last_error_log{};
  Clock::time_point last_heartbeat = Clock::now();
  Clock::time_point last_mark{};
  Clock::time_point last_progress_log = Clock::now();
  uint64_t received_at_last_log = progress_->received.load();

  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    auto now = Clock::now();
    auto log_error = [&](const Status& st) {
      if (now - last_error_log >= std::chrono::seconds(10)) {
        last_error_log = now;
        spdlog::warn("server monitor: {} (retrying)", st.message());
      }
    };
    if (conn == nullptr) {
      auto c = pg::PgConnection::Connect(options_.conninfo, pg::PgConnection::Kind::kOrdinary,
                                         "pgoutbox-monitor");
      if (c.ok()) {
        conn = std::move(*c);
      } else {
        log_error(c.status());
      }
    }
    if (conn != nullptr) {
      if (options_.heartbeat_interval.count() > 0 &&
          now - last_heartbeat >= options_.heartbeat_interval) {
        auto r = conn->Query("SELECT pg_logical_emit_message(false, '" +
                             std::string(defaults::kHeartbeatPrefix) + "', now()::text)");
        if (r.ok()) {
          last_heartbeat = now;
          heartbeats_.fetch_add(1);
        } else {
          log_error(r.status());
        }
      }
      if (options_.state_keeper != nullptr && now - last_mark >= options_.mark_interval) {
        pg::ServerIdentity taken_on;
        auto mark = pg::TakeDeliveredMark(*conn, &taken_on);
        if (mark.ok()) {
          options_.state_keeper->AddMark(*mark, taken_on);
          last_mark = now;
        } else {
          spdlog::debug("server monitor: no delivered mark: {}", mark.status().message());
        }
      }
      auto r = conn->Query("SELECT pg_current_wal_lsn()");
      if (r.ok() && !r->empty()) {
        auto current = Lsn::Parse(r->Get(0, 0));
        uint64_t confirmed = progress_->confirmed.load();
        uint64_t received = progress_->received.load();
        if (current && confirmed > 0) {
          uint64_t cur = current->value();
          metrics_->SetReplicationLagBytes(cur > confirmed ? static_cast<int64_t>(cur - confirmed)
                                                           : 0);
          if (now - last_progress_log >= options_.progress_log_interval) {
            double secs = std::chrono::duration<double>(now - last_progress_log).count();
            uint64_t behind = cur > received ? cur - received : 0;
            if (behind > options_.catchup_log_threshold) {
              double rate = received > received_at_last_log
                                ? static_cast<double>(received - received_at_last_log) / secs
                                : 0;
              std::string eta =
                  rate > 0 ? std::to_string(static_cast<int64_t>(behind / rate)) + " s" : "unknown";
              spdlog::info("catching up: {} of WAL behind the server, reading {}/s, about {} to go",
                           FormatByteSize(behind), FormatByteSize(static_cast<uint64_t>(rate)),
                           eta);
            }
            last_progress_log = now;
            received_at_last_log = received;
          }
        }
      } else if (!r.ok()) {
        log_error(r.status());
        if (PQstatus(conn->get()) == CONNECTION_BAD) conn.reset();
      }
    }
    lock.lock();
    cv_.wait_for(lock, options_.poll_interval, [this] { return stop_; });
  }
}

}  // namespace pgoutbox::observe
