#include "core/dead_letter.h"

#include <utility>

#include "common/json_escape.h"

namespace pgoutbox::core {

namespace {

// `text` as a JSON string, or null.
void AppendJsonString(std::string_view text, bool is_null, std::string* out) {
  if (is_null) {
    *out += "null";
    return;
  }
  *out += '"';
  *out += JsonEscape(text);
  *out += '"';
}

bool IsTooLarge(const BadRowCause& cause) {
  const auto* refusal = std::get_if<kafka::RecordRefusal>(&cause);
  return refusal != nullptr && *refusal == kafka::RecordRefusal::kTooLarge;
}

}  // namespace

Result<DeadLetter> DeadLetter::FromRow(const DeadLetterTarget& target,
                                       const outbox::EventMapper& mapper,
                                       const pgoutput::Insert& insert, std::optional<Lsn> lsn,
                                       const BadRowCause& cause, const Status& error,
                                       size_t payload_size) {
  std::optional<size_t> omitted_payload_size;
  if (IsTooLarge(cause)) omitted_payload_size = payload_size;
  ASSIGN_OR_RETURN(outbox::EventMapper::RowDump dump, mapper.DumpRow(insert, omitted_payload_size));
  DeadLetter dl;
  dl.topic_ = target.topic;
  dl.table_ = std::move(dump.table);
  dl.value_ = std::move(dump.json);
  dl.key_is_null_ = !dump.key.has_value();
  dl.key_ = std::move(dump.key).value_or("");
  dl.id_is_null_ = !dump.id.has_value();
  dl.id_ = std::move(dump.id).value_or("");
  dl.error_ = error.message();
  if (lsn) dl.lsn_ = lsn->ToString();
  return dl;
}

DeadLetter DeadLetter::FromMessage(const DeadLetterTarget& target,
                                   const pgoutput::LogicalMessage& message,
                                   const BadRowCause& cause, const Status& error,
                                   size_t payload_size) {
  DeadLetter dl;
  dl.topic_ = target.topic;
  dl.message_prefix_ = std::string(message.prefix);
  if (IsTooLarge(cause)) {
    dl.value_ = "{\"payload_size\":" + std::to_string(payload_size) + "}";
  } else {
    dl.value_.assign(message.content);
  }
  dl.key_is_null_ = true;
  dl.id_is_null_ = true;
  dl.error_ = error.message();
  dl.lsn_ = message.lsn.ToString();
  return dl;
}

DeadLetter DeadLetter::FromRefused(const DeadLetterTarget& target,
                                   const kafka::RefusedRecord& record, const Status& reason) {
  DeadLetter dl;
  dl.topic_ = target.topic;
  // The record's own `table` header names its row's table.
  dl.table_ = target.table;
  for (const outbox::EventHeader& h : record.headers) {
    if (h.name == "table" && !h.is_null) dl.table_.assign(h.value);
  }
  dl.key_.assign(record.key);
  dl.key_is_null_ = record.key_is_null;
  dl.id_.assign(record.event_id);
  dl.error_ = "event " + dl.id_ + ": " + reason.message();
  std::string& value = dl.value_;
  value = "{\"topic\":";
  AppendJsonString(record.topic, false, &value);
  value += ",\"key\":";
  AppendJsonString(record.key, record.key_is_null, &value);
  value += ",\"headers\":{";
  for (size_t i = 0; i < record.headers.size(); ++i) {
    const outbox::EventHeader& h = record.headers[i];
    if (i > 0) value += ',';
    AppendJsonString(h.name, false, &value);
    value += ':';
    AppendJsonString(h.value, h.is_null, &value);
  }
  value += "},\"payload_size\":" + std::to_string(record.payload_size) + "}";
  return dl;
}

outbox::Event DeadLetter::event() const {
  outbox::Event event;
  event.id = id_;
  event.key = key_;
  event.key_is_null = key_is_null_;
  event.topic = topic_;
  event.payload = value_;
  event.payload_is_null = false;
  event.headers.reserve(4);
  event.headers.push_back({"error", error_, false});
  if (message_prefix_) {
    event.headers.push_back({"message_prefix", *message_prefix_, false});
  } else {
    event.headers.push_back({"table", table_, false});
  }
  if (lsn_) event.headers.push_back({"lsn", *lsn_, false});
  event.headers.push_back({"id", id_, id_is_null_});
  return event;
}

}  // namespace pgoutbox::core
