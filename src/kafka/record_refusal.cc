#include "kafka/record_refusal.h"

namespace pgoutbox::kafka {

const char* RecordRefusalName(RecordRefusal refusal) {
  switch (refusal) {
    case RecordRefusal::kTooLarge:
      return "too_large";
    case RecordRefusal::kTopic:
      return "topic";
    case RecordRefusal::kCorrupted:
      return "corrupted";
    case RecordRefusal::kRejected:
      break;
  }
  return "rejected";
}

std::optional<RecordRefusal> RefusalOf(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
      return RecordRefusal::kTooLarge;
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
      return RecordRefusal::kTopic;
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
      return RecordRefusal::kRejected;
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
      return RecordRefusal::kCorrupted;
    default:
      return std::nullopt;
  }
}

bool IsAboutTheRecord(RecordRefusal refusal) { return refusal != RecordRefusal::kCorrupted; }

}  // namespace pgoutbox::kafka
