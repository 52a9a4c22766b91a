#include "outbox/bad_row_reason.h"

namespace pgoutbox::outbox {

const char* BadRowReasonName(BadRowReason reason) {
  switch (reason) {
    case BadRowReason::kNullColumn:
      return "null_column";
    case BadRowReason::kTopic:
      return "topic";
    case BadRowReason::kHeaders:
      return "headers";
    case BadRowReason::kMessage:
      return "message";
    case BadRowReason::kNonTransactional:
      return "non_transactional";
    case BadRowReason::kPayload:
      break;
  }
  return "payload";
}

}  // namespace pgoutbox::outbox
