#include "outbox/column_map.h"

namespace pgoutbox::outbox {

ColumnMap ColumnMap::Debezium() {
  ColumnMap map;
  map.id = "id";
  map.key = "aggregateid";
  map.event_type = "type";
  map.aggregate_type = "aggregatetype";
  map.payload = "payload";
  map.headers.clear();
  map.topic.clear();
  return map;
}

}  // namespace pgoutbox::outbox
