// MessageMapper: turns a logical decoding message written with
// pg_logical_emit_message(true, '<prefix>', '<json>') into an Event, so that
// an application can publish an event without an outbox table.
//
// The content is a JSON object:
//   {"aggregate_type": "order", "aggregate_id": "42", "event_type": "created",
//    "payload": {...}, "id": "...", "headers": {"k": "v", ...}}
// aggregate_type, aggregate_id, event_type and payload are required;
// aggregate_id may be a string or a number (its JSON text); payload is the
// record's value: a JSON string gives its text, null a null value, any other
// JSON value its JSON text exactly as written. id (a string) is optional: a
// message without one gets its WAL position as its id ("0/1A2B3C4"), which
// stays the same when the server sends the message again. headers is an
// optional flat object like the outbox table's headers column (values are
// strings, numbers, booleans or null); a field named like a reserved header
// (kReservedHeaders) is dropped. Other fields are ignored, except that a topic
// template placeholder that is not a mapped field ({id}, {key} or
// {aggregate_id}, {event_type}, {aggregate_type}) takes the value of the
// top-level field of its name (a string or a number).
//
// Only a transactional message is an event: a non-transactional one is sent
// by the server as soon as it is written, even if its transaction then rolls
// back. Such a message, and content that is not an object with the required
// fields, is a bad row (bad_row_reason()); the caller's policy decides.
//
// Thread safety: none; one instance per streaming session.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/defaults.h"
#include "common/status.h"
#include "outbox/bad_row_reason.h"
#include "outbox/event.h"
#include "outbox/topic_template.h"
#include "pgoutput/messages.h"

namespace pgoutbox::outbox {

struct MessageMapperOptions {
  // The prefix that marks a message as a pgoutbox event; empty: no message
  // is an event.
  std::string prefix{defaults::kMessagePrefix};
  std::string topic_template{defaults::kTopicTemplate};
};

class MessageMapper {
 public:
  // InvalidArgument for a bad template, or a prefix that pgoutbox's own
  // heartbeat messages use.
  static Result<std::unique_ptr<MessageMapper>> Create(MessageMapperOptions options);
  ~MessageMapper();
  MessageMapper(const MessageMapper&) = delete;
  MessageMapper& operator=(const MessageMapper&) = delete;

  // Whether `message` carries the configured prefix (exactly).
  bool IsEvent(const pgoutput::LogicalMessage& message) const {
    return !options_.prefix.empty() && message.prefix == options_.prefix;
  }

  // Maps one message (IsEvent). On success *out's views stay valid until
  // the next Map call and while the message's buffer is alive. On failure
  // the error names the message by its WAL position and says what is wrong;
  // bad_row_reason() says why.
  Status Map(const pgoutput::LogicalMessage& message, Event* out);

  // Why the last Map call failed (it always is the message's fault).
  std::optional<BadRowReason> bad_row_reason() const { return bad_row_reason_; }

  const MessageMapperOptions& options() const { return options_; }

 private:
  struct Scratch;
  MessageMapper(MessageMapperOptions options, TopicTemplate topic_template);
  Status MapContent(const pgoutput::LogicalMessage& message, Event* out);

  const MessageMapperOptions options_;
  const TopicTemplate template_;
  std::unique_ptr<Scratch> scratch_;
  std::optional<BadRowReason> bad_row_reason_;
};

}  // namespace pgoutbox::outbox
