#include "core/bad_row.h"

#include <string>

namespace pgoutbox::core {

Result<BadRowAction> ParseBadRowAction(std::string_view text) {
  if (text == "halt") return BadRowAction::kHalt;
  if (text == "dlq") return BadRowAction::kDeadLetter;
  if (text == "skip") return BadRowAction::kSkip;
  return Status::InvalidArgument("--on-bad-row must be halt, dlq or skip, not \"" +
                                 std::string(text) + "\"");
}

const char* BadRowActionName(BadRowAction action) {
  switch (action) {
    case BadRowAction::kDeadLetter:
      return "dlq";
    case BadRowAction::kSkip:
      return "skip";
    case BadRowAction::kHalt:
      break;
  }
  return "halt";
}

const char* BadRowCauseName(const BadRowCause& cause) {
  if (const auto* reason = std::get_if<outbox::BadRowReason>(&cause)) {
    return outbox::BadRowReasonName(*reason);
  }
  return kafka::RecordRefusalName(std::get<kafka::RecordRefusal>(cause));
}

}  // namespace pgoutbox::core
