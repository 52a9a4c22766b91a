#include "tools/bench/relay.h"

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <poll.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <variant>

#include "outbox/mapper.h"
#include "pgoutput/decoder.h"
#include "replication/frame.h"

namespace pgoutbox::bench {

namespace {

using Clock = std::chrono::steady_clock;

struct ConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgResultDeleter {
  void operator()(PGresult* res) const { PQclear(res); }
};
struct PgFree {
  void operator()(char* p) const { PQfreemem(p); }
};
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct ProducerDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* h) const { rd_kafka_headers_destroy(h); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;
using ProducerPtr = std::unique_ptr<rd_kafka_t, ProducerDeleter>;

// One transaction: the end of its commit record once its Commit arrived,
// and how many of its records still wait for their ack.
struct Transaction {
  Lsn end;
  bool committed = false;
  uint64_t unacked = 0;
};

// What the loop and the delivery report callback share.
struct Session {
  std::deque<Transaction> transactions;  // in commit order
  uint64_t first_seq = 0;                // sequence number of transactions.front()
  Lsn confirmed;
  Lsn server_end;  // the latest keepalive's WAL end
  bool reply_requested = false;
  Clock::time_point last_status;
  uint64_t events = 0, acked = 0;
  Status failure;
};

// A record's delivery report (served by rd_kafka_poll and rd_kafka_flush).
// Its opaque is the sequence number of its transaction.
void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* s = static_cast<Session*>(opaque);
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (s->failure.ok()) {
      s->failure = Status::Unavailable(std::string("a record was not delivered: ") +
                                       rd_kafka_err2str(m->err));
    }
    return;
  }
  ++s->acked;
  --s->transactions[reinterpret_cast<uintptr_t>(m->_private) - s->first_seq].unacked;
}

// Pops the fully acknowledged transactions at the front.
void AdvanceConfirmed(Session* s) {
  while (!s->transactions.empty() && s->transactions.front().committed &&
         s->transactions.front().unacked == 0) {
    s->confirmed = s->transactions.front().end;
    s->transactions.pop_front();
    ++s->first_seq;
  }
}

Result<ProducerPtr> MakeProducer(const RelayOptions& o, Session* session) {
  std::vector<std::pair<std::string, std::string>> settings = {{"bootstrap.servers", o.brokers},
                                                               {"enable.idempotence", "true"},
                                                               {"acks", "all"},
                                                               {"linger.ms", "5"}};
  settings.insert(settings.end(), o.config.begin(), o.config.end());
  std::unique_ptr<rd_kafka_conf_t, ConfDeleter> conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
      return Status::InvalidArgument("librdkafka property " + key + ": " + err);
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf.get(), OnDelivery);
  rd_kafka_conf_set_opaque(conf.get(), session);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err);
  if (rk == nullptr)
    return Status::InvalidArgument(std::string("cannot create a producer: ") + err);
  conf.release();  // rd_kafka_new took it
  return ProducerPtr(rk);
}

Result<ConnPtr> StartReplication(const RelayOptions& o) {
  const char* keys[] = {"dbname", "replication", nullptr};
  const char* values[] = {o.conninfo.c_str(), "database", nullptr};
  ConnPtr conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Status::Unavailable(std::string("cannot connect: ") + PQerrorMessage(conn.get()));
  }
  std::unique_ptr<char, PgFree> slot(PQescapeIdentifier(conn.get(), o.slot.c_str(), o.slot.size()));
  std::unique_ptr<char, PgFree> publication(
      PQescapeLiteral(conn.get(), o.publication.c_str(), o.publication.size()));
  if (!slot || !publication) return Status::InvalidArgument(PQerrorMessage(conn.get()));
  const std::string sql = std::string("START_REPLICATION SLOT ") + slot.get() +
                          " LOGICAL 0/0 (proto_version '1', publication_names " +
                          publication.get() + ")";
  std::unique_ptr<PGresult, PgResultDeleter> res(PQexec(conn.get(), sql.c_str()));
  if (PQresultStatus(res.get()) != PGRES_COPY_BOTH) {
    return Status::Unavailable(sql + ": " + PQerrorMessage(conn.get()));
  }
  return conn;
}

// Produces one record, waiting while librdkafka's queue is full.
Status Produce(rd_kafka_t* rk, const outbox::Event& e, uint64_t seq) {
  std::unique_ptr<rd_kafka_headers_t, HeadersDeleter> headers(
      rd_kafka_headers_new(e.headers.size()));
  for (const outbox::EventHeader& h : e.headers) {
    rd_kafka_header_add(headers.get(), h.name.data(), static_cast<ssize_t>(h.name.size()),
                        h.is_null ? nullptr : h.value.data(), h.is_null ? 0 : h.value.size());
  }
  const std::string topic(e.topic);
  for (;;) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(e.key_is_null ? nullptr : e.key.data(), e.key.size()),
        RD_KAFKA_V_VALUE(e.payload_is_null ? nullptr : const_cast<char*>(e.payload.data()),
                         e.payload.size()),
        RD_KAFKA_V_HEADERS(headers.get()),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(seq))), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      headers.release();  // the record owns them now
      return Status::Ok();
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return Status::Unavailable("producing to " + topic + ": " + rd_kafka_err2str(err));
    }
    rd_kafka_poll(rk, 100);
  }
}

