#include "kafka/publisher.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

#include "common/text.h"
#include "kafka/producer_guard.h"

namespace pgoutbox::kafka {

namespace {

constexpr std::pair<const char*, const char*> kDefaults[] = {
    {"enable.idempotence", "true"},
    {"acks", "all"},
    {"partitioner", "murmur2_random"},
    {"message.timeout.ms", "0"},
    // What librdkafka sets by itself for the idempotent producer, but only
    // when the producer is created: set here, the value the guard reads
    // (kafka/producer_guard.h) is the one that runs.
    {"max.in.flight.requests.per.connection", "5"},
    // Batches are cut by Send(), which the streamer calls when its pacer
    // says (core/send_pacer.h); linger.ms bounds how long an event waits if
    // the streamer is busy for longer, or if a broker thread wakes only after
    // Send() returned. With linger.ms=0 to 2 a steady stream becomes one
    // request per few events and librdkafka's broker threads spin sending
    // them (docs/performance.md).
    {"linger.ms", "5"},
    // Reconnect within about a second once brokers are back (default 10 s).
    {"reconnect.backoff.max.ms", "1000"},
    {"queue.buffering.max.messages", "100000"},
    {"queue.buffering.max.kbytes", "16384"},
    {"client.id", "pgoutbox"},
};

}  // namespace

Result<std::pair<std::string, std::string>> ParseConfigEntry(const std::string& entry) {
  size_t eq = entry.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::InvalidArgument("-X \"" + entry +
                                   "\" is not a librdkafka property: expected key=value");
  }
  return std::make_pair(entry.substr(0, eq), entry.substr(eq + 1));
}

namespace {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// The defaults, the brokers and the user's properties, in that order, then
// the settings that would break the delivery guarantee refused.
Result<ConfPtr> BuildConf(const PublisherOptions& options) {
  ConfPtr conf(rd_kafka_conf_new());
  char errstr[512];
  auto set = [&](const std::string& k, const std::string& v, bool user) -> Status {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      // A user's value is never repeated: it may be a secret (librdkafka
      // quotes an invalid value of an enumerated property itself).
      return Status::InvalidArgument(user ? "-X " + k + ": " + errstr
                                          : k + "=" + v + ": " + errstr);
    }
    // Files librdkafka reads only when the producer is created: say which
    // one is missing now, before anything else is checked.
    static constexpr const char* kFiles[] = {"ssl.ca.location", "ssl.certificate.location",
                                             "ssl.key.location", "ssl.crl.location",
                                             "ssl.keystore.location"};
    for (const char* file_key : kFiles) {
      if (user && k == file_key && !(k == "ssl.ca.location" && v == "probe") &&
          access(v.c_str(), R_OK) != 0) {
        return Status::InvalidArgument("-X " + k + "=" + v +
                                       ": cannot read: " + std::strerror(errno));
      }
    }
    return Status::Ok();
  };
  for (const auto& [k, v] : kDefaults) RETURN_IF_ERROR(set(k, v, false));
  RETURN_IF_ERROR(set("bootstrap.servers", options.brokers, false));
  for (const auto& [k, v] : options.config) RETURN_IF_ERROR(set(k, v, true));
  RETURN_IF_ERROR(CheckProducerGuarantees(conf.get()));
  return conf;
}

}  // namespace

Status ValidateConfig(const PublisherOptions& options) { return BuildConf(options).status(); }

bool IsKnownProperty(const std::string& key) {
  ConfPtr conf(rd_kafka_conf_new());
  size_t size = 0;
  return rd_kafka_conf_get(conf.get(), key.c_str(), nullptr, &size) != RD_KAFKA_CONF_UNKNOWN;
}

