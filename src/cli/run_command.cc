#include "cli/run_command.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "core/ack_tracker.h"
#include "core/backoff.h"
#include "core/progress.h"
#include "core/streamer.h"
#include "kafka/mock_cluster.h"
#include "kafka/publisher.h"
#include "ops/cleanup.h"
#include "ops/http_server.h"
#include "ops/metrics.h"
#include "ops/server_monitor.h"
#include "outbox/mapper.h"
#include "pg/catalog.h"
#include "pg/connection.h"
#include "replication/stream.h"

namespace pgoutbox::cli {

namespace {

// Hands delivery reports to the streamer, which is built after the publisher.
class DeliveryForwarder : public kafka::DeliveryHandler {
 public:
  void set_target(kafka::DeliveryHandler* target) { target_ = target; }
  void OnDelivered(uint64_t opaque, std::string_view topic) override {
    if (target_ != nullptr) target_->OnDelivered(opaque, topic);
  }
  void OnFailed(uint64_t opaque, std::string_view event_id, const Status& reason) override {
    if (target_ != nullptr) target_->OnFailed(opaque, event_id, reason);
  }
  void OnRefused(uint64_t opaque, const kafka::RefusedRecord& record,
                 const Status& reason) override {
    if (target_ != nullptr) target_->OnRefused(opaque, record, reason);
  }
  void OnBrokersDown() override {
    if (target_ != nullptr) target_->OnBrokersDown();
  }

 private:
  kafka::DeliveryHandler* target_ = nullptr;
};

// Drops optional mapped columns (headers, topic) that the table does not have,
// unless the user named them explicitly.
void DropMissingOptionalColumns(const RunConfig& config,
                                const std::vector<outbox::ColumnInfo>& columns,
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

// Connects and streams until done, reconnecting with backoff when the
// connection breaks and waiting as a hot standby while another process holds
// the slot. Events in flight keep being acknowledged between connections.
Status Supervise(const RunConfig& config, core::Streamer* streamer, ops::Metrics* metrics,
                 ops::Health* health, const std::atomic<int>* stop_requests) {
  core::Backoff backoff(
      std::chrono::seconds(1), std::chrono::seconds(30),
      static_cast<uint64_t>(getpid()) ^
          static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  replication::StartOptions start{config.slot, config.publication, Lsn()};
  bool standby_logged = false;
  auto last_retry_log = std::chrono::steady_clock::time_point{};
  for (;;) {
    if (Stopping(stop_requests)) return streamer->FlushWithoutStream();
    std::string sqlstate;
    auto stream = replication::ReplicationStream::Start(config.db, start, &sqlstate);
    if (!stream.ok()) {
      std::chrono::milliseconds wait;
      if (sqlstate == "55006") {
        // Another pgoutbox holds the slot: wait as a hot standby.
        if (!standby_logged) {
          spdlog::info("{}; waiting as a hot standby, retrying every {} ms",
                       stream.status().message(), config.standby_retry_interval.count());
          standby_logged = true;
        }
        health->SetStreaming(false, "hot standby: " + stream.status().message());
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
    if (standby_logged || backoff.attempts() > 0) {
      spdlog::info("replication stream connected to slot {}", config.slot);
    }
    standby_logged = false;
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

  // 1. Everything that can be checked without changing anything.
  ASSIGN_OR_RETURN(pg::TableName table, pg::ParseTableName(config.table));
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
  if (Status st = mapper->CheckColumns(columns); !st.ok()) {
    // The table does not fit the mapping: a problem of the database, not a
    // usage error (exit 1, like a missing table).
    return st.code() == Status::Code::kInvalidArgument ? Status::FailedPrecondition(st.message())
                                                       : st;
  }

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

  std::unique_ptr<kafka::MockCluster> mock;
  std::string brokers = config.brokers;
  if (mock_brokers) {
    ASSIGN_OR_RETURN(mock, kafka::MockCluster::Start(*mock_brokers));
    brokers = mock->bootstraps();
    spdlog::info("started the mock Kafka cluster with {} brokers at {}", *mock_brokers, brokers);
  }
  DeliveryForwarder forwarder;
  kafka::PublisherOptions publisher_options{brokers, config.kafka_config};
  ASSIGN_OR_RETURN(auto publisher, kafka::Publisher::Create(publisher_options, &forwarder));
  RETURN_IF_ERROR(publisher->CheckReachable(config.startup_timeout));

  // 2. Create what is missing.
  if (!pub.exists) {
    RETURN_IF_ERROR(pg::CreatePublication(*conn, config.publication, table));
    spdlog::info("created publication {} for table {} (publish = 'insert')", config.publication,
                 table.ToString());
  }
  if (!slot.exists) {
    RETURN_IF_ERROR(pg::CreateSlot(*conn, config.slot));
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
  if (config.exit_when_caught_up) {
    ASSIGN_OR_RETURN(Lsn now, pg::CurrentWalLsn(*conn));
    if (!streamer_options.end_lsn || now < *streamer_options.end_lsn) {
      streamer_options.end_lsn = now;
    }
  }
  conn.reset();  // the ordinary connection is not needed while streaming
  spdlog::info("streaming from slot {} at {}{}", config.slot, confirmed.ToString(),
               streamer_options.end_lsn ? " until " + streamer_options.end_lsn->ToString() : "");

  // 3. Stream, reconnecting after failures a reconnect can heal.
  ops::Metrics metrics;
  ops::Health health(config.stall_timeout);
  core::StreamProgress progress;
  progress.confirmed.store(confirmed.value());
  progress.received.store(confirmed.value());
  std::unique_ptr<ops::HttpServer> http;
  if (!config.http_addr.empty()) {
    ASSIGN_OR_RETURN(http, ops::HttpServer::Start(config.http_addr, &metrics, &health));
  }
  ops::ServerMonitorOptions monitor_options;
  monitor_options.conninfo = config.db;
  monitor_options.heartbeat_interval = config.heartbeat_interval;
  ops::ServerMonitor monitor(monitor_options, &progress, &metrics);
  monitor.Start();
  std::unique_ptr<ops::PeriodicCleaner> cleaner;
  if (cleanup_enabled) {
    cleaner = std::make_unique<ops::PeriodicCleaner>(config.cleanup, &metrics);
    RETURN_IF_ERROR(cleaner->Start());
  }

  AckTracker tracker(confirmed);
  core::Streamer streamer(streamer_options, publisher.get(), mapper.get(), &tracker, stop_requests,
                          {&metrics, &health, &progress});
  forwarder.set_target(&streamer);
  Status result = Supervise(config, &streamer, &metrics, &health, stop_requests);
  forwarder.set_target(nullptr);
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
    return ExitCodeFor(RunCommand(*config, stop_requests));
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
