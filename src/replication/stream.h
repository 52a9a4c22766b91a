// ReplicationStream: a logical replication stream over a libpq replication
// connection (`replication=database`), in COPY BOTH mode after
// START_REPLICATION SLOT ... LOGICAL ... (proto_version '1',
// publication_names ..., messages 'true').
//
// Reading is non-blocking: TryRead() returns one buffered CopyData message or
// nothing; the caller waits on socket() (e.g. with poll) and calls
// ReadSocket() when it is readable. This lets the streamer read in bursts
// while a backlog lasts and wait on the Kafka wake-up fd at the same time.
//
// Ownership: owns the connection; each CopyMessage owns its libpq buffer.
// Failure: a lost connection or a server error ends the stream with an
// Unavailable (or FailedPrecondition) status carrying the server's message.
// Thread safety: one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/status.h"
#include "common/types.h"
#include "pg/connection.h"
#include "replication/frame.h"

namespace pgoutbox::replication {

// One CopyData message from the server, owning libpq's buffer.
class CopyMessage {
 public:
  CopyMessage() = default;
  CopyMessage(char* data, int size) : data_(data), size_(size) {}
  bool empty() const { return data_ == nullptr; }
  std::span<const uint8_t> bytes() const {
    return {reinterpret_cast<const uint8_t*>(data_.get()), static_cast<size_t>(size_)};
  }

 private:
  struct Free {
    void operator()(char* p) const { PQfreemem(p); }
  };
  std::unique_ptr<char, Free> data_;
  int size_ = 0;
};

struct StartOptions {
  std::string slot;
  std::string publication;
  Lsn start;  // 0/0: from the slot's confirmed position
};

class ReplicationStream {
 public:
  // Connects (adding replication=database) and starts streaming. Errors keep
  // the server's message; `sqlstate`, if given, receives the SQLSTATE of a
  // START_REPLICATION failure (55006: slot in use by another process).
  static Result<std::unique_ptr<ReplicationStream>> Start(const std::string& conninfo,
                                                          const StartOptions& options,
                                                          std::string* sqlstate = nullptr);
  ~ReplicationStream();

  // One buffered message, or an empty CopyMessage if none is buffered.
  // Unavailable once the server ended the stream or the connection broke.
  Result<CopyMessage> TryRead();
  // Reads what the socket has into libpq's buffer (after poll said readable).
  Status ReadSocket();
  int socket() const;

  // Sends a standby status update and flushes it.
  Status SendStatus(const StatusUpdate& update);

  // Ends COPY BOTH cleanly (PQputCopyEnd) and drains the server's results.
  Status Finish();

 private:
  explicit ReplicationStream(std::unique_ptr<pg::PgConnection> conn) : conn_(std::move(conn)) {}
  Status StreamEnded();
  std::unique_ptr<pg::PgConnection> conn_;
  bool finished_ = false;
};

}  // namespace pgoutbox::replication
