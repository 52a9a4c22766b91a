#include "app/daemon.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "admin/cleanup.h"
#include "app/kafka_connection.h"
#include "app/mapping.h"
#include "app/recovery.h"
#include "app/start_plan.h"
#include "app/startup.h"
#include "app/supervisor.h"
#include "common/duration.h"
#include "core/ack_tracker.h"
#include "core/streamer.h"
#include "kafka/mock_cluster.h"
#include "kafka/publisher.h"
#include "observe/http_server.h"
#include "observe/metrics.h"
#include "observe/metrics_observer.h"
#include "observe/progress.h"
#include "observe/server_monitor.h"
#include "outbox/message_mapper.h"
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

// The recovery from the table (app/recovery.h) as `config` asks for it.
Result<RecoveryResult> Recover(const RunConfig& config, const OutboxNames& names, DatabaseState& db,
                               const StartInputs& inputs, kafka::Publisher* publisher,
                               const std::atomic<int>* stop_requests) {
  // The outbox tables as they are now (one may have been added since start).
  ASSIGN_OR_RETURN(std::vector<OutboxTable> tables, ReadOutboxTables(*db.conn, names.tables));
  // A mapper of its own: the streamer's maps the stream's relations.
  ASSIGN_OR_RETURN(auto mapper, MakeMapper(config.mapping, names.tables, tables));
  ASSIGN_OR_RETURN(int version, pg::ServerVersionNum(*db.conn));
  RecoveryOptions recovery;
  recovery.conninfo = config.db;
  for (OutboxTable& table : tables) {
    RecoveryTable t;
    if (pg::HasColumn(table.columns, config.cleanup.cleanup.created_at_column)) {
      t.created_at_column = config.cleanup.cleanup.created_at_column;
    }
    t.name = std::move(table.name);
    t.columns = std::move(table.columns);
    recovery.tables.push_back(std::move(t));
  }
  recovery.tables_label = names.tables.ToString();
  recovery.slot = names.slot;
  recovery.database = db.database;
  recovery.slot_info = db.slot;
  recovery.failover_slot = version >= pg::kFailoverSlotsVersion;
  recovery.state = inputs.state;
  recovery.server = inputs.server;
  recovery.publish.on_bad_row = config.on_bad_row;
  recovery.publish.dead_letter_topic = config.dead_letter_topic;
  recovery.publish.shutdown_timeout = config.shutdown_timeout;
  recovery.publish.label = "recovery";
  recovery.state_topic = config.state_topic;
  return RecoverFromTable(recovery, mapper.get(), publisher, stop_requests);
}

// The line a refused start exits with: what was found, and how to proceed.
Status Refusal(const StartPlan& plan, const RunConfig& config) {
  if (plan.action == StartAction::kRefuseOtherServer) {
    return Status::FailedPrecondition(
        "refusing to start: " + plan.reason +
        "; nothing was created. If this cluster replaces the old one on purpose (a restore, "
        "pg_upgrade), start with another --state-topic (the old record stays in " +
        config.state_topic + ")");
  }
  return Status::FailedPrecondition(
      "refusing to start: " + plan.reason + " (--retention " +
      FormatDuration(config.cleanup.cleanup.retention) +
      "); nothing was created. Restore the deleted rows and start again, or start with "
      "--accept-gap to recover what the table still holds and go on, losing the rest");
}

}  // namespace

