// libFuzzer target: CopyData framing (XLogData 'w', keepalive 'k') and, for
// XLogData, the pgoutput message it carries.
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "pgoutput/decoder.h"
#include "replication/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto frame = pgoutbox::replication::ParseFrame(std::span<const uint8_t>(data, size));
  if (!frame.ok()) return 0;
  if (auto* x = std::get_if<pgoutbox::replication::XLogData>(&*frame)) {
    // The payload must lie inside the input.
    if (!x->payload.empty() &&
        (x->payload.data() < data || x->payload.data() + x->payload.size() > data + size)) {
      __builtin_trap();
    }
    pgoutbox::pgoutput::Message message;
    (void)pgoutbox::pgoutput::Decode(x->payload, &message);
  }
  return 0;
}
