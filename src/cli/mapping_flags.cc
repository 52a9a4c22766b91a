#include "cli/mapping_flags.h"

#include "cli/command.h"
#include "kafka/publisher.h"
#include "outbox/column_map.h"
#include "outbox/topic_template.h"

namespace pgoutbox::cli {

void AddBrokersFlag(CLI::App* cmd, std::string* brokers, bool required) {
  CLI::Option* opt =
      cmd->add_option("--brokers", *brokers,
                      "Kafka bootstrap servers (host:port,...); mock:N starts librdkafka's mock "
                      "cluster with N brokers in the process and logs its address (demos, tests)")
          ->envname("PGOUTBOX_BROKERS");
  if (required) opt->required();
}

void AddKafkaConfigFlag(CLI::App* cmd, std::vector<std::string>* entries) {
  cmd->add_option("-X", *entries,
                  "any librdkafka property as key=value, repeatable, e.g. -X "
                  "security.protocol=SASL_SSL -X sasl.mechanism=SCRAM-SHA-512; PGOUTBOX_X "
                  "separates entries with ;")
      ->envname("PGOUTBOX_X")
      ->delimiter(';')
      ->allow_extra_args(false);
}

Result<std::vector<std::pair<std::string, std::string>>> ResolveKafkaConfig(
    const std::vector<std::string>& entries) {
  std::vector<std::pair<std::string, std::string>> config;
  for (const auto& entry : entries) {
    ASSIGN_OR_RETURN(auto kv, kafka::ParseConfigEntry(entry));
    config.push_back(std::move(kv));
  }
  return config;
}

void AddMappingFlags(CLI::App* cmd, MappingFlags* f) {
  cmd->add_option("--preset", f->preset,
                  "column mapping: default, or debezium for Debezium's EventRouter columns id, "
                  "aggregateid, aggregatetype, type, payload (a Debezium outbox table works "
                  "unchanged); the column flags below override it one by one")
      ->envname("PGOUTBOX_PRESET")
      ->check(CLI::IsMember({"", "default", "debezium"}))
      ->capture_default_str();
  // The --column-* defaults depend on --preset: ResolveMappingFlags() applies
  // them, the default strings are the default preset's, for --help.
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
                  "topic template; placeholders are {id}, {key}, {event_type}, {aggregate_type}, "
                  "{schema}, {table} (the row's table) or any column; a non-null topic column "
                  "wins")
      ->envname("PGOUTBOX_TOPIC")
      ->capture_default_str();
}

Result<app::MappingConfig> ResolveMappingFlags(const MappingFlags& f) {
  app::MappingConfig c;
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
  return c;
}

void AddBadRowFlags(CLI::App* cmd, BadRowFlags* f) {
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
}

Result<BadRowPolicy> ResolveBadRowFlags(const BadRowFlags& f) {
  BadRowPolicy p;
  ASSIGN_OR_RETURN(p.action, core::ParseBadRowAction(f.on_bad_row));
  p.dead_letter_topic = f.dlq_topic;
  if (p.action == core::BadRowAction::kDeadLetter &&
      !outbox::IsValidTopicName(p.dead_letter_topic)) {
    return Status::InvalidArgument("--dlq-topic \"" + p.dead_letter_topic +
                                   "\" is not a valid Kafka topic name");
  }
  return p;
}

}  // namespace pgoutbox::cli
