#include "replication/stream.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>

#include "pg/catalog.h"
#include "pg/delivered_mark.h"

namespace pgoutbox::replication {

bool IsTransientStartFailure(const std::string& sqlstate, const std::string& message,
                             const std::string& detail) {
  // cannot_connect_now (starting up, shutting down, in recovery mode) and
  // admin_shutdown: the server is going away or not there yet.
  if (sqlstate == "57P03" || sqlstate == "57P01") return true;
  if (sqlstate != "55000") return false;
  // object_not_in_prerequisite_state is also an invalidated slot or
  // wal_level: only these messages mean "not now". A synced slot on a
  // standby (17+) is usable once the standby is promoted; a server in
  // recovery (14, 15) refuses logical decoding until then.
  for (const char* transient :
       {"being synchronized from the primary", "while in recovery", "recovery is in progress"}) {
    if (detail.find(transient) != std::string::npos ||
        message.find(transient) != std::string::npos) {
      return true;
    }
  }
  return false;
}

std::chrono::milliseconds ReceiveTimeout(std::chrono::milliseconds wal_sender_timeout) {
  const std::chrono::milliseconds base =
      wal_sender_timeout.count() > 0 ? wal_sender_timeout : std::chrono::milliseconds(60000);
  return std::max(base + base / 4, kMinReceiveTimeout);
}

Result<std::unique_ptr<ReplicationStream>> ReplicationStream::Start(const std::string& conninfo,
                                                                    const StartOptions& options,
                                                                    std::string* sqlstate) {
  ASSIGN_OR_RETURN(auto conn, pg::PgConnection::Connect(
                                  conninfo, pg::PgConnection::Kind::kReplication, "pgoutbox"));
  // Which server this is, before streaming: a failover or another cluster
  // under the same conninfo shows here.
  auto identity = pg::IdentifySystem(*conn);
  if (!identity.ok()) {
    return Status::Unavailable("IDENTIFY_SYSTEM failed: " + identity.status().message());
  }
  // How long the server tolerates silence, for the reader's bound: the
  // default if the server cannot say.
  std::chrono::milliseconds wal_sender_timeout{60000};
  if (auto timeout = pg::WalSenderTimeout(*conn); timeout.ok()) {
    wal_sender_timeout = *timeout;
  } else if (PQstatus(conn->get()) == CONNECTION_BAD) {
    return Status::Unavailable("SHOW wal_sender_timeout failed: " + timeout.status().message());
  }
  std::string pubs = conn->QuoteLiteral(conn->QuoteIdentifier(options.publication));
  std::string sql = "START_REPLICATION SLOT " + conn->QuoteIdentifier(options.slot) + " LOGICAL " +
                    options.start.ToString() + " (proto_version '1', publication_names " + pubs +
                    ", messages 'true')";
  pg::ResultPtr res(PQexec(conn->get(), sql.c_str()));
  if (!res || PQresultStatus(res.get()) != PGRES_COPY_BOTH) {
    std::string msg = res ? pg::TrimMessage(PQresultErrorMessage(res.get())) : conn->LastError();
    auto field = [&](int code) {
      const char* value = res ? PQresultErrorField(res.get(), code) : nullptr;
      return std::string(value != nullptr ? value : "");
    };
    const std::string state = field(PG_DIAG_SQLSTATE);
    if (sqlstate != nullptr) *sqlstate = state;
    if (state == "55006") {
      return Status::Unavailable("replication slot \"" + options.slot + "\" is in use: " + msg);
    }
    if (PQstatus(conn->get()) == CONNECTION_BAD ||
        IsTransientStartFailure(state, field(PG_DIAG_MESSAGE_PRIMARY),
                                field(PG_DIAG_MESSAGE_DETAIL))) {
      return Status::Unavailable("START_REPLICATION on slot \"" + options.slot +
                                 "\" failed: " + msg);
    }
    return Status::FailedPrecondition("START_REPLICATION on slot \"" + options.slot +
                                      "\" failed: " + msg);
  }
  auto stream = std::unique_ptr<ReplicationStream>(new ReplicationStream(std::move(conn)));
  stream->identity_ = std::move(*identity);
  stream->wal_sender_timeout_ = wal_sender_timeout;
  return stream;
}

ReplicationStream::~ReplicationStream() {
  // PQfinish sends a Terminate message: on a dead connection with a full
  // send buffer a blocking connection would wait for ever.
  if (conn_ != nullptr) PQsetnonblocking(conn_->get(), 1);
}

std::string ReplicationStream::server() const {
  const char* host = PQhost(conn_->get());
  const char* port = PQport(conn_->get());
  std::string out = host != nullptr ? host : "?";
  if (port != nullptr && *port != '\0') out += ":" + std::string(port);
  return out;
}

int ReplicationStream::socket() const { return PQsocket(conn_->get()); }

Status ReplicationStream::StreamEnded() {
  // The server ended COPY (or the connection broke): report why.
  pg::ResultPtr res(PQgetResult(conn_->get()));
  std::string msg;
  if (res && PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    msg = pg::TrimMessage(PQresultErrorMessage(res.get()));
  }
  if (msg.empty()) msg = conn_->LastError();
  if (msg.empty()) msg = "the server ended the replication stream";
  finished_ = true;
  return Status::Unavailable("replication stream ended: " + msg);
}

Result<CopyMessage> ReplicationStream::TryRead() {
  char* buf = nullptr;
  int n = PQgetCopyData(conn_->get(), &buf, 1);
  if (n > 0) return CopyMessage(buf, n);
  if (n == 0) return CopyMessage();
  if (buf != nullptr) PQfreemem(buf);
  if (n == -1) return StreamEnded();
  finished_ = true;
  return Status::Unavailable("replication connection lost: " + conn_->LastError());
}

Status ReplicationStream::ReadSocket() {
  if (PQconsumeInput(conn_->get()) == 0) {
    return Status::Unavailable("replication connection lost: " + conn_->LastError());
  }
  return Status::Ok();
}

Status ReplicationStream::SendStatus(const StatusUpdate& update) {
  auto bytes = EncodeStatusUpdate(update);
  if (PQputCopyData(conn_->get(), reinterpret_cast<const char*>(bytes.data()),
                    static_cast<int>(bytes.size())) <= 0 ||
      PQflush(conn_->get()) != 0) {
    return Status::Unavailable("cannot send a status update: " + conn_->LastError());
  }
  return Status::Ok();
}

bool ReplicationStream::WaitForSocket(bool write, std::chrono::milliseconds timeout) const {
  pollfd fd{PQsocket(conn_->get()), static_cast<short>(POLLIN | (write ? POLLOUT : 0)), 0};
  if (fd.fd < 0) return false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    const int r = poll(&fd, 1, static_cast<int>(left.count()));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

Status ReplicationStream::Finish() {
  if (finished_) return Status::Ok();
  finished_ = true;
  // Non-blocking from here: a server that went silent ends the wait after
  // receive_timeout() without a byte, not the kernel's retransmission
  // timeout.
  PGconn* conn = conn_->get();
  const std::chrono::milliseconds patience = receive_timeout();
  auto silent = [&] {
    return Status::Unavailable("cannot end the replication stream: no answer from the server in " +
                               std::to_string(patience.count() / 1000) + " s");
  };
  if (PQsetnonblocking(conn, 1) != 0 || PQputCopyEnd(conn, nullptr) <= 0) {
    return Status::Unavailable("cannot end the replication stream: " + conn_->LastError());
  }
  for (;;) {
    const int flushed = PQflush(conn);
    if (flushed == 0) break;
    if (flushed < 0) {
      return Status::Unavailable("cannot end the replication stream: " + conn_->LastError());
    }
    if (!WaitForSocket(/*write=*/true, patience)) return silent();
    if (PQconsumeInput(conn) == 0) {
      return Status::Unavailable("cannot end the replication stream: " + conn_->LastError());
    }
  }
  // Drain: remaining CopyData, then the results of the COPY and the command.
  for (;;) {
    char* buf = nullptr;
    const int n = PQgetCopyData(conn, &buf, 1);
    if (buf != nullptr) PQfreemem(buf);
    if (n > 0) continue;
    if (n < 0) break;
    if (!WaitForSocket(/*write=*/false, patience)) return silent();
    if (PQconsumeInput(conn) == 0) break;  // PQgetCopyData reports it
  }
  for (;;) {
    while (PQisBusy(conn) != 0) {
      if (!WaitForSocket(/*write=*/false, patience)) return silent();
      if (PQconsumeInput(conn) == 0) return Status::Ok();  // the server closed it
    }
    PGresult* r = PQgetResult(conn);
    if (r == nullptr) break;
    PQclear(r);
  }
  return Status::Ok();
}

}  // namespace pgoutbox::replication
