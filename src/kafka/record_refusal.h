// RecordRefusal: why Kafka refuses one record for good because of the
// record itself, as opposed to the cluster, the configuration or the
// connection. Such a record is a bad row (the stream's policy decides what
// becomes of it); every other error is a delivery failure.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <librdkafka/rdkafka.h>

#include <optional>

namespace pgoutbox::kafka {

enum class RecordRefusal {
  kTooLarge,  // MSG_SIZE_TOO_LARGE, RECORD_LIST_TOO_LARGE
  kTopic,     // TOPIC_EXCEPTION, or a topic handle that cannot be made: an invalid name
  kRejected,  // INVALID_RECORD, INVALID_TIMESTAMP
  // INVALID_MSG: the batch arrived corrupted (a CRC mismatch). Not about the
  // record: its records are produced again like those of a refused batch,
  // and one that still fails alone is a delivery failure, never a bad row.
  kCorrupted,
};

// The refusal as a log word and metric label: "too_large", "topic",
// "rejected", "corrupted".
const char* RecordRefusalName(RecordRefusal refusal);

// The refusal `err` stands for, or nothing for every error that is not
// about one record or its batch.
std::optional<RecordRefusal> RefusalOf(rd_kafka_resp_err_t err);

// Whether a record refused on its own for `refusal` is a bad row (false for
// kCorrupted: a delivery failure).
bool IsAboutTheRecord(RecordRefusal refusal);

}  // namespace pgoutbox::kafka
