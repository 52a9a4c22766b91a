#include "cli/run_flags.h"

#include "cli/command.h"
#include "common/duration.h"
#include "kafka/publisher.h"
#include "outbox/topic_template.h"
#include "pg/connection.h"

namespace pgoutbox::cli {

void AddRunFlags(CLI::App* cmd, RunFlags* f) {
  AddDbFlag(cmd, &f->db,
            "libpq conninfo or URI of the database; replication=database is added for the "
            "stream");
  cmd->add_option("--brokers", f->brokers,
                  "Kafka bootstrap servers (host:port,...); mock:N starts librdkafka's mock "
                  "cluster with N brokers in the process and logs its address (demos, tests)")
      ->envname("PGOUTBOX_BROKERS")
      ->required();
  AddTableFlag(cmd, &f->table);
  AddPublicationFlag(cmd, &f->publication);
  AddSlotFlag(cmd, &f->slot);
  cmd->add_flag("--no-create", f->no_create,
                "refuse to start when the publication or slot is missing instead of creating it")
      ->envname("PGOUTBOX_NO_CREATE");
  cmd->add_option("--preset", f->preset,
                  "column mapping: default, or debezium for Debezium's EventRouter columns id, "
                  "aggregateid, aggregatetype, type, payload (a Debezium outbox table works "
                  "unchanged); the column flags below override it one by one")
      ->envname("PGOUTBOX_PRESET")
      ->check(CLI::IsMember({"", "default", "debezium"}))
      ->capture_default_str();
  // The --column-* defaults depend on --preset: Resolve() applies them, the
  // default strings are the default preset's, for --help.
  const outbox::ColumnMap defaults;
  f->opt_column_id = cmd->add_option("--column-id", f->column_id,
                                     "event id column, sent as the id header (consumers "
                                     "deduplicate on it)")
                         ->envname("PGOUTBOX_COLUMN_ID")
                         ->default_str(defaults.id);
  f->opt_column_key =
      cmd->add_option("--column-key", f->column_key, "aggregate id column, the Kafka key")
          ->envname("PGOUTBOX_COLUMN_KEY")
          ->default_str(defaults.key);
  f->opt_column_type = cmd->add_option("--column-type", f->column_type,
                                       "event type column, sent as the event_type header")
                           ->envname("PGOUTBOX_COLUMN_TYPE")
                           ->default_str(defaults.event_type);
  f->opt_column_aggregate_type =
      cmd->add_option("--column-aggregate-type", f->column_aggregate_type,
                      "aggregate type column, sent as the aggregate_type header and used by the "
                      "default --topic")
          ->envname("PGOUTBOX_COLUMN_AGGREGATE_TYPE")
          ->default_str(defaults.aggregate_type);
  f->opt_column_payload =
      cmd->add_option("--column-payload", f->column_payload,
                      "payload column, the Kafka value (jsonb, json, text or bytea)")
          ->envname("PGOUTBOX_COLUMN_PAYLOAD")
          ->default_str(defaults.payload);
  f->opt_column_headers =
      cmd->add_option("--column-headers", f->column_headers,
                      "optional JSON object column whose fields become Kafka headers (e.g. "
                      "traceparent); skipped if the table lacks it, '' disables")
          ->envname("PGOUTBOX_COLUMN_HEADERS")
          ->default_str(defaults.headers);
  f->opt_column_topic =
      cmd->add_option("--column-topic", f->column_topic,
                      "optional column that overrides the topic of its row when not null; "
                      "skipped if the table lacks it, '' disables")
          ->envname("PGOUTBOX_COLUMN_TOPIC")
          ->default_str(defaults.topic);
  cmd->add_option("--topic", f->topic_template,
                  "topic template; placeholders are {id}, {key}, {event_type}, {aggregate_type} "
                  "or any column; a non-null topic column wins")
      ->envname("PGOUTBOX_TOPIC")
      ->capture_default_str();
  cmd->add_option("-X", f->kafka_config,
                  "any librdkafka property as key=value, repeatable, e.g. -X "
                  "security.protocol=SASL_SSL -X sasl.mechanism=SCRAM-SHA-512; PGOUTBOX_X "
                  "separates entries with ;")
      ->envname("PGOUTBOX_X")
      ->delimiter(';')
      ->allow_extra_args(false);
  cmd->add_option("--end-lsn", f->end_lsn,
                  "stop (exit 0) once everything committed before this WAL position (e.g. "
                  "0/16B3748) is delivered and confirmed, like pg_recvlogical --endpos")
      ->envname("PGOUTBOX_END_LSN");
  cmd->add_flag("--exit-when-caught-up", f->exit_when_caught_up,
                "stop (exit 0) once everything committed before start-up is delivered and "
                "confirmed")
      ->envname("PGOUTBOX_EXIT_WHEN_CAUGHT_UP");
  cmd->add_option("--feedback-interval", f->feedback_interval,
                  "how often the confirmed position is reported to the server")
      ->envname("PGOUTBOX_FEEDBACK_INTERVAL")
      ->capture_default_str();
  cmd->add_option("--startup-timeout", f->startup_timeout,
                  "how long start-up waits for the Kafka brokers to answer")
      ->envname("PGOUTBOX_STARTUP_TIMEOUT")
      ->capture_default_str();
  cmd->add_option("--shutdown-timeout", f->shutdown_timeout,
                  "how long a shutdown waits for in-flight events to be acknowledged")
      ->envname("PGOUTBOX_SHUTDOWN_TIMEOUT")
      ->capture_default_str();
  f->opt_http_addr =
      cmd->add_option("--http-addr", f->http_addr,
                      "host:port of /metrics, /healthz and /readyz; '' disables, port 0 picks a "
                      "free one")
          ->envname("PGOUTBOX_HTTP_ADDR")
          ->capture_default_str();
  cmd->add_option("--stall-timeout", f->stall_timeout,
                  "/readyz turns 503 when events are in flight and the confirmed position has "
                  "not moved for this long")
      ->envname("PGOUTBOX_STALL_TIMEOUT")
      ->capture_default_str();
  cmd->add_option("--heartbeat-interval", f->heartbeat_interval,
                  "emit a pgoutbox.heartbeat logical message this often, so the slot moves on a "
                  "database without writes; 0 disables")
      ->envname("PGOUTBOX_HEARTBEAT_INTERVAL")
      ->capture_default_str();
  cmd->add_option("--log-summary-interval", f->log_summary_interval,
                  "how often an info line sums up the events and transactions published, the "
                  "confirmed position and the WAL behind the server (only when something "
                  "changed); 0 disables")
      ->envname("PGOUTBOX_LOG_SUMMARY_INTERVAL")
      ->capture_default_str();
  cmd->add_option("--on-bad-row", f->on_bad_row,
                  "a row that cannot become a record, or that Kafka refuses (e.g. too large): "
                  "halt (stop, nothing past it is confirmed), dlq (send it to --dlq-topic) or "
                  "skip (log a warning)")
      ->envname("PGOUTBOX_ON_BAD_ROW")
      ->capture_default_str();
  cmd->add_option("--dlq-topic", f->dlq_topic,
                  "dead-letter topic of --on-bad-row dlq; each record is the row as a JSON object "
                  "of its columns, with the headers error, table, lsn and id")
      ->envname("PGOUTBOX_DLQ_TOPIC")
      ->capture_default_str();
  AddCleanupFlags(cmd, &f->cleanup, CleanupFlagScope::kRunCommand);
  cmd->add_option("--standby-retry-interval", f->standby_retry_interval,
                  "how often a hot standby (another process holds the slot) tries to take the "
                  "slot over")
      ->envname("PGOUTBOX_STANDBY_RETRY_INTERVAL")
      ->capture_default_str();
}

Result<app::RunConfig> Resolve(const RunFlags& f) {
  app::RunConfig c;
  c.db = f.db;
  c.brokers = f.brokers;
  if (c.brokers.empty()) return Status::InvalidArgument("--brokers must not be empty");
  c.table = f.table;
  c.publication = f.publication;
  c.slot = f.slot;
  if (c.publication.empty()) return Status::InvalidArgument("--publication must not be empty");
  if (c.slot.empty()) return Status::InvalidArgument("--slot must not be empty");
  c.no_create = f.no_create;
  c.preset = f.preset == "default" ? "" : f.preset;
  c.columns = c.preset == "debezium" ? outbox::ColumnMap::Debezium() : outbox::ColumnMap();
  // A column flag set to '' (also by an empty variable) disables the column.
  auto pick = [](CLI::Option* opt, const std::string& value, std::string* out) {
    if (GivenOrSetEmpty(opt)) *out = value;
  };
  pick(f.opt_column_id, f.column_id, &c.columns.id);
  pick(f.opt_column_key, f.column_key, &c.columns.key);
  pick(f.opt_column_type, f.column_type, &c.columns.event_type);
  pick(f.opt_column_aggregate_type, f.column_aggregate_type, &c.columns.aggregate_type);
  pick(f.opt_column_payload, f.column_payload, &c.columns.payload);
  pick(f.opt_column_headers, f.column_headers, &c.columns.headers);
  pick(f.opt_column_topic, f.column_topic, &c.columns.topic);
  c.headers_column_explicit = GivenOrSetEmpty(f.opt_column_headers);
  c.topic_column_explicit = GivenOrSetEmpty(f.opt_column_topic);
  c.topic_template = f.topic_template;
  // A template that cannot parse is a usage error before anything is touched.
  RETURN_IF_ERROR(outbox::TopicTemplate::Parse(c.topic_template).status());
  for (const auto& entry : f.kafka_config) {
    ASSIGN_OR_RETURN(auto kv, kafka::ParseConfigEntry(entry));
    c.kafka_config.push_back(std::move(kv));
  }
  if (!f.end_lsn.empty()) {
    c.end_lsn = Lsn::Parse(f.end_lsn);
    if (!c.end_lsn) {
      return Status::InvalidArgument(
          "--end-lsn " + f.end_lsn +
          " is not a WAL position (expected X/Y in hex, e.g. 0/16B3748)");
    }
  }
  c.exit_when_caught_up = f.exit_when_caught_up;
  auto duration = [](const std::string& flag, const std::string& text,
                     std::chrono::milliseconds* out) -> Status {
    auto d = ParseDuration(text);
    if (!d.ok()) return d.status().WithContext(flag);
    *out = *d;
    return Status::Ok();
  };
  RETURN_IF_ERROR(duration("--feedback-interval", f.feedback_interval, &c.feedback_interval));
  RETURN_IF_ERROR(duration("--startup-timeout", f.startup_timeout, &c.startup_timeout));
  RETURN_IF_ERROR(duration("--shutdown-timeout", f.shutdown_timeout, &c.shutdown_timeout));
  c.http_addr = f.http_addr;
  if (f.opt_http_addr != nullptr && f.opt_http_addr->count() == 0 &&
      GivenOrSetEmpty(f.opt_http_addr)) {
    c.http_addr.clear();  // PGOUTBOX_HTTP_ADDR= disables the endpoint like --http-addr ''
  }
  RETURN_IF_ERROR(duration("--stall-timeout", f.stall_timeout, &c.stall_timeout));
  RETURN_IF_ERROR(duration("--heartbeat-interval", f.heartbeat_interval, &c.heartbeat_interval));
  RETURN_IF_ERROR(
      duration("--standby-retry-interval", f.standby_retry_interval, &c.standby_retry_interval));
  RETURN_IF_ERROR(
      duration("--log-summary-interval", f.log_summary_interval, &c.log_summary_interval));
  ASSIGN_OR_RETURN(c.cleanup, ResolveCleanupFlags(f.cleanup, f.db, f.table));
  ASSIGN_OR_RETURN(c.on_bad_row, core::ParseBadRowAction(f.on_bad_row));
  c.dead_letter_topic = f.dlq_topic;
  if (c.on_bad_row == core::BadRowAction::kDeadLetter &&
      !outbox::IsValidTopicName(c.dead_letter_topic)) {
    return Status::InvalidArgument("--dlq-topic \"" + c.dead_letter_topic +
                                   "\" is not a valid Kafka topic name");
  }
  if (c.standby_retry_interval.count() <= 0) {
    return Status::InvalidArgument("--standby-retry-interval must be greater than 0");
  }
  if (c.feedback_interval.count() <= 0) {
    return Status::InvalidArgument("--feedback-interval must be greater than 0");
  }
  return c;
}

}  // namespace pgoutbox::cli
