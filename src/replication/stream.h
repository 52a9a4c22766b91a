// ReplicationStream: a logical replication stream over a libpq replication
// connection (`replication=database`), in COPY BOTH mode after
// START_REPLICATION SLOT ... LOGICAL ... (proto_version '1',
// publication_names ..., messages 'true').
//
// Reading is non-blocking: TryRead() returns one buffered CopyData message or
// nothing; the caller waits on socket() (e.g. with poll) and calls
// ReadSocket() when it is readable. This lets the streamer read in bursts
// while a backlog lasts and wait on the Kafka wake-up fd at the same time.
// It is the streaming loop's MessageSource.
//
// Ownership: owns the connection; each CopyMessage owns its libpq buffer.
// Failure: a lost connection or a server error ends the stream with an
// Unavailable (or FailedPrecondition) status carrying the server's message.
// A connection that dies without a word (a peer or a middlebox gone) is
// found by the reader's receive timeout (receive_timeout(), from the
// server's wal_sender_timeout) and by TCP keepalives (pg::PgConnection).
// Thread safety: one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/status.h"
#include "common/types.h"
#include "pg/connection.h"
#include "pg/delivered_mark.h"
#include "replication/frame.h"
#include "replication/message_source.h"

namespace pgoutbox::replication {

struct StartOptions {
  std::string slot;
  std::string publication;
  Lsn start;  // 0/0: from the slot's confirmed position
};

// Whether a failed START_REPLICATION means "not now" (the server is shutting
// down, starting up or in recovery, or the slot is a synced slot that a
// standby being promoted cannot use yet: a retry with backoff can succeed)
// rather than something a retry cannot heal (the slot missing or
// invalidated, permissions). From the error's SQLSTATE, primary message and
// detail. Pure.
bool IsTransientStartFailure(const std::string& sqlstate, const std::string& message,
                             const std::string& detail);

// The longest a server whose wal_sender_timeout is `wal_sender_timeout`
// stays silent on a live connection when asked for a keepalive at half of
// it: 1.25 times wal_sender_timeout, so that the server (which ends a
// walsender whose client was silent for wal_sender_timeout) has given up on
// the dead connection, and released the slot, by the time the reader
// reconnects; 60 s (PostgreSQL's default) times 1.25 when the server has no
// timeout (0); never below kMinReceiveTimeout. Pure.
inline constexpr std::chrono::milliseconds kMinReceiveTimeout{5000};
std::chrono::milliseconds ReceiveTimeout(std::chrono::milliseconds wal_sender_timeout);

class ReplicationStream : public MessageSource {
 public:
  // Connects (adding replication=database) and starts streaming. Errors keep
  // the server's message; `sqlstate`, if given, receives the SQLSTATE of a
  // START_REPLICATION failure (55006: slot in use by another process).
  // Unavailable when a retry can succeed: the connection failed or broke,
  // the slot is in use, or IsTransientStartFailure; FailedPrecondition
  // otherwise.
  static Result<std::unique_ptr<ReplicationStream>> Start(const std::string& conninfo,
                                                          const StartOptions& options,
                                                          std::string* sqlstate = nullptr);
  ~ReplicationStream() override;

  // One buffered message, or an empty CopyMessage if none is buffered.
  // Unavailable once the server ended the stream or the connection broke.
  Result<CopyMessage> TryRead() override;
  // Reads what the socket has into libpq's buffer (after poll said readable).
  Status ReadSocket() override;
  int socket() const override;

  // The server streamed from (IDENTIFY_SYSTEM, run before START_REPLICATION):
  // its system identifier and timeline.
  const pg::ServerIdentity& identity() const { return identity_; }

  // Sends a standby status update and flushes it.
  Status SendStatus(const StatusUpdate& update) override;

  // Ends COPY BOTH cleanly (PQputCopyEnd) and drains the server's results,
  // without blocking: Unavailable once the connection stayed silent for
  // receive_timeout().
  Status Finish() override;

  // The server's wal_sender_timeout, read when the stream started, and the
  // bound derived from it (ReceiveTimeout).
  std::chrono::milliseconds wal_sender_timeout() const { return wal_sender_timeout_; }
  std::chrono::milliseconds receive_timeout() const override {
    return ReceiveTimeout(wal_sender_timeout_);
  }

  // The server this stream is connected to, "host:port" as libpq chose it
  // (with several hosts in the conninfo, the one that accepted).
  std::string server() const;

 private:
  explicit ReplicationStream(std::unique_ptr<pg::PgConnection> conn) : conn_(std::move(conn)) {}
  Status StreamEnded();
  // Waits up to `timeout` for the socket to be readable (and writable, if
  // `write`); false on timeout or error.
  bool WaitForSocket(bool write, std::chrono::milliseconds timeout) const;
  pg::ServerIdentity identity_;
  std::chrono::milliseconds wal_sender_timeout_{60000};
  std::unique_ptr<pg::PgConnection> conn_;
  bool finished_ = false;
};

}  // namespace pgoutbox::replication
