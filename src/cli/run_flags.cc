#include "cli/run_flags.h"

#include "cli/command.h"
#include "common/duration.h"
#include "outbox/topic_template.h"
#include "pg/connection.h"

namespace pgoutbox::cli {

void AddRunFlags(CLI::App* cmd, RunFlags* f) {
  AddDbFlag(cmd, &f->db,
            "libpq conninfo or URI of the database; replication=database is added for the "
            "stream");
  AddBrokersFlag(cmd, &f->brokers, /*required=*/true);
  AddTableFlag(cmd, &f->table);
  AddPublicationFlag(cmd, &f->publication);
  AddSlotFlag(cmd, &f->slot);
  cmd->add_flag("--no-create", f->no_create,
                "refuse to start when the publication or slot is missing instead of creating it")
      ->envname("PGOUTBOX_NO_CREATE");
  AddMappingFlags(cmd, &f->mapping);
  AddKafkaConfigFlag(cmd, &f->kafka_config);
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
  AddBadRowFlags(cmd, &f->bad_rows);
  AddCleanupFlags(cmd, &f->cleanup, CleanupFlagScope::kRunCommand);
  cmd->add_option("--standby-retry-interval", f->standby_retry_interval,
                  "how often a hot standby (another process holds the slot) tries to take the "
                  "slot over")
      ->envname("PGOUTBOX_STANDBY_RETRY_INTERVAL")
      ->capture_default_str();
  cmd->add_option("--state-topic", f->state_topic,
                  "Kafka topic where pgoutbox remembers, per database and slot, the server it "
                  "streamed from and the point up to which every event is delivered (best "
                  "created with cleanup.policy=compact); read at start-up to recover after a "
                  "failover")
      ->envname("PGOUTBOX_STATE_TOPIC")
      ->capture_default_str();
  cmd->add_flag("--accept-gap", f->accept_gap,
                "when the slot must be recovered from the table but rows the delivered point "
                "needs may have been deleted by cleanup (the outage outlasted --retention), "
                "recover what the table holds and go on instead of refusing to start")
      ->envname("PGOUTBOX_ACCEPT_GAP");
  f->opt_message_prefix =
      cmd->add_option(
             "--message-prefix", f->message_prefix,
             "logical decoding messages with this prefix, written with "
             "pg_logical_emit_message(true, prefix, json) in a transaction, are events like "
             "outbox rows; '' disables")
          ->envname("PGOUTBOX_MESSAGE_PREFIX")
          ->capture_default_str();
}

Result<app::RunConfig> Resolve(const RunFlags& f) {
  app::RunConfig c;
  c.db = f.db;
  c.brokers = f.brokers;
  if (c.brokers.empty()) return Status::InvalidArgument("--brokers must not be empty");
  c.tables = f.table;
  c.publication = f.publication;
  c.slot = f.slot;
  if (c.publication.empty()) return Status::InvalidArgument("--publication must not be empty");
  if (c.slot.empty()) return Status::InvalidArgument("--slot must not be empty");
  c.no_create = f.no_create;
  ASSIGN_OR_RETURN(c.mapping, ResolveMappingFlags(f.mapping));
  ASSIGN_OR_RETURN(c.kafka_config, ResolveKafkaConfig(f.kafka_config));
  if (!f.end_lsn.empty()) {
    c.end_lsn = Lsn::Parse(f.end_lsn);
    if (!c.end_lsn) {
      return Status::InvalidArgument(
          "--end-lsn " + f.end_lsn +
          " is not a WAL position (expected X/Y in hex, e.g. 0/16B3748)");
    }
  }
  c.exit_when_caught_up = f.exit_when_caught_up;
  // Durations handed on as an int of milliseconds (librdkafka's timeouts;
  // the feedback interval is held against the server's wal_sender_timeout)
  // are bounded by that; the others by what the clocks hold.
  auto duration = [](const std::string& flag, const std::string& text,
                     std::chrono::milliseconds* out,
                     std::chrono::milliseconds max = kMaxDuration) -> Status {
    auto d = ParseDuration(text, max);
    if (!d.ok()) return d.status().WithContext(flag);
    *out = *d;
    return Status::Ok();
  };
  RETURN_IF_ERROR(
      duration("--feedback-interval", f.feedback_interval, &c.feedback_interval, kMaxIntMillis));
  RETURN_IF_ERROR(
      duration("--startup-timeout", f.startup_timeout, &c.startup_timeout, kMaxIntMillis));
  RETURN_IF_ERROR(
      duration("--shutdown-timeout", f.shutdown_timeout, &c.shutdown_timeout, kMaxIntMillis));
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
  ASSIGN_OR_RETURN(BadRowPolicy bad_rows, ResolveBadRowFlags(f.bad_rows));
  c.on_bad_row = bad_rows.action;
  c.dead_letter_topic = bad_rows.dead_letter_topic;
  c.state_topic = f.state_topic;
  c.accept_gap = f.accept_gap;
  c.message_prefix = f.message_prefix;
  if (f.opt_message_prefix != nullptr && f.opt_message_prefix->count() == 0 &&
      GivenOrSetEmpty(f.opt_message_prefix)) {
    c.message_prefix.clear();  // PGOUTBOX_MESSAGE_PREFIX= disables message events
  }
  if (c.message_prefix == defaults::kHeartbeatPrefix) {
    return Status::InvalidArgument("--message-prefix " + c.message_prefix +
                                   " is the prefix of pgoutbox's own heartbeat messages");
  }
  if (!outbox::IsValidTopicName(c.state_topic)) {
    return Status::InvalidArgument("--state-topic \"" + c.state_topic +
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
