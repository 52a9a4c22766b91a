#include "replication/frame.h"

#include <string>

#include "common/text.h"

namespace pgoutbox::replication {

namespace {

uint64_t ReadU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

void WriteU64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
}

constexpr size_t kXLogDataHeader = 1 + 8 + 8 + 8;
constexpr size_t kKeepaliveSize = 1 + 8 + 8 + 1;

}  // namespace

Result<Frame> ParseFrame(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return Status::Corruption("replication: empty CopyData message");
  const uint8_t* p = bytes.data();
  switch (p[0]) {
    case 'w': {
      if (bytes.size() < kXLogDataHeader) {
        return Status::Corruption("replication: XLogData frame of " +
                                  Counted(bytes.size(), "byte") + " is shorter than its header");
      }
      XLogData d;
      d.start = Lsn(ReadU64(p + 1));
      d.wal_end = Lsn(ReadU64(p + 9));
      d.send_time = PgTimestamp(static_cast<int64_t>(ReadU64(p + 17)));
      d.payload = bytes.subspan(kXLogDataHeader);
      return Frame(d);
    }
    case 'k': {
      if (bytes.size() < kKeepaliveSize) {
        return Status::Corruption("replication: keepalive frame of " +
                                  Counted(bytes.size(), "byte") + ", expected " +
                                  std::to_string(kKeepaliveSize));
      }
      Keepalive k;
      k.wal_end = Lsn(ReadU64(p + 1));
      k.send_time = PgTimestamp(static_cast<int64_t>(ReadU64(p + 9)));
      k.reply_requested = p[17] != 0;
      return Frame(k);
    }
    default: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "replication: unknown CopyData frame type 0x%02x", p[0]);
      return Status::Corruption(buf);
    }
  }
}

std::array<uint8_t, kStatusUpdateSize> EncodeStatusUpdate(const StatusUpdate& u) {
  std::array<uint8_t, kStatusUpdateSize> out{};
  out[0] = 'r';
  WriteU64(&out[1], u.written.value());
  WriteU64(&out[9], u.flushed.value());
  WriteU64(&out[17], u.applied.value());
  WriteU64(&out[25], static_cast<uint64_t>(u.now.micros()));
  out[33] = u.reply_requested ? 1 : 0;
  return out;
}

}  // namespace pgoutbox::replication
