// The framing of the streaming replication protocol inside CopyBoth: parsing
// the server's XLogData ('w') and primary keepalive ('k') frames, and building
// the client's standby status update ('r'). Pure functions over bytes.
//
// Thread safety: reentrant.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <variant>

#include "common/status.h"
#include "common/types.h"

namespace pgoutbox::replication {

struct XLogData {  // 'w'
  Lsn start;       // WAL position of the data
  Lsn wal_end;     // server's WAL end when sent
  PgTimestamp send_time;
  std::span<const uint8_t> payload;  // one pgoutput message; points into the frame
};

struct Keepalive {  // 'k'
  Lsn wal_end;
  PgTimestamp send_time;
  bool reply_requested = false;
};

using Frame = std::variant<XLogData, Keepalive>;

// Parses one CopyData message from the server. Unknown frame types and short
// frames are Corruption errors naming the type and length.
Result<Frame> ParseFrame(std::span<const uint8_t> bytes);

constexpr size_t kStatusUpdateSize = 1 + 8 + 8 + 8 + 8 + 1;

struct StatusUpdate {
  Lsn written;
  Lsn flushed;  // becomes the slot's confirmed_flush_lsn
  Lsn applied;
  PgTimestamp now;
  bool reply_requested = false;
};

// Encodes an 'r' standby status update.
std::array<uint8_t, kStatusUpdateSize> EncodeStatusUpdate(const StatusUpdate& update);

}  // namespace pgoutbox::replication
