#include "tools/faults/fault_event_id.h"

#include <cstdio>

namespace pgoutbox::faults {

namespace {

const char* FateMarker(IdFate fate) {
  switch (fate) {
    case IdFate::kCommit:
      return "c0c0";
    case IdFate::kRolledBackTransaction:
      return "dead";
    case IdFate::kRolledBackSavepoint:
      return "deaf";
    case IdFate::kUnknown:
      break;
  }
  return "0000";
}

const char* SourceMarker(EventSource source) {
  switch (source) {
    case EventSource::kTable:
      return "0000";
    case EventSource::kSecondTable:
      return "000b";
    case EventSource::kMessage:
      return "000e";
    case EventSource::kForeignMessage:
      return "000f";
    case EventSource::kUnknown:
      break;
  }
  return "ffff";
}

// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
bool Shaped(std::string_view id) {
  return id.size() == 36 && id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-';
}

}  // namespace

const char* SourceLabel(EventSource source) {
  switch (source) {
    case EventSource::kTable:
      return "public.outbox";
    case EventSource::kSecondTable:
      return "public.outbox_b";
    case EventSource::kMessage:
      return "message";
    case EventSource::kForeignMessage:
      return "foreign-message";
    case EventSource::kUnknown:
      break;
  }
  return "unknown";
}

std::optional<EventSource> SourceOfLabel(std::string_view label) {
  for (int s = 0; s < kEventSources; ++s) {
    const auto source = static_cast<EventSource>(s);
    if (label == SourceLabel(source)) return source;
  }
  return std::nullopt;
}

bool IsTableSource(EventSource source) {
  return source == EventSource::kTable || source == EventSource::kSecondTable;
}

std::string EventId(uint32_t worker, uint64_t counter, EventSource source, IdFate fate) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%08x-%s-4000-%s-%012llx", worker, SourceMarker(source),
                FateMarker(fate), static_cast<unsigned long long>(counter & 0xffffffffffffULL));
  return buf;
}

IdFate FateOfId(std::string_view id) {
  if (!Shaped(id)) return IdFate::kUnknown;
  const std::string_view group = id.substr(19, 4);
  for (IdFate fate :
       {IdFate::kCommit, IdFate::kRolledBackTransaction, IdFate::kRolledBackSavepoint}) {
    if (group == FateMarker(fate)) return fate;
  }
  return IdFate::kUnknown;
}

EventSource SourceOfId(std::string_view id) {
  if (!Shaped(id)) return EventSource::kUnknown;
  const std::string_view group = id.substr(9, 4);
  for (int s = 0; s < kEventSources - 1; ++s) {
    const auto source = static_cast<EventSource>(s);
    if (group == SourceMarker(source)) return source;
  }
  return EventSource::kUnknown;
}

}  // namespace pgoutbox::faults
