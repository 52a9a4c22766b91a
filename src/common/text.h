// Small text helpers for messages a person reads.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pgoutbox {

// "1 event", "0 events", "3 brokers": the count and the noun, singular only
// for exactly one. `plural` defaults to `singular` + "s" ("entry" needs
// "entries").
std::string Counted(uint64_t count, std::string_view singular, std::string_view plural = {});

}  // namespace pgoutbox
