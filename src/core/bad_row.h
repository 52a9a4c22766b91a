// Bad rows: rows that cannot become a record (the mapper says why,
// outbox::BadRowReason) or whose record Kafka refuses for good
// (kafka::RecordRefusal), and what the stream does with them (--on-bad-row).
//
// Thread safety: plain values and pure functions.
#pragma once

#include <string_view>
#include <variant>

#include "common/status.h"
#include "kafka/record_refusal.h"
#include "outbox/bad_row_reason.h"

namespace pgoutbox::core {

// What to do with a bad row: stop the stream (halt), produce a record
// describing it to the dead-letter topic (dlq), or log it and go on (skip).
enum class BadRowAction { kHalt, kDeadLetter, kSkip };
// "halt", "dlq", "skip"; InvalidArgument otherwise.
Result<BadRowAction> ParseBadRowAction(std::string_view text);
const char* BadRowActionName(BadRowAction action);

// Why a row is bad: the mapper's reason or Kafka's refusal.
using BadRowCause = std::variant<outbox::BadRowReason, kafka::RecordRefusal>;
// The cause as a log word and metric label (outbox::BadRowReasonName,
// kafka::RecordRefusalName): "null_column", "topic", "too_large", ...
const char* BadRowCauseName(const BadRowCause& cause);

}  // namespace pgoutbox::core
