#include "core/stream_fakes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

namespace pgoutbox::core::testing {

namespace {

// What the fake producer reports as its own latency.
constexpr std::chrono::microseconds kInProducer{250};

// Big-endian, like the server.
void Put(Bytes* out, uint64_t value, int size) {
  for (int i = size - 1; i >= 0; --i) out->push_back(static_cast<uint8_t>(value >> (8 * i)));
}

void PutString(Bytes* out, std::string_view text) {
  out->insert(out->end(), text.begin(), text.end());
  out->push_back(0);
}

}  // namespace

Bytes BeginMessage(Lsn final_lsn, PgTimestamp commit_time, uint32_t xid) {
  Bytes out{'B'};
  Put(&out, final_lsn.value(), 8);
  Put(&out, static_cast<uint64_t>(commit_time.micros()), 8);
  Put(&out, xid, 4);
  return out;
}

Bytes CommitMessage(Lsn commit_lsn, Lsn end_lsn, PgTimestamp commit_time) {
  Bytes out{'C', 0};
  Put(&out, commit_lsn.value(), 8);
  Put(&out, end_lsn.value(), 8);
  Put(&out, static_cast<uint64_t>(commit_time.micros()), 8);
  return out;
}

Bytes RelationMessage(uint32_t oid, std::string_view schema, std::string_view table,
                      const std::vector<std::pair<std::string_view, uint32_t>>& columns) {
  Bytes out{'R'};
  Put(&out, oid, 4);
  PutString(&out, schema);
  PutString(&out, table);
  out.push_back('d');  // replica identity default
  Put(&out, columns.size(), 2);
  for (const auto& [name, type_oid] : columns) {
    out.push_back(0);  // flags
    PutString(&out, name);
    Put(&out, type_oid, 4);
    Put(&out, static_cast<uint32_t>(-1), 4);  // type modifier
  }
  return out;
}

Bytes InsertMessage(uint32_t oid, const std::vector<std::optional<std::string_view>>& values) {
  Bytes out{'I'};
  Put(&out, oid, 4);
  out.push_back('N');
  Put(&out, values.size(), 2);
  for (const auto& value : values) {
    if (!value) {
      out.push_back('n');
      continue;
    }
    out.push_back('t');
    Put(&out, value->size(), 4);
    out.insert(out.end(), value->begin(), value->end());
  }
  return out;
}

Bytes LogicalMessageMessage(bool transactional, Lsn lsn, std::string_view prefix,
                            std::string_view content) {
  Bytes out{'M', static_cast<uint8_t>(transactional ? 1 : 0)};
  Put(&out, lsn.value(), 8);
  PutString(&out, prefix);
  Put(&out, content.size(), 4);
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

Bytes XLogDataFrame(Lsn start, const Bytes& payload) {
  Bytes out{'w'};
  Put(&out, start.value(), 8);
  Put(&out, start.value(), 8);  // the server's WAL end
  // The send time: now, as the server stamps it.
  Put(&out,
      static_cast<uint64_t>(
          PgTimestamp::FromUnixMicros(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count())
              .micros()),
      8);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Bytes KeepaliveFrame(Lsn wal_end, bool reply_requested) {
  Bytes out{'k'};
  Put(&out, wal_end.value(), 8);
  Put(&out, 0, 8);
  out.push_back(reply_requested ? 1 : 0);
  return out;
}

// --- FakeSource --------------------------------------------------------------

void FakeSource::WaitForStatusUpdates(int count) {
  std::optional<size_t> until;
  WaitUntil(std::to_string(count) + " more status updates", [this, count, until]() mutable {
    if (!until) until = updates_.size() + static_cast<size_t>(count);
    return updates_.size() >= *until;
  });
}

Result<replication::CopyMessage> FakeSource::TryRead() {
  while (!script_.empty()) {
    Step& step = script_.front();
    if (auto* action = std::get_if<std::function<void()>>(&step)) {
      auto run = std::move(*action);
      script_.pop_front();
      run();
      continue;
    }
    if (auto* gate = std::get_if<Gate>(&step)) {
      if (gate->condition()) {
        script_.pop_front();
        waiting_since_.reset();
        continue;
      }
      if (!waiting_since_) waiting_since_ = Clock::now();
      if (Clock::now() - *waiting_since_ > kPatience) {
        return Status::Unavailable("fake source: gave up waiting for " + gate->what);
      }
      return replication::CopyMessage();
    }
    if (auto* broken = std::get_if<Status>(&step)) return *broken;  // stays at the front
    read_.push_back(std::move(std::get<Bytes>(step)));
    script_.pop_front();
    waiting_since_.reset();
    return replication::CopyMessage::Borrowed(read_.back());
  }
  // The script ended: an idle stream, for a while.
  if (!waiting_since_) waiting_since_ = Clock::now();
  if (Clock::now() - *waiting_since_ > kPatience) {
    return Status::Unavailable("fake source: idle for too long after the script ended");
  }
  return replication::CopyMessage();
}

Status FakeSource::SendStatus(const replication::StatusUpdate& update) {
  updates_.push_back(update);
  if (on_status) on_status(update);
  return Status::Ok();
}

Lsn FakeSource::highest_flushed() const {
  Lsn highest;
  for (const auto& update : updates_) highest = std::max(highest, update.flushed);
  return highest;
}

// --- FakeSink ----------------------------------------------------------------

std::optional<std::string> FakeSink::Record::Header(std::string_view name) const {
  std::optional<std::string> found;
  for (const auto& [header, value] : headers) {
    if (header == name) found = value.value_or("(null)");
  }
  return found;
}

Result<kafka::ProduceResult> FakeSink::Produce(const outbox::Event& event, int64_t,
                                               uint64_t opaque) {
  if (const std::optional<kafka::RecordRefusal> refusal =
          refuse_on_produce ? refuse_on_produce(event) : std::nullopt) {
    return kafka::ProduceResult{kafka::ProduceOutcome::kRefused, *refusal,
                                "cannot produce to topic \"" + std::string(event.topic) +
                                    "\": Broker: Message size too large (" +
                                    std::to_string(event.payload.size()) + " bytes of payload)"};
  }
  if (static_cast<size_t>(outq_len()) >= capacity) {
    const auto now = std::chrono::steady_clock::now();
    if (!full_since_) full_since_ = now;
    if (now - *full_since_ > FakeSource::kPatience) {
      return Status::Unavailable("fake sink: full for too long");
    }
    ++queue_full_answers_;
    return kafka::ProduceResult{kafka::ProduceOutcome::kQueueFull, {}, {}};
  }
  full_since_.reset();
  Record record;
  record.topic = event.topic;
  record.key = event.key;
  record.key_is_null = event.key_is_null;
  record.payload = event.payload;
  record.id = event.id;
  record.opaque = opaque;
  // EventSink's contract: a sink that reads the id back from the record
  // (kafka::Publisher) finds event.id as its first "id" header.
  const auto first_id = std::find_if(event.headers.begin(), event.headers.end(),
                                     [](const outbox::EventHeader& h) { return h.name == "id"; });
  if (first_id == event.headers.end() || first_id->value != event.id) {
    ADD_FAILURE() << "record for event " << event.id << " on " << event.topic
                  << " does not carry its id as its first \"id\" header";
  }
  for (const outbox::EventHeader& h : event.headers) {
    record.headers.emplace_back(std::string(h.name),
                                h.is_null ? std::nullopt : std::optional<std::string>(h.value));
  }
  records_.push_back(std::move(record));
  return kafka::ProduceResult{};
}

int FakeSink::Deliver() {
  if (before_reports) before_reports();
  int handed = 0;
  while (!reports_.empty()) {
    const Report report = reports_.front();
    reports_.pop_front();
    Record& r = records_.at(report.index);
    if (r.state != Record::State::kInFlight) continue;
    ++handed;
    switch (report.kind) {
      case Report::kAck:
        r.state = Record::State::kAcked;
        if (handler_ != nullptr) handler_->OnDelivered(r.opaque, r.topic, kInProducer);
        break;
      case Report::kFail:
        r.state = Record::State::kFailed;
        if (handler_ != nullptr) {
          handler_->OnFailed(r.opaque, r.id,
                             Status::Aborted("delivery to topic \"" + r.topic +
                                             "\" failed: Local: Message timed out"));
        }
        break;
      case Report::kRefuse: {
        r.state = Record::State::kRefused;
        if (handler_ == nullptr) break;
        kafka::RefusedRecord refused;
        refused.event_id = r.id;
        refused.topic = r.topic;
        refused.key = r.key;
        refused.key_is_null = r.key_is_null;
        refused.payload_size = r.payload.size();
        refused.payload = r.payload;  // as librdkafka's report carries it
        refused.refusal = report.refusal;
        for (const auto& [name, value] : r.headers) {
          // Views into the record's own strings (a temporary would dangle).
          const std::string_view text = value ? std::string_view(*value) : std::string_view();
          refused.headers.push_back({name, text, !value.has_value()});
        }
        handler_->OnRefused(r.opaque, refused,
                            Status::Aborted("delivery to topic \"" + r.topic +
                                            "\" failed: Broker: Message size too large"));
        break;
      }
    }
  }
  if (auto_ack) {
    // By index: the handler may produce more (dead-letter records) meanwhile.
    for (size_t i = 0; i < records_.size(); ++i) {
      if (records_[i].state != Record::State::kInFlight) continue;
      records_[i].state = Record::State::kAcked;
      ++handed;
      if (handler_ != nullptr) {
        handler_->OnDelivered(records_[i].opaque, records_[i].topic, kInProducer);
      }
    }
  }
  return handed;
}

void FakeSink::Poll(int timeout_ms) {
  if (Deliver() == 0 && timeout_ms > 0) {
    // Nothing to report: wait a little, as librdkafka would (but never long).
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(timeout_ms, 2)));
  }
}

int FakeSink::Flush(std::chrono::milliseconds) {
  Deliver();
  return outq_len();
}

int FakeSink::outq_len() const {
  return static_cast<int>(std::count_if(records_.begin(), records_.end(), [](const Record& r) {
    return r.state == Record::State::kInFlight;
  }));
}

std::vector<std::string> FakeSink::IdsOn(std::string_view topic) const {
  std::vector<std::string> ids;
  for (const Record& r : records_) {
    if (r.topic == topic) ids.push_back(r.id);
  }
  return ids;
}

}  // namespace pgoutbox::core::testing
