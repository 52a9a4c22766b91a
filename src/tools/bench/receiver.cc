#include "tools/bench/receiver.h"

#include <thread>

#include "pgoutput/byte_reader.h"
#include "replication/frame.h"
#include "replication/stream.h"

namespace pgoutbox::bench {

Result<ReceiveResult> Receive(const ReceiveOptions& options) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  replication::StartOptions start;
  start.slot = options.slot;
  start.publication = options.publication;
  ASSIGN_OR_RETURN(auto stream, replication::ReplicationStream::Start(options.conninfo, start));

  ReceiveResult result;
  bool in_transaction = false;
  bool done = false;
  Lsn received;
  auto last_feedback = Clock::now();
  auto handle = [&](const replication::CopyMessage& message) -> Status {
    ASSIGN_OR_RETURN(replication::Frame frame, replication::ParseFrame(message.bytes()));
    if (auto* k = std::get_if<replication::Keepalive>(&frame)) {
      if (!in_transaction && k->wal_end >= options.end_lsn) done = true;
      if (k->reply_requested) last_feedback = Clock::time_point{};
      return Status::Ok();
    }
    const auto& data = std::get<replication::XLogData>(frame);
    ++result.messages;
    result.bytes += data.payload.size();
    if (data.payload.empty()) return Status::Ok();
    received = std::max(received, data.start);
    switch (data.payload[0]) {
      case 'B':
        in_transaction = true;
        break;
      case 'I':
        ++result.events;
        break;
      case 'M': {
        // 'M', flags (1: transactional), message LSN (8), prefix (C string),
        // then the content, which is not read.
        pgoutput::ByteReader in(data.payload);
        std::string_view skipped, prefix;
        uint8_t flags = 0;
        if (!in.ReadBytes(1, &skipped) || !in.ReadU8(&flags) || !in.ReadBytes(8, &skipped) ||
            !in.ReadCString(&prefix)) {
          return Status::Corruption("short logical decoding message");
        }
        if ((flags & 1) != 0 && prefix == options.message_prefix) {
          ++result.events;
          ++result.event_messages;
        }
        break;
      }
      case 'C': {
        // 'C', flags (1), commit LSN (8), end LSN (8), commit time (8).
        pgoutput::ByteReader in(data.payload);
        std::string_view skipped;
        uint64_t end = 0;
        if (!in.ReadBytes(10, &skipped) || !in.ReadU64(&end)) {
          return Status::Corruption("short Commit message");
        }
        in_transaction = false;
        if (Lsn(end) >= options.end_lsn) done = true;
        break;
      }
      default:
        break;
    }
    return Status::Ok();
  };

  while (!done) {
    // Everything buffered, then whatever the socket holds without waiting.
    bool got = false;
    for (;;) {
      ASSIGN_OR_RETURN(auto message, stream->TryRead());
      if (message.empty()) break;
      got = true;
      RETURN_IF_ERROR(handle(message));
      if (done) break;
    }
    if (done) break;
    if (Clock::now() - last_feedback >= std::chrono::seconds(10)) {
      replication::StatusUpdate update;
      update.written = received;
      RETURN_IF_ERROR(stream->SendStatus(update));
      last_feedback = Clock::now();
    }
    if (!got) std::this_thread::sleep_for(options.nap);
    RETURN_IF_ERROR(stream->ReadSocket());
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  (void)stream->Finish();
  return result;
}

}  // namespace pgoutbox::bench