Result<std::unique_ptr<Publisher>> Publisher::Create(const PublisherOptions& options,
                                                     DeliveryHandler* handler) {
  std::unique_ptr<Publisher> p(new Publisher());
  p->handler_ = handler;
  p->brokers_ = options.brokers;
  ASSIGN_OR_RETURN(ConfPtr conf_owner, BuildConf(options));
  char errstr[512];

  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    return Status::Internal(std::string("pipe2: ") + std::strerror(errno));
  }
  p->wake_read_fd_ = fds[0];
  p->wake_write_fd_ = fds[1];

  rd_kafka_conf_t* conf = conf_owner.get();
  rd_kafka_conf_set_opaque(conf, p.get());
  rd_kafka_conf_set_dr_msg_cb(conf, &Publisher::DeliveryReport);
  rd_kafka_conf_set_error_cb(conf, &Publisher::ErrorCallback);
  rd_kafka_conf_set_log_cb(conf, &Publisher::LogCallback);

  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    return Status::InvalidArgument(std::string("cannot create the Kafka producer: ") + errstr);
  }
  conf_owner.release();  // rd_kafka_new took it
  p->rk_.reset(rk);
  rd_kafka_queue_t* mainq = rd_kafka_queue_get_main(rk);
  static const char kByte = 1;
  rd_kafka_queue_io_event_enable(mainq, p->wake_write_fd_, &kByte, 1);
  rd_kafka_queue_destroy(mainq);
  return p;
}

Publisher::~Publisher() {
  topics_.clear();
  rk_.reset();
  if (wake_read_fd_ >= 0) close(wake_read_fd_);
  if (wake_write_fd_ >= 0) close(wake_write_fd_);
}

Status Publisher::CheckReachable(std::chrono::milliseconds timeout,
                                 const std::atomic<int>* stop_requests) {
  // Asked in short slices, so that a stop signal ends the wait at once.
  constexpr std::chrono::milliseconds kSlice{100};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
  for (;;) {
    if (stop_requests != nullptr && stop_requests->load(std::memory_order_relaxed) > 0) {
      return Status::Cancelled("stopped while waiting for the Kafka brokers " + brokers_);
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    const auto slice = std::min(left, kSlice);
    const auto slice_end = std::chrono::steady_clock::now() + slice;
    const struct rd_kafka_metadata* md = nullptr;
    err = rd_kafka_metadata(rk_.get(), 0, nullptr, &md, static_cast<int>(slice.count()));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      int brokers = md->broker_cnt;
      rd_kafka_metadata_destroy(md);
      if (brokers == 0) {
        return Status::Unavailable("the Kafka cluster at " + brokers_ + " reports no brokers");
      }
      return Status::Ok();
    }
    if (err != RD_KAFKA_RESP_ERR__TIMED_OUT && err != RD_KAFKA_RESP_ERR__TRANSPORT) break;
    std::this_thread::sleep_until(slice_end);  // a transport error can come back at once
  }
  return Status::Unavailable("cannot reach the Kafka brokers " + brokers_ + " within " +
                             std::to_string(timeout.count()) + " ms: " + rd_kafka_err2str(err));
}

rd_kafka_topic_t* Publisher::Topic(std::string_view name) {
  topic_scratch_.assign(name);
  auto it = topics_.find(topic_scratch_);
  if (it != topics_.end()) return it->second.get();
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk_.get(), topic_scratch_.c_str(), nullptr);
  if (t == nullptr) return nullptr;
  topics_.emplace(topic_scratch_, std::unique_ptr<rd_kafka_topic_t, TopicDeleter>(t));
  return t;
}

namespace {

ProduceResult Refused(RecordRefusal refusal, std::string message) {
  return ProduceResult{ProduceOutcome::kRefused, refusal, std::move(message)};
}

}  // namespace

