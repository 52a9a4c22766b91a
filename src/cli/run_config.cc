#include "cli/run_config.h"

#include "cli/command.h"
#include "cli/duration.h"
#include "kafka/publisher.h"
#include "outbox/topic_template.h"
#include "pg/connection.h"

namespace pgoutbox::cli {

namespace {

// Values of -X properties that are or may be secrets: anything named like a
// password, secret, credential, token or key material, and any key librdkafka
// does not know (a mistyped "sasl.pasword").
bool IsSecretKey(const std::string& key) {
  for (const char* word : {"pass", "secret", "jaas", "key.pem", "token", "credential"}) {
    if (key.find(word) != std::string::npos) return true;
  }
  return !kafka::IsKnownProperty(key);
}

}  // namespace

void AddRunFlags(CLI::App* cmd, RunFlags* f) {
  AddDbFlag(cmd, &f->db);
  cmd->add_option("--brokers", f->brokers,
                  "Kafka bootstrap servers, or mock:N for an in-process mock cluster")
      ->envname("PGOUTBOX_BROKERS")
      ->required();
  AddTableFlag(cmd, &f->table);
  AddPublicationFlag(cmd, &f->publication);
  AddSlotFlag(cmd, &f->slot);
  cmd->add_flag("--no-create", f->no_create,
                "refuse to start if the publication or slot is missing instead of creating it")
      ->envname("PGOUTBOX_NO_CREATE");
  cmd->add_option("--preset", f->preset,
                  "column mapping preset: debezium (id, aggregateid, aggregatetype, type, payload)")
      ->envname("PGOUTBOX_PRESET")
      ->check(CLI::IsMember({"", "default", "debezium"}));
  f->opt_column_id = cmd->add_option("--column-id", f->column_id, "event id column [id]")
                         ->envname("PGOUTBOX_COLUMN_ID");
  f->opt_column_key = cmd->add_option("--column-key", f->column_key,
                                      "aggregate id column, the Kafka key [aggregate_id]")
                          ->envname("PGOUTBOX_COLUMN_KEY");
  f->opt_column_type =
      cmd->add_option("--column-type", f->column_type, "event type column [event_type]")
          ->envname("PGOUTBOX_COLUMN_TYPE");
  f->opt_column_aggregate_type =
      cmd->add_option("--column-aggregate-type", f->column_aggregate_type,
                      "aggregate type column [aggregate_type]")
          ->envname("PGOUTBOX_COLUMN_AGGREGATE_TYPE");
  f->opt_column_payload = cmd->add_option("--column-payload", f->column_payload,
                                          "payload column, the Kafka value [payload]")
                              ->envname("PGOUTBOX_COLUMN_PAYLOAD");
  f->opt_column_headers =
      cmd->add_option("--column-headers", f->column_headers,
                      "JSON object column whose string fields become Kafka headers [headers]; "
                      "empty for none")
          ->envname("PGOUTBOX_COLUMN_HEADERS");
  f->opt_column_topic =
      cmd->add_option(
             "--column-topic", f->column_topic,
             "column that overrides the topic per row when not null [topic]; empty for none")
          ->envname("PGOUTBOX_COLUMN_TOPIC");
  cmd->add_option("--topic", f->topic_template,
                  "topic template; {placeholders} are mapped fields or columns")
      ->envname("PGOUTBOX_TOPIC")
      ->capture_default_str();
  cmd->add_option("-X", f->kafka_config,
                  "librdkafka property key=value, repeatable (PGOUTBOX_X: entries separated by ;)")
      ->envname("PGOUTBOX_X")
      ->delimiter(';')
      ->allow_extra_args(false);
  cmd->add_option("--end-lsn", f->end_lsn,
                  "stop once everything up to this WAL position is delivered and confirmed")
      ->envname("PGOUTBOX_END_LSN");
  cmd->add_flag("--exit-when-caught-up", f->exit_when_caught_up,
                "stop once everything committed before start-up is delivered and confirmed")
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
  cmd->add_option("--http-addr", f->http_addr,
                  "host:port of /metrics, /healthz and /readyz; empty disables; port 0 picks one")
      ->envname("PGOUTBOX_HTTP_ADDR")
      ->capture_default_str();
  cmd->add_option("--stall-timeout", f->stall_timeout,
                  "/readyz turns 503 when events are in flight and the confirmed position has "
                  "not moved for this long")
      ->envname("PGOUTBOX_STALL_TIMEOUT")
      ->capture_default_str();
  cmd->add_option("--heartbeat-interval", f->heartbeat_interval,
                  "emit a pgoutbox.heartbeat logical message this often so the slot moves on an "
                  "idle database; 0 disables")
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
                  "dead-letter topic of --on-bad-row dlq: the row as a JSON object of its columns, "
                  "headers error, table, lsn, id")
      ->envname("PGOUTBOX_DLQ_TOPIC")
      ->capture_default_str();
  AddCleanupFlags(cmd, &f->cleanup, CleanupFlagScope::kRunCommand);
  cmd->add_option("--standby-retry-interval", f->standby_retry_interval,
                  "while another process holds the slot, try to take it over this often")
      ->envname("PGOUTBOX_STANDBY_RETRY_INTERVAL")
      ->capture_default_str();
}