Status RunDaemon(const RunConfig& config, const std::atomic<int>* stop_requests) {
  spdlog::info("pgoutbox {} starting: {}", PGOUTBOX_VERSION, config.Describe());

  // 1. Everything that can be checked without changing anything: a failure
  // here leaves the database as it was.
  ASSIGN_OR_RETURN(OutboxNames names, CheckNames(config.tables, config.publication, config.slot));
  RETURN_IF_ERROR(kafka::ParseMockSpec(config.brokers).status());
  RETURN_IF_ERROR(kafka::ValidateConfig({config.brokers, config.kafka_config}));
  ASSIGN_OR_RETURN(DatabaseState db, InspectDatabase(config, names));
  outbox::MessageMapperOptions message_options;
  message_options.prefix = config.message_prefix;
  message_options.topic_template = config.mapping.topic_template;
  ASSIGN_OR_RETURN(std::unique_ptr<outbox::MessageMapper> message_mapper,
                   outbox::MessageMapper::Create(message_options));

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
  const std::string brokers = kafka->mock ? kafka->mock->bootstraps() : config.brokers;
  if (Stopping(stop_requests)) {
    return Status::Cancelled("stopped during start-up, before anything was created");
  }

  std::unique_ptr<admin::PeriodicCleaner> cleaner;
  // Set once a stream's slot vanished: what this process knew then.
  std::optional<core::DeliveryState> remembered;
  bool streamed_before = false;
  bool replanning = false;  // deciding again while running
  for (;;) {
    // 2. How to start: from the slot, or recovering from the table, or not
    // at all (app/start_plan.h).
    // The database as it is now (again, when deciding again), then the rest.
    auto check = [&]() -> Result<StartInputs> {
      if (!db.conn) {
        ASSIGN_OR_RETURN(db, InspectDatabase(config, names));
      }
      return CheckStart(config, names, db, brokers, remembered, streamed_before);
    };
    Result<StartInputs> checked = check();
    // Deciding again while running (a takeover, a slot that vanished): the
    // server or the brokers being out of reach for a while is no reason to
    // exit, as it is not for the stream.
    while (replanning && !checked.ok() && checked.status().code() == Status::Code::kUnavailable &&
           !Stopping(stop_requests)) {
      spdlog::warn("{}; trying again in {}", checked.status().message(),
                   FormatDuration(defaults::kReplanRetryInterval));
      for (auto until = std::chrono::steady_clock::now() + defaults::kReplanRetryInterval;
           std::chrono::steady_clock::now() < until && !Stopping(stop_requests);) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      db.conn.reset();
      checked = check();
    }
    if (Stopping(stop_requests)) return Status::Ok();
    ASSIGN_OR_RETURN(StartInputs inputs, std::move(checked));
    const StartPlan plan = PlanStart(inputs);
    if (plan.action == StartAction::kRefuseOtherServer || plan.action == StartAction::kRefuseGap) {
      return Refusal(plan, config);
    }
    const bool recover =
        plan.action == StartAction::kRecover || plan.action == StartAction::kRecoverAcceptingGap;
    if (recover) {
      spdlog::warn("{}: recovering from the table", plan.reason);
      if (!config.message_prefix.empty()) {
        spdlog::warn(
            "events written as logical decoding messages (prefix {}) that were not delivered "
            "before the slot was lost cannot be recovered: they exist only in the WAL, and only "
            "table rows can be read again",
            config.message_prefix);
      }
      if (config.no_create) {
        return Status::FailedPrecondition(plan.reason +
                                          ": the recovery from the table creates the slot again, "
                                          "and --no-create was given");
      }
    } else if (plan.action == StartAction::kStreamAfterPromotion) {
      spdlog::info("{}", plan.reason);
    } else {
      spdlog::debug("start: {} ({})", StartActionName(plan.action), plan.reason);
    }

    // 3. Create what is missing; recover from the table if need be.
    RETURN_IF_ERROR(CreateMissing(names, &db, stop_requests, /*create_slot=*/!recover));
    Lsn confirmed = db.slot.confirmed_flush.value_or(Lsn());
    if (recover) {
      ASSIGN_OR_RETURN(RecoveryResult recovered,
                       Recover(config, names, db, inputs, publisher, stop_requests));
      confirmed = recovered.start;
      if (Stopping(stop_requests)) return Status::Ok();
    }
    core::StreamerOptions streamer_options = StreamerOptionsOf(config);
    if (config.exit_when_caught_up) {
      ASSIGN_OR_RETURN(Lsn now, pg::CurrentWalLsn(*db.conn));
      if (!streamer_options.end_lsn || now < *streamer_options.end_lsn) {
        streamer_options.end_lsn = now;
      }
    }
    db.conn.reset();  // the ordinary connection is not needed while streaming
    if (db.cleanup_enabled && !cleaner) {
      admin::PeriodicCleanerOptions cleanup = config.cleanup;
      cleanup.tables = db.cleanup_tables;
      cleanup.selection = names.tables;  // a tenant that appears later is cleaned too
      cleaner = std::make_unique<admin::PeriodicCleaner>(std::move(cleanup), &metrics);
      RETURN_IF_ERROR(cleaner->Start());
    }

    // 4. Stream, reconnecting after failures a reconnect can heal.
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

    AckTracker tracker(confirmed);
    observe::MetricsObserver observer(&metrics, &health, &progress);
    core::Streamer streamer(streamer_options, publisher, db.mapper.get(), &tracker, stop_requests,
                            &observer, &state_keeper);
    streamer.set_message_mapper(message_mapper.get());
    SupervisorOptions supervisor_options;
    supervisor_options.conninfo = config.db;
    supervisor_options.slot = names.slot;
    supervisor_options.publication = names.publication;
    supervisor_options.standby_retry_interval = config.standby_retry_interval;
    supervisor_options.end_lsn = streamer_options.end_lsn;
    supervisor_options.end_flag = config.EndFlag();
    supervisor_options.state_keeper = &state_keeper;
    supervisor_options.return_on_takeover = true;
    Supervisor supervisor(supervisor_options, &streamer, &metrics, &health);
    Status result = supervisor.Run(confirmed, stop_requests);
    metrics.SetUp(false);
    if (supervisor.taken_over() && result.ok() && !Stopping(stop_requests)) {
      // Decided again from the state the previous holder wrote.
      remembered.reset();
      replanning = true;
      monitor.Stop();
      continue;
    }
    if (!supervisor.slot_gone() || Stopping(stop_requests)) return result;

    // The slot vanished under the stream (a failover to a server without
    // it, a slot dropped by hand): once everything in flight is
    // acknowledged, start again from what this process knows was delivered.
    spdlog::warn("{}: waiting for the events in flight, then recovering from the table",
                 result.message());
    RETURN_IF_ERROR(streamer.Drain());
    if (Stopping(stop_requests)) return Status::Ok();
    remembered = state_keeper.Current(tracker.confirmable());
    streamed_before = true;
    replanning = true;
    monitor.Stop();
  }
}

}  // namespace pgoutbox::app
