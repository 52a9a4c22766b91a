// libFuzzer target: the pgoutput decoder on any bytes. It must return a
// status (never crash, hang or read out of bounds), and a decoded message
// must be reusable as the target of the next decode.
#include <cstddef>
#include <cstdint>
#include <span>

#include "pgoutput/decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static pgoutbox::pgoutput::Message reused;  // the streamer reuses its target too
  std::span<const uint8_t> bytes(data, size);
  pgoutbox::pgoutput::Message fresh;
  pgoutbox::Status a = pgoutbox::pgoutput::Decode(bytes, &fresh);
  pgoutbox::Status b = pgoutbox::pgoutput::Decode(bytes, &reused);
  if (a.ok() != b.ok()) __builtin_trap();  // reuse must not change the outcome
  return 0;
}
