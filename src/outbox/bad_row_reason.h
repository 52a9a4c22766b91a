// BadRowReason: why an outbox row cannot become a record, when the row
// itself is at fault (EventMapper::bad_row_reason). The stream's policy for
// such rows (halt, skip, dead-letter) is the caller's; the reason is what
// it logs and counts.
//
// Thread safety: plain values and a pure function.
#pragma once

namespace pgoutbox::outbox {

enum class BadRowReason {
  kNullColumn,  // a NULL mapped column or topic template placeholder
  kTopic,       // not a valid Kafka topic name
  kHeaders,     // the headers column is not a flat JSON object
  kPayload,     // the payload cannot be decoded
  // A logical decoding message (outbox::MessageMapper) whose content is not
  // a JSON object with the required fields.
  kMessage,
  // A non-transactional logical decoding message with the events' prefix:
  // the server sends it even when its transaction rolls back.
  kNonTransactional,
};

// The reason as a log word and metric label: "null_column", "topic",
// "headers", "payload", "message", "non_transactional".
const char* BadRowReasonName(BadRowReason reason);

}  // namespace pgoutbox::outbox
