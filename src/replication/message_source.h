// MessageSource: what the streaming loop reads replication messages from and
// sends its status updates to. ReplicationStream is the real one (libpq);
// tests put a fake in its place to drive the loop without a server.
//
// Reading is non-blocking: TryRead() returns one buffered CopyData message
// or nothing; the caller waits on socket() (e.g. with poll) and calls
// ReadSocket() when it is readable.
//
// Failure: a source that ended (the server closed the stream, the
// connection broke) answers Unavailable from then on; the caller reconnects
// with a new source.
// Thread safety: one thread for every call.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>

#include "common/status.h"
#include "replication/frame.h"

namespace pgoutbox::replication {

// One CopyData message from the server, owning its buffer (libpq's, freed
// with PQfreemem) or borrowing bytes its maker keeps alive (Borrowed).
class CopyMessage {
 public:
  CopyMessage() = default;
  // Takes a buffer libpq allocated (PQgetCopyData).
  CopyMessage(char* data, int size) : data_(data, &Free), size_(size) {}
  // Views `bytes`, which must stay alive and unchanged while the message is.
  static CopyMessage Borrowed(std::span<const uint8_t> bytes) {
    CopyMessage message;
    message.data_ = Buffer(reinterpret_cast<char*>(const_cast<uint8_t*>(bytes.data())), &Keep);
    message.size_ = static_cast<int>(bytes.size());
    return message;
  }
  bool empty() const { return data_ == nullptr; }
  std::span<const uint8_t> bytes() const {
    return {reinterpret_cast<const uint8_t*>(data_.get()), static_cast<size_t>(size_)};
  }

 private:
  static void Free(char* p) { PQfreemem(p); }
  static void Keep(char*) {}
  using Buffer = std::unique_ptr<char, void (*)(char*)>;
  Buffer data_{nullptr, &Keep};
  int size_ = 0;
};

class MessageSource {
 public:
  virtual ~MessageSource() = default;

  // One buffered message, or an empty CopyMessage if none is buffered.
  // Unavailable once the stream ended or the connection broke.
  virtual Result<CopyMessage> TryRead() = 0;
  // Reads what the socket has into the buffer (after poll said readable).
  virtual Status ReadSocket() = 0;
  // The descriptor to poll() for readability; -1 if there is none.
  virtual int socket() const = 0;

  // Sends a standby status update and flushes it.
  virtual Status SendStatus(const StatusUpdate& update) = 0;

  // Ends the stream cleanly (the server gets the last status update first).
  // Does not wait for ever on a connection that went silent.
  virtual Status Finish() = 0;

  // How long the server may stay silent (no message, no keepalive) before
  // the stream counts as broken; the reader asks for a keepalive when half
  // of it has passed. Zero: no such bound (a source without a server).
  virtual std::chrono::milliseconds receive_timeout() const { return {}; }
};

}  // namespace pgoutbox::replication
