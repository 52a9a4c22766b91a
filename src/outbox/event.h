// Event: one outbox row turned into what is published to Kafka.
//
// Ownership: the string views point into the pgoutput message buffer the row
// was decoded from or into the EventMapper's scratch space; an Event is valid
// until the next EventMapper::Map call or until that buffer is released.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgoutbox::outbox {

struct EventHeader {
  std::string_view name;
  std::string_view value;
  bool is_null = false;  // a Kafka header with a null value
};

struct Event {
  std::string_view id;       // the row's id column, as text
  std::string_view key;      // the aggregate id: the Kafka message key
  bool key_is_null = false;  // no key (only for dead-letter records of keyless rows)
  std::string_view event_type;
  std::string_view aggregate_type;
  std::string_view topic;        // rendered topic or the row's topic column
  std::string_view payload;      // exact bytes (bytea already decoded from \x hex)
  bool payload_is_null = false;  // only possible if the column allows NULL
  // id, event_type, aggregate_type, table (kReservedHeaders), then the
  // headers column's fields except those named like one of the four.
  std::vector<EventHeader> headers;
};

}  // namespace pgoutbox::outbox