Result<RunConfig> Resolve(const RunFlags& f) {
  RunConfig c;
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
  auto pick = [](CLI::Option* opt, const std::string& value, std::string* out) {
    if (opt != nullptr && opt->count() > 0) *out = value;
  };
  pick(f.opt_column_id, f.column_id, &c.columns.id);
  pick(f.opt_column_key, f.column_key, &c.columns.key);
  pick(f.opt_column_type, f.column_type, &c.columns.event_type);
  pick(f.opt_column_aggregate_type, f.column_aggregate_type, &c.columns.aggregate_type);
  pick(f.opt_column_payload, f.column_payload, &c.columns.payload);
  pick(f.opt_column_headers, f.column_headers, &c.columns.headers);
  pick(f.opt_column_topic, f.column_topic, &c.columns.topic);
  c.headers_column_explicit = f.opt_column_headers != nullptr && f.opt_column_headers->count() > 0;
  c.topic_column_explicit = f.opt_column_topic != nullptr && f.opt_column_topic->count() > 0;
  c.topic_template = f.topic_template;
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

std::string RunConfig::Describe() const {
  std::string s = "db=\"" + pg::RedactConninfo(db) + "\" brokers=" + brokers + " table=" + table +
                  " publication=" + publication + " slot=" + slot +
                  " create=" + (no_create ? "no" : "yes") + " columns(id=" + columns.id +
                  " key=" + columns.key + " event_type=" + columns.event_type +
                  " aggregate_type=" + columns.aggregate_type + " payload=" + columns.payload +
                  " headers=" + columns.headers + " topic=" + columns.topic +
                  ") topic_template=" + topic_template +
                  " feedback_interval=" + std::to_string(feedback_interval.count()) + "ms";
  for (const auto& [k, v] : kafka_config) {
    s += " -X " + k + "=" + (IsSecretKey(k) ? "***" : v);
  }
  s += " http_addr=" + (http_addr.empty() ? std::string("off") : http_addr) +
       " stall_timeout=" + std::to_string(stall_timeout.count()) + "ms" +
       " heartbeat_interval=" + std::to_string(heartbeat_interval.count()) + "ms" + " retention=" +
       (cleanup.cleanup.enabled() ? std::to_string(cleanup.cleanup.retention.count()) + "ms"
                                  : std::string("off"));
  if (end_lsn) s += " end_lsn=" + end_lsn->ToString();
  if (exit_when_caught_up) s += " exit_when_caught_up";
  s += std::string(" on_bad_row=") + core::BadRowActionName(on_bad_row);
  if (on_bad_row == core::BadRowAction::kDeadLetter) s += " dlq_topic=" + dead_letter_topic;
  return s;
}

}  // namespace pgoutbox::cli
