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
};

// The reason as a log word and metric label: "null_column", "topic",
// "headers", "payload".
const char* BadRowReasonName(BadRowReason reason);

}  // namespace pgoutbox::outbox
