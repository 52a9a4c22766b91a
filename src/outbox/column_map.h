// ColumnMap: which outbox table column holds which part of an event.
#pragma once

#include <string>

namespace pgoutbox::outbox {

struct ColumnMap {
  std::string id = "id";
  std::string key = "aggregate_id";
  std::string event_type = "event_type";
  std::string aggregate_type = "aggregate_type";
  std::string payload = "payload";
  std::string headers = "headers";  // optional column: empty = none
  std::string topic = "topic";      // optional column: empty = none

  // Debezium's EventRouter defaults: id, aggregateid, aggregatetype, type,
  // payload; no headers or topic column.
  static ColumnMap Debezium();
};

}  // namespace pgoutbox::outbox
