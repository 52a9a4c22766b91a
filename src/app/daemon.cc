#include "app/daemon.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "admin/cleanup.h"
#include "app/kafka_connection.h"
#include "app/startup.h"
#include "app/supervisor.h"
#include "core/ack_tracker.h"
#include "core/streamer.h"
#include "kafka/mock_cluster.h"
#include "kafka/publisher.h"
#include "observe/http_server.h"
#include "observe/metrics.h"
#include "observe/metrics_observer.h"
#include "observe/progress.h"
#include "observe/server_monitor.h"
#include "pg/catalog.h"

namespace pgoutbox::app {

namespace {

bool Stopping(const std::atomic<int>* stop_requests) {
  return stop_requests->load(std::memory_order_relaxed) > 0;
}

core::StreamerOptions StreamerOptionsOf(const RunConfig& config) {
  core::StreamerOptions options;
  options.feedback_interval = config.feedback_interval;
  options.shutdown_timeout = config.shutdown_timeout;
  options.end_lsn = config.end_lsn;
  options.on_bad_row = config.on_bad_row;
  options.dead_letter_topic = config.dead_letter_topic;
  options.summary_interval = config.log_summary_interval;
  options.state_topic = config.state_topic;
  return options;
}

}  // namespace

Status RunDaemon(const RunConfig& config, const std::atomic<int>* stop_requests) {
  spdlog::info("pgoutbox {} starting: {}", PGOUTBOX_VERSION, config.Describe());

  // 1. Everything that can be checked without changing anything: a failure
  // here leaves the database as it was.
  ASSIGN_OR_RETURN(OutboxNames names, CheckNames(config.table, config.publication, config.slot));
  RETURN_IF_ERROR(kafka::ParseMockSpec(config.brokers).status());
  RETURN_IF_ERROR(kafka::ValidateConfig({config.brokers, config.kafka_config}));
  ASSIGN_OR_RETURN(DatabaseState db, InspectDatabase(config, names));

  observe::Metrics metrics;
  observe::Health health(config.stall_timeout);
  std::unique_ptr<observe::HttpServer> http;
  if (!config.http_addr.empty()) {
    ASSIGN_OR_RETURN(http, observe::HttpServer::Start(config.http_addr, &metrics, &health));
  }

  // The publisher's delivery handler is the streamer, once built (below).
  auto kafka = KafkaConnection::Connect(config.brokers, config.kafka_config, config.startup_timeout,
                                        stop_requests);
  if (!kafka.ok()) {
    if (kafka.status().code() == Status::Code::kCancelled) {
      return Status::Cancelled(kafka.status().message() + ", before anything was created");
    }
    return kafka.status();
  }
  kafka::Publisher* publisher = kafka->publisher.get();
  if (Stopping(stop_requests)) {
    return Status::Cancelled("stopped during start-up, before anything was created");
  }

  // 2. Create what is missing.
  RETURN_IF_ERROR(CreateMissing(names, &db, stop_requests));
  const Lsn confirmed = db.slot.confirmed_flush.value_or(Lsn());
  core::StreamerOptions streamer_options = StreamerOptionsOf(config);
  if (config.exit_when_caught_up) {
    ASSIGN_OR_RETURN(Lsn now, pg::CurrentWalLsn(*db.conn));
    if (!streamer_options.end_lsn || now < *streamer_options.end_lsn) {
      streamer_options.end_lsn = now;
    }
  }
  db.conn.reset();  // the ordinary connection is not needed while streaming

  // 3. Stream, reconnecting after failures a reconnect can heal.
  observe::StreamProgress progress;
  progress.confirmed.store(confirmed.value());
  progress.received.store(confirmed.value());
  // What pgoutbox remembers outside the database (core/delivery_state.h).
  core::StateKeeper state_keeper({db.database, names.slot});
  observe::ServerMonitorOptions monitor_options;
  monitor_options.state_keeper = &state_keeper;
  monitor_options.conninfo = config.db;
  monitor_options.heartbeat_interval = config.heartbeat_interval;
  observe::ServerMonitor monitor(monitor_options, &progress, &metrics);
  monitor.Start();
  std::unique_ptr<admin::PeriodicCleaner> cleaner;
  if (db.cleanup_enabled) {
    cleaner = std::make_unique<admin::PeriodicCleaner>(config.cleanup, &metrics);
    RETURN_IF_ERROR(cleaner->Start());
  }

  AckTracker tracker(confirmed);
  observe::MetricsObserver observer(&metrics, &health, &progress);
  core::Streamer streamer(streamer_options, publisher, db.mapper.get(), &tracker, stop_requests,
                          &observer, &state_keeper);
  SupervisorOptions supervisor_options;
  supervisor_options.conninfo = config.db;
  supervisor_options.slot = names.slot;
  supervisor_options.publication = names.publication;
  supervisor_options.standby_retry_interval = config.standby_retry_interval;
  supervisor_options.end_lsn = streamer_options.end_lsn;
  supervisor_options.end_flag = config.EndFlag();
  supervisor_options.state_keeper = &state_keeper;
  Supervisor supervisor(supervisor_options, &streamer, &metrics, &health);
  Status result = supervisor.Run(confirmed, stop_requests);
  metrics.SetUp(false);
  return result;
}

}  // namespace pgoutbox::app
