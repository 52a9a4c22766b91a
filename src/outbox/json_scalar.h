// JSON scalars as pgoutbox reads them from a headers column or a message's
// content (simdjson's on-demand parser gives a number's or a literal's raw
// token without checking it): the type's name for messages, the raw token's
// trailing whitespace trimmed, and JSON's number grammar.
//
// Thread safety: pure functions.
#pragma once

#include <simdjson.h>

#include <string_view>

namespace pgoutbox::outbox {

// "an array", "an object", "a number", "a string", "a boolean", "null".
const char* JsonTypeName(simdjson::ondemand::json_type type);

// `text` without the whitespace after a raw token.
std::string_view TrimJsonWhitespace(std::string_view text);

// JSON's number grammar (RFC 8259 section 6), checked on the text rather than
// by converting it, so that any precision is accepted and passed on unchanged.
bool IsJsonNumber(std::string_view s);

}  // namespace pgoutbox::outbox