Result<ProduceResult> Publisher::Produce(const outbox::Event& event, int64_t timestamp_ms,
                                         uint64_t opaque) {
  rd_kafka_topic_t* topic = Topic(event.topic);
  if (topic == nullptr) {
    return Refused(RecordRefusal::kTopic, "cannot use topic \"" + std::string(event.topic) +
                                              "\": " + rd_kafka_err2str(rd_kafka_last_error()));
  }
  rd_kafka_headers_t* headers = rd_kafka_headers_new(event.headers.size());
  for (const auto& h : event.headers) {
    rd_kafka_header_add(headers, h.name.data(), static_cast<ssize_t>(h.name.size()),
                        h.is_null ? nullptr : h.value.data(),
                        h.is_null ? 0 : static_cast<ssize_t>(h.value.size()));
  }
  rd_kafka_resp_err_t err = rd_kafka_producev(
      rk_.get(), RD_KAFKA_V_RKT(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_KEY(event.key_is_null ? nullptr : event.key.data(),
                     event.key_is_null ? 0 : event.key.size()),
      RD_KAFKA_V_VALUE(event.payload_is_null ? nullptr : const_cast<char*>(event.payload.data()),
                       event.payload_is_null ? 0 : event.payload.size()),
      RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_TIMESTAMP(timestamp_ms),
      RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(opaque))), RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++unsent_;
    return ProduceResult{};
  }
  rd_kafka_headers_destroy(headers);  // ownership passes only on success
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
    return ProduceResult{ProduceOutcome::kQueueFull, {}, {}};
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char reason[512];
    rd_kafka_fatal_error(rk_.get(), reason, sizeof reason);
    fatal_ = Status::Aborted(std::string("Kafka producer fatal error: ") + reason);
    return fatal_;
  }
  if (const std::optional<RecordRefusal> refusal = RefusalOf(err);
      refusal && IsAboutTheRecord(*refusal)) {
    return Refused(*refusal, "cannot produce to topic \"" + std::string(event.topic) +
                                 "\": " + rd_kafka_err2str(err) + " (" +
                                 Counted(event.payload.size(), "byte") + " of payload)");
  }
  return Status::Aborted("event " + std::string(event.id) +
                         " was not delivered: cannot produce to topic \"" +
                         std::string(event.topic) + "\": " + rd_kafka_err2str(err) +
                         "; nothing past it is confirmed, a restart sends it again");
}

void Publisher::DrainWakeup() {
  char buf[256];
  while (read(wake_read_fd_, buf, sizeof buf) > 0) {
  }
}

void Publisher::Poll(int timeout_ms) {
  DrainWakeup();
  rd_kafka_poll(rk_.get(), timeout_ms);
  // Serve whatever else is already waiting without blocking again.
  while (rd_kafka_poll(rk_.get(), 0) > 0) {
  }
}

void Publisher::Send() {
  if (unsent_ == 0) return;
  unsent_ = 0;
  // rd_kafka_flush() makes the broker threads send what is queued without
  // waiting for linger.ms, but only while it runs: it wakes them and waits
  // (1 ms at most, less once everything is acked) so that they see the
  // flag, serving delivery reports meanwhile, on this thread. With no wait
  // they almost never see it; a longer one keeps the loop from reading.
  // A broker thread that wakes later sends the batch after linger.ms.
  DrainWakeup();
  rd_kafka_flush(rk_.get(), 1);
}

int Publisher::Flush(std::chrono::milliseconds timeout) {
  unsent_ = 0;
  DrainWakeup();
  rd_kafka_flush(rk_.get(), static_cast<int>(timeout.count()));
  return rd_kafka_outq_len(rk_.get());
}

int Publisher::outq_len() const { return rd_kafka_outq_len(rk_.get()); }

namespace {

// The event id a delivery report names: the record's first "id" header,
// the one Produce() was given as Event::id (see publisher.h). The first, not
// the last: whatever else the record carries cannot rename the event. Null
// if the record has no id header or a null one.
std::optional<std::string_view> EventIdOf(const rd_kafka_message_t* msg) {
  rd_kafka_headers_t* hdrs = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_header_get(hdrs, 0, "id", &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr) {
    return std::nullopt;
  }
  return std::string_view(static_cast<const char*>(value), size);
}

// One debug line per acknowledged record: what a user needs to find it in
// Kafka (topic, partition, offset) and to tie it to its row (id, key).
void LogDelivered(const rd_kafka_message_t* msg) {
  const std::string_view id = EventIdOf(msg).value_or("(none)");
  std::string_view key = msg->key != nullptr
                             ? std::string_view(static_cast<const char*>(msg->key), msg->key_len)
                             : std::string_view("(null)");
  spdlog::debug("delivered event {} to {} partition {} offset {} key {}", id,
                msg->rkt ? rd_kafka_topic_name(msg->rkt) : "", msg->partition, msg->offset, key);
}

}  // namespace

