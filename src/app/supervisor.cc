#include "app/supervisor.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "common/duration.h"
#include "core/backoff.h"
#include "pg/catalog.h"
#include "pg/connection.h"
#include "replication/stream.h"

namespace pgoutbox::app {

namespace {

bool Stopping(const std::atomic<int>* stop_requests) {
  return stop_requests->load(std::memory_order_relaxed) > 0;
}

// Who holds `slot`, from pg_stat_replication, or "" if that cannot be told.
std::string SlotHolder(const std::string& conninfo, const std::string& slot) {
  auto conn =
      pg::PgConnection::Connect(conninfo, pg::PgConnection::Kind::kOrdinary, "pgoutbox standby");
  if (!conn.ok()) return "";
  auto holder = pg::DescribeSlotHolder(**conn, slot);
  return holder.ok() ? *holder : "";
}

// The slot as pg_replication_slots shows it now, on an ordinary connection
// of its own; nullopt (logged at debug level) if it cannot be read.
std::optional<pg::SlotInfo> ReadSlot(const std::string& conninfo, const std::string& slot) {
  auto conn = pg::PgConnection::Connect(conninfo, pg::PgConnection::Kind::kOrdinary, "pgoutbox");
  if (!conn.ok()) {
    spdlog::debug("cannot read slot {}: {}", slot, conn.status().message());
    return std::nullopt;
  }
  auto info = pg::InspectSlot(**conn, slot);
  if (!info.ok()) {
    spdlog::debug("cannot read slot {}: {}", slot, info.status().message());
    return std::nullopt;
  }
  return *info;
}

// The slot's confirmed position now, read once this process holds the slot
// (nobody else can move it then); nullopt if it cannot be read.
std::optional<Lsn> SlotPosition(const std::string& conninfo, const std::string& slot) {
  std::optional<pg::SlotInfo> info = ReadSlot(conninfo, slot);
  return info ? info->confirmed_flush : std::nullopt;
}

// Whether the slot is gone: missing, or invalidated (it can no longer be
// streamed from). False if it is there or that cannot be told.
bool SlotGone(const std::string& conninfo, const std::string& slot) {
  std::optional<pg::SlotInfo> info = ReadSlot(conninfo, slot);
  return info && (!info->exists || pg::SlotIsLost(*info));
}

}  // namespace

Supervisor::Supervisor(SupervisorOptions options, core::Streamer* streamer,
                       observe::Metrics* metrics, observe::Health* health)
    : options_(std::move(options)), streamer_(streamer), metrics_(metrics), health_(health) {}

Status Supervisor::Run(Lsn start_position, const std::atomic<int>* stop_requests) {
  core::Backoff backoff(
      std::chrono::seconds(1), std::chrono::seconds(30),
      static_cast<uint64_t>(getpid()) ^
          static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  const replication::StartOptions start{options_.slot, options_.publication, Lsn()};
  // While waiting as a hot standby: who holds the slot (empty otherwise).
  std::string held;
  bool streamed = false;  // "streaming from slot" was logged
  // The server changed and everything in flight was acknowledged: the next
  // stream starts from the slot's position there.
  bool rebase = false;
  auto last_retry_log = std::chrono::steady_clock::time_point{};
  for (;;) {
    if (Stopping(stop_requests)) return streamer_->FlushWithoutStream();
    std::string sqlstate;
    auto stream = replication::ReplicationStream::Start(options_.conninfo, start, &sqlstate);
    if (!stream.ok()) {
      std::chrono::milliseconds wait;
      if (sqlstate == "55006") {
        // Another client holds the slot; who it is is looked up once per wait.
        if (held.empty()) {
          std::string holder = SlotHolder(options_.conninfo, options_.slot);
          held = "replication slot " + options_.slot + " is in use by " +
                 (holder.empty() ? "another client (" + stream.status().message() + ")" : holder);
          if (options_.end_lsn) {
            return Status::FailedPrecondition(
                held + "; with " + options_.end_flag +
                " pgoutbox does not wait as a hot standby: stop the other client first");
          }
          spdlog::info("{}; waiting as a hot standby, trying to take over every {}", held,
                       FormatDuration(options_.standby_retry_interval));
        }
        health_->SetStreaming(false, "hot standby: " + held);
        wait = options_.standby_retry_interval;
      } else if (stream.status().code() == Status::Code::kUnavailable) {
        metrics_->Reconnect("postgres");
        wait = backoff.Next();
        auto now = std::chrono::steady_clock::now();
        if (now - last_retry_log >= std::chrono::seconds(5)) {
          last_retry_log = now;
          spdlog::warn("{}; retrying in {} ms (attempt {})", stream.status().message(),
                       wait.count(), backoff.attempts());
        }
        health_->SetStreaming(false, stream.status().message());
      } else {
        // The slot missing or invalidated (a failover to a server without
        // it, a slot dropped by hand, its WAL removed), permissions...
        if (SlotGone(options_.conninfo, options_.slot)) {
          slot_gone_ = true;
          return Status::NotFound(stream.status().message());
        }
        return stream.status();
      }
      RETURN_IF_ERROR(streamer_->ServeDeliveries(wait));
      continue;
    }
    if (!held.empty() && options_.return_on_takeover) {
      // Another process held the slot until now, and wrote the deployment's
      // state meanwhile: the start is decided again from it (a recovery it
      // left unfinished is done before streaming).
      spdlog::info(
          "took over replication slot {} ({}); reading what the previous holder "
          "remembered before streaming",
          options_.slot, (*stream)->server());
      stream->reset();
      RETURN_IF_ERROR(streamer_->Drain());
      taken_over_ = true;
      return Status::Ok();
    }
    const pg::ServerIdentity& identity = (*stream)->identity();
    if (last_server_ && (identity.system_identifier != last_server_->system_identifier ||
                         identity.timeline != last_server_->timeline)) {
      if (!rebase) {
        // Nothing may be confirmed there before everything sent from the old
        // server is acknowledged: close the stream while waiting.
        spdlog::info(
            "the server changed (system {} timeline {}, was timeline {}): waiting for "
            "the events in flight before streaming from it",
            identity.system_identifier, identity.timeline, last_server_->timeline);
        stream->reset();
        RETURN_IF_ERROR(streamer_->Drain());
        if (Stopping(stop_requests)) continue;
        rebase = true;
        continue;
      }
    }
    // Where the slot stands now: another process may have moved it since
    // start-up (a hot standby's takeover) or since the last connection.
    const std::optional<Lsn> slot_position = SlotPosition(options_.conninfo, options_.slot);
    if (rebase) {
      if (!slot_position) {
        stream->reset();
        RETURN_IF_ERROR(streamer_->ServeDeliveries(backoff.Next()));
        continue;
      }
      streamer_->RebaseOnSlot(*slot_position);
      spdlog::info("streaming from slot {} on the new server from its position {}", options_.slot,
                   slot_position->ToString());
      rebase = false;
    } else if (slot_position) {
      streamer_->SlotConfirmedAt(*slot_position);
    }
    last_server_ = identity;
    if (!streamed) {
      if (slot_position) start_position = std::max(start_position, *slot_position);
      spdlog::info(
          "streaming from slot {} at {}{} (server {})", options_.slot, start_position.ToString(),
          options_.end_lsn ? " until " + options_.end_lsn->ToString() : "", (*stream)->server());
      streamed = true;
    } else {
      spdlog::info("replication stream connected to slot {} on {}{}", options_.slot,
                   (*stream)->server(), slot_position ? " at " + slot_position->ToString() : "");
    }
    held.clear();
    backoff.Reset();
    health_->SetStreaming(true);
    metrics_->SetUp(true);
    if (options_.state_keeper != nullptr) options_.state_keeper->SetServer((*stream)->identity());
    Status st = streamer_->Run(stream->get());
    metrics_->SetUp(false);
    health_->SetStreaming(false, st.ok() ? "stopped" : st.message());
    if (st.code() != Status::Code::kUnavailable) return st;
    // The connection broke (server restart, network): reconnect.
    metrics_->Reconnect("postgres");
    spdlog::warn("{}; reconnecting", st.message());
    last_retry_log = std::chrono::steady_clock::now();
  }
}

}  // namespace pgoutbox::app
