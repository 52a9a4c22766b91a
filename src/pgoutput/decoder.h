// The pgoutput decoder: a pure function from the bytes of one pgoutput
// message (the payload of one XLogData frame) to a Message.
//
// No I/O, no globals. Every read advances a cursor and fails on truncation.
// Anything that is not a complete, well-formed protocol-version-1 message
// (unknown tag, truncated field, unterminated string, bad tuple kind, bytes
// left over) is a Corruption status whose message names the message type and
// the byte offset, e.g.
//   "pgoutput: truncated Insert message at offset 7: need 4 bytes, have 2".
//
// Thread safety: reentrant.
#pragma once

#include <cstdint>
#include <span>

#include "common/status.h"
#include "pgoutput/messages.h"

namespace pgoutbox::pgoutput {

// Decodes exactly one message occupying all of `bytes`.
// On success stores it in *out (string views point into `bytes`) and returns
// OK. On failure returns Corruption and leaves *out unspecified.
Status Decode(std::span<const uint8_t> bytes, Message* out);

// Whether `bytes` hold an Insert message, by its tag alone (whether it decodes
// is Decode's to say). Lets a caller pick the decode target before decoding.
bool IsInsert(std::span<const uint8_t> bytes);

// The name of a pgoutput message tag ('B' -> "Begin"), or "unknown".
const char* MessageTypeName(uint8_t tag);

}  // namespace pgoutbox::pgoutput
