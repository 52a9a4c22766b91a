// FaultEventId: the ids the fault suite's workload gives its events, which
// say, without any other record, where an event was written and what was
// meant to happen to it, so that the checker can judge a record whose event
// left no trace in the database (a rolled-back row, a message).
//
//   WWWWWWWW-SSSS-4000-FFFF-CCCCCCCCCCCC
//
// W: the workload connection (from 1); C: its counter; S: the source (the
// first outbox table 0000, the second one 000b, a transactional message with
// pgoutbox's prefix 000e, a non-transactional message with another prefix
// 000f); F: the fate (c0c0 meant to commit, dead its transaction rolls back,
// deaf its savepoint rolls back). An id of the first table with fate c0c0
// reads like the suite's ids from before it had several sources.
//
// Pure functions; thread safety: none needed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgoutbox::faults {

// Where the workload wrote an event.
enum class EventSource {
  kTable,           // public.outbox
  kSecondTable,     // public.outbox_b, another column layout
  kMessage,         // pg_logical_emit_message(true, 'pgoutbox', ...)
  kForeignMessage,  // pg_logical_emit_message(false, '<another prefix>', ...): never an event
  kUnknown,         // not an id of the workload's
};
inline constexpr int kEventSources = 5;

// The name of a source in the committed-events file and the report:
// "public.outbox", "public.outbox_b", "message", "foreign-message", "unknown".
// For the tables it is their `table` header.
const char* SourceLabel(EventSource source);
// The source of a label; nullopt for any other text.
std::optional<EventSource> SourceOfLabel(std::string_view label);
// Whether pgoutbox streams the source from a table.
bool IsTableSource(EventSource source);

// What the workload meant to happen to an event.
enum class IdFate { kCommit, kRolledBackTransaction, kRolledBackSavepoint, kUnknown };

std::string EventId(uint32_t worker, uint64_t counter, EventSource source, IdFate fate);

// The fate and the source an id says; kUnknown for an id not in the format
// (or with a marker the workload does not write).
IdFate FateOfId(std::string_view id);
EventSource SourceOfId(std::string_view id);

}  // namespace pgoutbox::faults
