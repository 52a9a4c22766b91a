// DeadLetter: the record that carries a bad row to the dead-letter topic
// (--on-bad-row dlq). Every dead-letter record is made here, from one of the
// two kinds of bad row:
//
//  - FromRow: a row the stream still holds, which the mapper could not make
//    a record of or whose record Kafka refused when it was produced.
//    value = the row as a JSON object of all its columns
//    (EventMapper::DumpRow); when Kafka refused it as too large, without the
//    payload and with the payload's size instead. key = the row's key (none
//    if NULL). Headers: error, table (the row's), lsn, id (null if NULL); no
//    lsn for a row read from the table (`pgoutbox replay`), which has no WAL
//    position.
//  - FromRefused: a record Kafka refused in its delivery report, when the
//    row is no longer in memory. value = what the report tells:
//    {"topic":...,"key":...,"headers":{...},"payload_size":N}. key = the
//    record's key. Headers: error, table (the record's `table` header, else
//    the target's), id.
//  - FromMessage: a logical decoding message with the events' prefix
//    (outbox::MessageMapper) that cannot become a record, or whose record
//    Kafka refused when it was produced. value = the message's content as
//    written; when Kafka refused it as too large,
//    {"payload_size": N} instead. No key. Headers: error, message_prefix,
//    lsn, id (null).
//
// Ownership: a DeadLetter owns copies of everything its record shows; the
// views of event() point into it. Thread safety: none needed (a value).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/types.h"
#include "core/bad_row.h"
#include "kafka/event_sink.h"
#include "outbox/event.h"
#include "outbox/mapper.h"
#include "pgoutput/messages.h"

namespace pgoutbox::core {

// Where dead-letter records go, and what they name.
struct DeadLetterTarget {
  std::string topic;  // the dead-letter topic
  // The outbox tables (--table), for a refused record without a `table`
  // header; a row's record names the row's own table.
  std::string table;
};

class DeadLetter {
 public:
  // The record for `insert` at `lsn` (none for a row read from the table),
  // which is bad because of `cause`;
  // `error` says what is wrong (it names the event). `payload_size` is the
  // size of the payload Kafka was given, shown instead of the payload when
  // Kafka refused the record as too large (ignored for other causes).
  // Corruption if the mapper cannot render the row (its relation unknown).
  static Result<DeadLetter> FromRow(const DeadLetterTarget& target,
                                    const outbox::EventMapper& mapper,
                                    const pgoutput::Insert& insert, std::optional<Lsn> lsn,
                                    const BadRowCause& cause, const Status& error,
                                    size_t payload_size);

  // The record for the logical decoding message `message`, bad because of
  // `cause` (see FromRow for `error` and `payload_size`).
  static DeadLetter FromMessage(const DeadLetterTarget& target,
                                const pgoutput::LogicalMessage& message, const BadRowCause& cause,
                                const Status& error, size_t payload_size);

  // The record for `record`, which Kafka refused in its delivery report for
  // `reason`.
  static DeadLetter FromRefused(const DeadLetterTarget& target, const kafka::RefusedRecord& record,
                                const Status& reason);

  // The record to produce; its views point into this DeadLetter and are
  // valid while it lives and is not moved.
  outbox::Event event() const;

  // The bad row's event id ("" if its id is NULL) and what is wrong with it
  // (the error header).
  std::string_view id() const { return id_; }
  const std::string& error() const { return error_; }

 private:
  DeadLetter() = default;

  std::string topic_, table_;
  std::string value_;
  std::string key_;
  bool key_is_null_ = false;
  std::string id_;
  bool id_is_null_ = false;
  std::string error_;
  std::optional<std::string> lsn_;             // FromRow and FromMessage only
  std::optional<std::string> message_prefix_;  // FromMessage only (no table)
};

}  // namespace pgoutbox::core
