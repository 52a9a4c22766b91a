// The flags `pgoutbox run` and `pgoutbox replay` share, declared once so that
// both commands name, default, document and read them the same way: the
// brokers and -X (the producer), the column mapping and topic template (what
// a row's record is), and --on-bad-row with --dlq-topic (what becomes of a
// row that cannot be one). Every flag can also come from PGOUTBOX_<FLAG>.
//
// Add*Flags declares the flags on a command, bound to the struct (which must
// outlive parsing); Resolve* validates them after parsing, InvalidArgument
// naming the flag.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <utility>
#include <vector>

#include "app/mapping.h"
#include "common/defaults.h"
#include "common/status.h"
#include "core/bad_row.h"

namespace pgoutbox::cli {

// --brokers. `required`: CLI11 refuses a command line without it.
void AddBrokersFlag(CLI::App* cmd, std::string* brokers, bool required);

// -X key=value, repeatable (PGOUTBOX_X separates entries with ';').
void AddKafkaConfigFlag(CLI::App* cmd, std::vector<std::string>* entries);
Result<std::vector<std::pair<std::string, std::string>>> ResolveKafkaConfig(
    const std::vector<std::string>& entries);

// --preset, --column-id, --column-key, --column-type, --column-aggregate-type,
// --column-payload, --column-headers, --column-topic, --topic.
struct MappingFlags {
  std::string preset = "default";
  std::string column_id, column_key, column_type, column_aggregate_type, column_payload,
      column_headers, column_topic;
  std::string topic_template{defaults::kTopicTemplate};

  CLI::Option* opt_column_id = nullptr;
  CLI::Option* opt_column_key = nullptr;
  CLI::Option* opt_column_type = nullptr;
  CLI::Option* opt_column_aggregate_type = nullptr;
  CLI::Option* opt_column_payload = nullptr;
  CLI::Option* opt_column_headers = nullptr;
  CLI::Option* opt_column_topic = nullptr;
};
void AddMappingFlags(CLI::App* cmd, MappingFlags* flags);
// The preset's columns with the column flags given over them ('' disables an
// optional column, also from an empty PGOUTBOX_COLUMN_* variable); the
// template parsed. Call it after parsing.
Result<app::MappingConfig> ResolveMappingFlags(const MappingFlags& flags);

// --on-bad-row, --dlq-topic.
struct BadRowFlags {
  std::string on_bad_row = core::BadRowActionName(core::BadRowAction::kHalt);
  std::string dlq_topic{defaults::kDeadLetterTopic};
};
void AddBadRowFlags(CLI::App* cmd, BadRowFlags* flags);
struct BadRowPolicy {
  core::BadRowAction action = core::BadRowAction::kHalt;
  std::string dead_letter_topic{defaults::kDeadLetterTopic};
};
Result<BadRowPolicy> ResolveBadRowFlags(const BadRowFlags& flags);

}  // namespace pgoutbox::cli