void Publisher::DeliveryReport(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<Publisher*>(opaque);
  uint64_t tag = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(msg->_private));
  if (msg->err == RD_KAFKA_RESP_ERR__FATAL && self->fatal_.ok()) {
    char buf[512];
    rd_kafka_fatal_error(self->rk_.get(), buf, sizeof buf);
    self->fatal_ = Status::Aborted(std::string("Kafka producer fatal error: ") + buf);
  }
  if (self->handler_ == nullptr) {
    // Nobody to tell: the event is never confirmed, a restart sends it again.
    spdlog::debug("delivery report for tag {} with no handler", tag);
    return;
  }
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (spdlog::should_log(spdlog::level::debug)) LogDelivered(msg);
    self->handler_->OnDelivered(tag, msg->rkt ? rd_kafka_topic_name(msg->rkt) : "",
                                std::chrono::microseconds(rd_kafka_message_latency(msg)));
    return;
  }
  const std::string_view event_id = EventIdOf(msg).value_or("(unknown)");
  std::string topic = msg->rkt ? rd_kafka_topic_name(msg->rkt) : "";
  Status reason =
      Status::Aborted("delivery to topic \"" + topic + "\" failed: " + rd_kafka_err2str(msg->err));
  if (const std::optional<RecordRefusal> refusal = RefusalOf(msg->err)) {
    RefusedRecord record;
    record.event_id = event_id;
    record.topic = topic;
    record.key_is_null = msg->key == nullptr;
    if (msg->key != nullptr) record.key = {static_cast<const char*>(msg->key), msg->key_len};
    record.payload_size = msg->len;
    record.payload_is_null = msg->payload == nullptr;
    if (msg->payload != nullptr) {
      record.payload = {static_cast<const char*>(msg->payload), msg->len};
    }
    rd_kafka_timestamp_type_t timestamp_type;
    const int64_t timestamp = rd_kafka_message_timestamp(msg, &timestamp_type);
    record.timestamp_ms = timestamp_type == RD_KAFKA_TIMESTAMP_CREATE_TIME ? timestamp : 0;
    record.refusal = *refusal;
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) hdrs = nullptr;
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0; hdrs != nullptr && rd_kafka_header_get_all(hdrs, i, &name, &value, &size) ==
                                              RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      record.headers.push_back(outbox::EventHeader{
          name, value ? std::string_view(static_cast<const char*>(value), size) : "",
          value == nullptr});
    }
    self->handler_->OnRefused(tag, record, reason);
    return;
  }
  self->handler_->OnFailed(tag, event_id, reason);
}

void Publisher::ErrorCallback(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<Publisher*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_fatal_error(rk, buf, sizeof buf);
    self->fatal_ = Status::Aborted(std::string("Kafka producer fatal error: ") + buf);
    spdlog::error("{}", self->fatal_.message());
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && self->handler_ != nullptr) {
    self->handler_->OnBrokersDown();
  }
  // Transient errors: librdkafka retries by itself. Log at most every 5 s.
  auto now = std::chrono::steady_clock::now();
  if (now - self->last_error_log_ >= std::chrono::seconds(5)) {
    self->last_error_log_ = now;
    spdlog::warn("kafka: {} (librdkafka retries)", reason);
  } else {
    spdlog::debug("kafka: {}", reason);
  }
}

void Publisher::LogCallback(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  // Connection problems are reported once through ErrorCallback; keep
  // librdkafka's own chatter at debug level unless it is critical.
  if (level <= 2) {
    spdlog::error("librdkafka {}: {}", fac, buf);
  } else {
    spdlog::debug("librdkafka {}: {}", fac, buf);
  }
}

}  // namespace pgoutbox::kafka