// One CopyData message from the server: a keepalive, or a pgoutput message.
Status HandleMessage(std::span<const uint8_t> bytes, Session* s, outbox::EventMapper* mapper,
                     rd_kafka_t* rk) {
  ASSIGN_OR_RETURN(replication::Frame frame, replication::ParseFrame(bytes));
  if (const auto* k = std::get_if<replication::Keepalive>(&frame)) {
    s->server_end = std::max(s->server_end, k->wal_end);
    s->reply_requested = s->reply_requested || k->reply_requested;
    return Status::Ok();
  }
  pgoutput::Message message;
  RETURN_IF_ERROR(pgoutput::Decode(std::get<replication::XLogData>(frame).payload, &message));
  if (std::holds_alternative<pgoutput::Begin>(message)) {
    s->transactions.push_back({});
    return Status::Ok();
  }
  if (const auto* r = std::get_if<pgoutput::Relation>(&message)) return mapper->OnRelation(*r);
  const auto* insert = std::get_if<pgoutput::Insert>(&message);
  const auto* commit = std::get_if<pgoutput::Commit>(&message);
  if (!insert && !commit) return Status::Ok();
  if (s->transactions.empty() || s->transactions.back().committed) {
    return Status::Corruption("an Insert or Commit outside a transaction");
  }
  Transaction& tx = s->transactions.back();
  if (commit) {
    tx.end = commit->end_lsn;
    tx.committed = true;
    return Status::Ok();
  }
  outbox::Event event;
  RETURN_IF_ERROR(mapper->Map(*insert, &event));
  ++tx.unacked;  // before producing: the poll in Produce may serve its ack
  ++s->events;
  RETURN_IF_ERROR(Produce(rk, event, s->first_seq + s->transactions.size() - 1));
  rd_kafka_poll(rk, 0);
  return Status::Ok();
}

// A standby status update confirming what is acknowledged.
Status SendStatus(PGconn* conn, Session* s) {
  replication::StatusUpdate update;
  update.written = update.flushed = update.applied = s->confirmed;
  update.now = PgTimestamp::FromUnixMicros(std::chrono::duration_cast<std::chrono::microseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
  const auto bytes = replication::EncodeStatusUpdate(update);
  if (PQputCopyData(conn, reinterpret_cast<const char*>(bytes.data()),
                    static_cast<int>(bytes.size())) != 1 ||
      PQflush(conn) != 0) {
    return Status::Unavailable(std::string("sending a status update: ") + PQerrorMessage(conn));
  }
  s->last_status = Clock::now();
  s->reply_requested = false;
  return Status::Ok();
}

Status Loop(const RelayOptions& o, const std::function<bool()>& stop, PGconn* conn, Session* s,
            outbox::EventMapper* mapper, rd_kafka_t* rk) {
  while (!stop()) {
    for (;;) {
      char* raw = nullptr;
      const int n = PQgetCopyData(conn, &raw, /*async=*/1);
      if (n == 0) break;
      if (n < 0) {
        return Status::Unavailable(std::string("replication stream ended: ") +
                                   PQerrorMessage(conn));
      }
      std::unique_ptr<char, PgFree> buffer(raw);
      RETURN_IF_ERROR(HandleMessage(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(raw), n), s, mapper, rk));
    }
    rd_kafka_poll(rk, 0);
    RETURN_IF_ERROR(s->failure);
    AdvanceConfirmed(s);
    if (s->reply_requested || Clock::now() - s->last_status >= o.status_interval) {
      RETURN_IF_ERROR(SendStatus(conn, s));
    }
    if (o.end_lsn.valid() && s->transactions.empty() &&
        std::max(s->confirmed, s->server_end) >= o.end_lsn) {
      break;
    }
    // 100 ms at most, so that acks are confirmed and stop() is seen soon.
    pollfd fd{PQsocket(conn), POLLIN, 0};
    ::poll(&fd, 1, 100);
    if (PQconsumeInput(conn) == 0) {
      return Status::Unavailable(std::string("replication connection lost: ") +
                                 PQerrorMessage(conn));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<RelayResult> Relay(const RelayOptions& options, const std::function<void()>& ready,
                          const std::function<bool()>& stop) {
  const auto started = Clock::now();
  outbox::MapperOptions mapping;
  mapping.topic_template = options.topic_template;
  ASSIGN_OR_RETURN(auto mapper, outbox::EventMapper::Create(mapping));
  Session session;
  ASSIGN_OR_RETURN(ProducerPtr producer, MakeProducer(options, &session));
  ASSIGN_OR_RETURN(ConnPtr conn, StartReplication(options));
  ready();
  session.last_status = Clock::now();

  Status streamed = Loop(options, stop, conn.get(), &session, mapper.get(), producer.get());
  // Whatever happened, confirm what the broker has.
  rd_kafka_flush(producer.get(), 30000);
  AdvanceConfirmed(&session);
  if (PQstatus(conn.get()) == CONNECTION_OK && SendStatus(conn.get(), &session).ok()) {
    PQputCopyEnd(conn.get(), nullptr);
    PQflush(conn.get());
  }
  RETURN_IF_ERROR(streamed);
  RETURN_IF_ERROR(session.failure);
  if (const int left = rd_kafka_outq_len(producer.get()); left > 0) {
    return Status::Aborted(std::to_string(left) + " records not acknowledged after 30 s");
  }
  RelayResult result;
  result.events = session.events;
  result.acked = session.acked;
  result.confirmed = session.confirmed;
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return result;
}

}  // namespace pgoutbox::bench
