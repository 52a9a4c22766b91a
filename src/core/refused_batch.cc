#include "core/refused_batch.h"

namespace pgoutbox::core {

void RefusedBatch::Add(uint64_t opaque, const kafka::RefusedRecord& record, const Status& reason) {
  Record r;
  r.opaque = opaque;
  r.id = std::string(record.event_id);
  r.topic = std::string(record.topic);
  r.key = std::string(record.key);
  r.key_is_null = record.key_is_null;
  r.payload = std::string(record.payload);
  r.payload_is_null = record.payload_is_null;
  r.timestamp_ms = record.timestamp_ms;
  for (const outbox::EventHeader& h : record.headers) {
    r.headers.emplace_back(std::string(h.name),
                           h.is_null ? std::nullopt : std::optional<std::string>(h.value));
  }
  r.refusal = record.refusal;
  r.reason = reason;
  records_.push_back(std::move(r));
}

outbox::Event RefusedBatch::event() const {
  const Record& r = records_.front();
  outbox::Event e;
  e.id = r.id;
  e.topic = r.topic;
  e.key = r.key;
  e.key_is_null = r.key_is_null;
  e.payload = r.payload;
  e.payload_is_null = r.payload_is_null;
  for (const auto& [name, value] : r.headers) {
    e.headers.push_back(outbox::EventHeader{name, value ? std::string_view(*value) : "", !value});
  }
  return e;
}

kafka::RefusedRecord RefusedBatch::refused() const {
  const Record& r = records_.front();
  kafka::RefusedRecord out;
  out.event_id = r.id;
  out.topic = r.topic;
  out.key = r.key;
  out.key_is_null = r.key_is_null;
  out.payload = r.payload;
  out.payload_is_null = r.payload_is_null;
  out.payload_size = r.payload.size();
  out.timestamp_ms = r.timestamp_ms;
  for (const auto& [name, value] : r.headers) {
    out.headers.push_back(outbox::EventHeader{name, value ? std::string_view(*value) : "", !value});
  }
  out.refusal = r.refusal;
  return out;
}

void RefusedBatch::Pop() {
  if (!records_.empty()) records_.pop_front();
  retrying_ = false;
}

}  // namespace pgoutbox::core
