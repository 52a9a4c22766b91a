#include "cli/run_command.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <optional>

#include "admin/cleanup.h"
#include "cli/stop_watcher.h"
#include "common/duration.h"
#include "common/text.h"
#include "core/ack_tracker.h"
#include "core/backoff.h"
#include "core/streamer.h"
#include "kafka/mock_cluster.h"
#include "kafka/publisher.h"
#include "observe/http_server.h"
#include "observe/metrics.h"
#include "observe/metrics_observer.h"
#include "observe/progress.h"
#include "observe/server_monitor.h"
#include "outbox/mapper.h"
#include "pg/catalog.h"
#include "pg/connection.h"
#include "replication/stream.h"

namespace pgoutbox::cli {

namespace {

// Drops optional mapped columns (headers, topic) that the table does not have,
// unless the user named them explicitly.
void DropMissingOptionalColumns(const RunConfig& config, const std::vector<pg::ColumnInfo>& columns,
                                outbox::ColumnMap* map) {
  auto has = [&](const std::string& name) {
    for (const auto& c : columns) {
      if (c.name == name) return true;
    }
    return false;
  };
  if (!map->headers.empty() && !config.headers_column_explicit && !has(map->headers)) {
    spdlog::info("table {} has no column {}: no headers beyond id, event_type, aggregate_type",
                 config.table, map->headers);
    map->headers.clear();
  }
  if (!map->topic.empty() && !config.topic_column_explicit && !has(map->topic)) {
    spdlog::info("table {} has no column {}: every topic comes from the template", config.table,
                 map->topic);
    map->topic.clear();
  }
}

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

// The slot's confirmed position now, for the log line after a takeover.
std::optional<Lsn> SlotPosition(const std::string& conninfo, const std::string& slot) {
  auto conn = pg::PgConnection::Connect(conninfo, pg::PgConnection::Kind::kOrdinary, "pgoutbox");
  if (!conn.ok()) return std::nullopt;
  auto info = pg::InspectSlot(**conn, slot);
  if (!info.ok()) return std::nullopt;
  return info->confirmed_flush;
}

// Connects and streams until done, reconnecting with backoff when the
// connection breaks and waiting as a hot standby while another process holds
// the slot (unless the run has an end position: then that is an error).
// Events in flight keep being acknowledged between connections. Logs
// "streaming from slot ..." once the slot is held, from `start_position`
// (the slot's confirmed position at start-up).
Status Supervise(const RunConfig& config, Lsn start_position, const std::optional<Lsn>& end_lsn,
                 core::Streamer* streamer, observe::Metrics* metrics, observe::Health* health,
                 const std::atomic<int>* stop_requests) {
  core::Backoff backoff(
      std::chrono::seconds(1), std::chrono::seconds(30),
      static_cast<uint64_t>(getpid()) ^
          static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  replication::StartOptions start{config.slot, config.publication, Lsn()};
  // While waiting as a hot standby: who holds the slot (empty otherwise).
  std::string held;
  bool streamed = false;  // "streaming from slot" was logged
  auto last_retry_log = std::chrono::steady_clock::time_point{};
  for (;;) {
    if (Stopping(stop_requests)) return streamer->FlushWithoutStream();
    std::string sqlstate;
    auto stream = replication::ReplicationStream::Start(config.db, start, &sqlstate);
    if (!stream.ok()) {
      std::chrono::milliseconds wait;
      if (sqlstate == "55006") {
        // Another client holds the slot; who it is is looked up once per wait.
        if (held.empty()) {
          std::string holder = SlotHolder(config.db, config.slot);
          held = "replication slot " + config.slot + " is in use by " +
                 (holder.empty() ? "another client (" + stream.status().message() + ")" : holder);
          if (end_lsn) {
            return Status::FailedPrecondition(
                held + "; with " +
                (config.exit_when_caught_up ? "--exit-when-caught-up" : "--end-lsn") +
                " pgoutbox does not wait as a hot standby: stop the other client first");
          }
          spdlog::info("{}; waiting as a hot standby, trying to take over every {}", held,
                       FormatDuration(config.standby_retry_interval));
        }
        health->SetStreaming(false, "hot standby: " + held);
        wait = config.standby_retry_interval;
      } else if (stream.status().code() == Status::Code::kUnavailable) {
        metrics->Reconnect("postgres");
        wait = backoff.Next();
        auto now = std::chrono::steady_clock::now();
        if (now - last_retry_log >= std::chrono::seconds(5)) {
          last_retry_log = now;
          spdlog::warn("{}; retrying in {} ms (attempt {})", stream.status().message(),
                       wait.count(), backoff.attempts());
        }
        health->SetStreaming(false, stream.status().message());
      } else {
        return stream.status();  // slot missing or invalidated, permissions...
      }
      RETURN_IF_ERROR(streamer->ServeDeliveries(wait));
      continue;
    }
    if (!streamed) {
      if (!held.empty()) {
        start_position = SlotPosition(config.db, config.slot).value_or(start_position);
      }
      spdlog::info("streaming from slot {} at {}{}", config.slot, start_position.ToString(),
                   end_lsn ? " until " + end_lsn->ToString() : "");
      streamed = true;
    } else if (!held.empty() || backoff.attempts() > 0) {
      spdlog::info("replication stream connected to slot {}", config.slot);
    }
    held.clear();
    backoff.Reset();
    health->SetStreaming(true);
    metrics->SetUp(true);
    Status st = streamer->Run(stream->get());
    metrics->SetUp(false);
    health->SetStreaming(false, st.ok() ? "stopped" : st.message());
    if (st.code() != Status::Code::kUnavailable) return st;
    // The connection broke (server restart, network): reconnect.
    metrics->Reconnect("postgres");
    spdlog::warn("{}; reconnecting", st.message());
    last_retry_log = std::chrono::steady_clock::now();
  }
}

}  // namespace

Status RunCommand(const RunConfig& config, const std::atomic<int>* stop_requests) {
  spdlog::info("pgoutbox {} starting: {}", PGOUTBOX_VERSION, config.Describe());

  // 1. Everything that can be checked without changing anything: a failure
  // here leaves the database as it was.
  ASSIGN_OR_RETURN(pg::TableName table, pg::ParseTableName(config.table));
  RETURN_IF_ERROR(pg::ValidatePublicationName(config.publication));
  RETURN_IF_ERROR(pg::ValidateSlotName(config.slot));
  ASSIGN_OR_RETURN(auto mock_brokers, kafka::ParseMockSpec(config.brokers));
  RETURN_IF_ERROR(kafka::ValidateConfig({config.brokers, config.kafka_config}));

  ASSIGN_OR_RETURN(auto conn, pg::PgConnection::Connect(
                                  config.db, pg::PgConnection::Kind::kOrdinary, "pgoutbox"));
  RETURN_IF_ERROR(pg::CheckWalLevel(*conn));
  ASSIGN_OR_RETURN(auto columns, pg::TableColumns(*conn, table));

  outbox::MapperOptions mapper_options;
  mapper_options.schema = table.schema;
  mapper_options.table = table.name;
  mapper_options.columns = config.columns;
  mapper_options.topic_template = config.topic_template;
  DropMissingOptionalColumns(config, columns, &mapper_options.columns);
  ASSIGN_OR_RETURN(auto mapper, outbox::EventMapper::Create(mapper_options));
  // A table that does not fit the mapping is the database's problem (exit
  // 1); a --topic placeholder that names nothing is the command line's (2).
  RETURN_IF_ERROR(mapper->CheckColumns(columns));

  bool cleanup_enabled = config.cleanup.cleanup.enabled();
  if (cleanup_enabled) {
    bool has_created_at = false;
    for (const auto& c : columns) {
      has_created_at |= c.name == config.cleanup.cleanup.created_at_column;
    }
    if (!has_created_at) {
      spdlog::warn(
          "table {} has no column {}: periodic cleanup of old rows is off (name the column with "
          "--column-created-at, or --retention 0 to silence this)",
          table.ToString(), config.cleanup.cleanup.created_at_column);
      cleanup_enabled = false;
    }
  }
  ASSIGN_OR_RETURN(pg::PublicationInfo pub,
                   pg::InspectPublication(*conn, config.publication, table));
  RETURN_IF_ERROR(pg::CheckPublication(pub, config.publication, table));
  if (!pub.exists && config.no_create) {
    return Status::NotFound("publication " + config.publication +
                            " does not exist and --no-create was given (CREATE PUBLICATION " +
                            config.publication + " FOR TABLE " + table.ToString() +
                            " WITH (publish = 'insert'))");
  }

  ASSIGN_OR_RETURN(pg::SlotInfo slot, pg::InspectSlot(*conn, config.slot));
  if (slot.exists) {
    ASSIGN_OR_RETURN(pg::Rows db, conn->Query("SELECT current_database()"));
    RETURN_IF_ERROR(pg::CheckSlot(slot, config.slot, db.Get(0, 0)));
  } else if (config.no_create) {
    return Status::NotFound("replication slot " + config.slot +
                            " does not exist and --no-create was given");
  }

  observe::Metrics metrics;
  observe::Health health(config.stall_timeout);
  std::unique_ptr<observe::HttpServer> http;
  if (!config.http_addr.empty()) {
    ASSIGN_OR_RETURN(http, observe::HttpServer::Start(config.http_addr, &metrics, &health));
  }

  std::unique_ptr<kafka::MockCluster> mock;
  std::string brokers = config.brokers;
  if (mock_brokers) {
    ASSIGN_OR_RETURN(mock, kafka::MockCluster::Start(*mock_brokers));
    brokers = mock->bootstraps();
    spdlog::info("started the mock Kafka cluster with {} at {}", Counted(*mock_brokers, "broker"),
                 brokers);
  }
  // Its delivery handler is the streamer, once built (below).
  kafka::PublisherOptions publisher_options{brokers, config.kafka_config};
  ASSIGN_OR_RETURN(auto publisher, kafka::Publisher::Create(publisher_options));
  spdlog::info("connecting to the Kafka brokers {} (waiting up to {})", brokers,
               FormatDuration(config.startup_timeout));
  if (Status st = publisher->CheckReachable(config.startup_timeout, stop_requests); !st.ok()) {
    if (st.code() == Status::Code::kCancelled) {
      return Status::Cancelled(st.message() + ", before anything was created");
    }
    return st;
  }
  if (Stopping(stop_requests)) {
    return Status::Cancelled("stopped during start-up, before anything was created");
  }

  // 2. Create what is missing. Creating a slot waits until the transactions
  // running on the server end; a stop signal cancels the wait.
  {
    pg::StatementCanceller canceller(*conn);
    StopWatcher watcher(stop_requests, &canceller);
    if (!pub.exists) {
      if (Status st = pg::CreatePublication(*conn, config.publication, table); !st.ok()) {
        if (Stopping(stop_requests)) {
          return Status::Cancelled("stopped while creating publication " + config.publication +
                                   "; nothing was created");
        }
        return st;
      }
      spdlog::info("created publication {} for table {} (publish = 'insert')", config.publication,
                   table.ToString());
    }
    if (!slot.exists) {
      spdlog::info("creating replication slot {} (waits for the transactions running now to end)",
                   config.slot);
      if (Status st = pg::CreateSlot(*conn, config.slot); !st.ok()) {
        if (Stopping(stop_requests)) {
          return Status::Cancelled(
              "stopped while creating replication slot " + config.slot +
              "; the slot was not created" +
              (pub.exists ? "" : " (publication " + config.publication + " was)"));
        }
        return st;
      }
    }
  }
  if (!slot.exists) {
    ASSIGN_OR_RETURN(slot, pg::InspectSlot(*conn, config.slot));
    spdlog::info("created replication slot {} (pgoutput) at {}", config.slot,
                 slot.confirmed_flush ? slot.confirmed_flush->ToString() : "?");
  }
  Lsn confirmed = slot.confirmed_flush.value_or(Lsn());

  core::StreamerOptions streamer_options;
  streamer_options.feedback_interval = config.feedback_interval;
  streamer_options.shutdown_timeout = config.shutdown_timeout;
  streamer_options.end_lsn = config.end_lsn;
  streamer_options.on_bad_row = config.on_bad_row;
  streamer_options.dead_letter_topic = config.dead_letter_topic;
  streamer_options.summary_interval = config.log_summary_interval;
  if (config.exit_when_caught_up) {
    ASSIGN_OR_RETURN(Lsn now, pg::CurrentWalLsn(*conn));
    if (!streamer_options.end_lsn || now < *streamer_options.end_lsn) {
      streamer_options.end_lsn = now;
    }
  }
  conn.reset();  // the ordinary connection is not needed while streaming

  // 3. Stream, reconnecting after failures a reconnect can heal.
  observe::StreamProgress progress;
  progress.confirmed.store(confirmed.value());
  progress.received.store(confirmed.value());
  observe::ServerMonitorOptions monitor_options;
  monitor_options.conninfo = config.db;
  monitor_options.heartbeat_interval = config.heartbeat_interval;
  observe::ServerMonitor monitor(monitor_options, &progress, &metrics);
  monitor.Start();
  std::unique_ptr<admin::PeriodicCleaner> cleaner;
  if (cleanup_enabled) {
    cleaner = std::make_unique<admin::PeriodicCleaner>(config.cleanup, &metrics);
    RETURN_IF_ERROR(cleaner->Start());
  }

  AckTracker tracker(confirmed);
  observe::MetricsObserver observer(&metrics, &health, &progress);
  core::Streamer streamer(streamer_options, publisher.get(), mapper.get(), &tracker, stop_requests,
                          &observer);
  Status result = Supervise(config, confirmed, streamer_options.end_lsn, &streamer, &metrics,
                            &health, stop_requests);
  metrics.SetUp(false);
  return result;
}

}  // namespace pgoutbox::cli

namespace pgoutbox::cli {

namespace {

class RunCommandImpl : public Command {
 public:
  explicit RunCommandImpl(CLI::App* app) {
    sub_ = app->add_subcommand("run", "stream the outbox table to Kafka");
    AddRunFlags(sub_, &flags_);
  }
  CLI::App* subcommand() const override { return sub_; }
  int Run(const std::atomic<int>* stop_requests) override {
    auto config = Resolve(flags_);
    if (!config.ok()) return ExitCodeFor(config.status());
    Status st = RunCommand(*config, stop_requests);
    if (st.code() == Status::Code::kCancelled) {
      // A stop signal during start-up: stopped as asked.
      spdlog::info("{}", st.message());
      return kExitOk;
    }
    return ExitCodeFor(st);
  }

 private:
  CLI::App* sub_ = nullptr;
  RunFlags flags_;
};

}  // namespace

std::unique_ptr<Command> MakeRunCommand(CLI::App* app) {
  return std::make_unique<RunCommandImpl>(app);
}

}  // namespace pgoutbox::cli
