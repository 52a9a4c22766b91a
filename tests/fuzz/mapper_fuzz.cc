// libFuzzer target: a stream of pgoutput messages through the decoder and an
// outbox::EventMapper, with its relation cache.
//
// Input: one byte choosing a mapper configuration (see kConfigs), then
// records of a 2-byte big-endian length and that many bytes (the last record
// takes what is left if it is short). A record of length 0 is a reconnect
// (EventMapper::Reset); any other is one pgoutput message. Relation messages go
// to OnRelation, Insert messages to Map, the rest is decoded and dropped.
//
// Checked, besides no crash or sanitizer report: the mapper agrees with a
// model of the relation cache kept here (an insert maps only after a usable
// Relation of the outbox table and with its column count; OnRelation reports
// what CheckColumns reports); a mapped Event holds exactly what the row says
// (mapped columns, payload, the row's topic or the rendered template, a valid
// topic name, the three fixed headers first); mapping the same insert again
// gives the same Event.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "outbox/column_map.h"
#include "outbox/event.h"
#include "outbox/mapper.h"
#include "outbox/topic_template.h"
#include "pgoutput/decoder.h"
#include "pgoutput/messages.h"

namespace {

using pgoutbox::RelationId;
using pgoutbox::Status;
using pgoutbox::outbox::ColumnMap;
using pgoutbox::outbox::Event;
using pgoutbox::outbox::EventMapper;
using pgoutbox::outbox::MapperOptions;
using pgoutbox::pgoutput::ColumnValue;
namespace pgoutput = pgoutbox::pgoutput;

constexpr uint32_t kByteaOid = 17;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

struct Config {
  bool debezium_columns;
  bool topic_column;
  bool headers_column;
  const char* topic_template;
};

// The captured outbox table has id, aggregate_type, aggregate_id, event_type,
// topic, payload, headers, created_at. Config 2 names columns that table does
// not have, so its Relation is refused.
constexpr Config kConfigs[] = {
    {false, true, true, "outbox.event.{aggregate_type}"},
    {false, false, false, "{event_type}.{key}"},
    {true, false, false, "outbox.event.{aggregate_type}"},
    {false, true, true, "orders"},
    {false, false, true, "t.{topic}.{aggregate_id}-{id}"},
};

MapperOptions OptionsFor(const Config& config) {
  MapperOptions options;
  options.columns = config.debezium_columns ? ColumnMap::Debezium() : ColumnMap();
  if (!config.topic_column) options.columns.topic.clear();
  if (!config.headers_column) options.columns.headers.clear();
  options.topic_template = config.topic_template;
  return options;
}

// What this target knows about a relation from its last Relation message.
struct RelationModel {
  bool is_outbox = false;
  bool usable = false;  // OnRelation returned OK
  std::string table;    // "schema.table"
  std::vector<std::string> names;
  std::vector<uint32_t> type_oids;
};

int FindColumn(const RelationModel& relation, const std::string& name) {
  for (size_t i = 0; i < relation.names.size(); ++i) {
    if (relation.names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

// The column a template placeholder reads, as the mapper documents it.
int PlaceholderColumn(const RelationModel& relation, const ColumnMap& map,
                      const std::string& placeholder) {
  if (placeholder == "id") return FindColumn(relation, map.id);
  if (placeholder == "key" || placeholder == "aggregate_id") return FindColumn(relation, map.key);
  if (placeholder == "event_type") return FindColumn(relation, map.event_type);
  if (placeholder == "aggregate_type") return FindColumn(relation, map.aggregate_type);
  return FindColumn(relation, placeholder);
}

// Reads every byte a view points to, so that ASan reports a dangling one.
uint8_t Touch(std::string_view view) {
  uint8_t sum = 0;
  for (char c : view) sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
  return sum;
}

// An Event with owned strings, to compare two Map calls.
struct OwnedEvent {
  std::string id, key, event_type, aggregate_type, topic, payload;
  bool payload_is_null;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<bool> header_null;

  explicit OwnedEvent(const Event& e)
      : id(e.id),
        key(e.key),
        event_type(e.event_type),
        aggregate_type(e.aggregate_type),
        topic(e.topic),
        payload(e.payload),
        payload_is_null(e.payload_is_null) {
    for (const auto& h : e.headers) {
      headers.emplace_back(std::string(h.name), std::string(h.value));
      header_null.push_back(h.is_null);
    }
  }
  bool operator==(const OwnedEvent&) const = default;
};

const ColumnValue& Value(const pgoutput::Insert& insert, int column) {
  Check(column >= 0 && static_cast<size_t>(column) < insert.new_tuple.columns.size());
  return insert.new_tuple.columns[column];
}

void CheckText(const pgoutput::Insert& insert, int column, std::string_view field) {
  const ColumnValue& value = Value(insert, column);
  Check(value.kind == ColumnValue::Kind::kText);
  Check(field == value.data);
}

void CheckEvent(const Event& event, const pgoutput::Insert& insert, const RelationModel& relation,
                const EventMapper& mapper, const pgoutbox::outbox::TopicTemplate& topic_template) {
  const ColumnMap& map = mapper.options().columns;
  CheckText(insert, FindColumn(relation, map.id), event.id);
  CheckText(insert, FindColumn(relation, map.key), event.key);
  CheckText(insert, FindColumn(relation, map.event_type), event.event_type);
  CheckText(insert, FindColumn(relation, map.aggregate_type), event.aggregate_type);

  const int payload_column = FindColumn(relation, map.payload);
  const ColumnValue& payload = Value(insert, payload_column);
  Check(event.payload_is_null == (payload.kind == ColumnValue::Kind::kNull));
  if (event.payload_is_null) {
    Check(event.payload.empty());
  } else {
    Check(payload.kind == ColumnValue::Kind::kText);
    if (relation.type_oids[payload_column] == kByteaOid) {
      const std::string_view text = payload.data;
      if (text.size() >= 2 && text[0] == '\\' && text[1] == 'x') {
        Check(event.payload.size() * 2 + 2 == text.size());
      } else {
        Check(event.payload.size() <= text.size());
      }
    } else {
      Check(event.payload == payload.data);
    }
  }

  // The row's topic column wins; else the template.
  bool from_column = false;
  if (!map.topic.empty()) {
    const ColumnValue& topic = Value(insert, FindColumn(relation, map.topic));
    if (topic.kind == ColumnValue::Kind::kText) {
      from_column = true;
      Check(event.topic == topic.data);
    } else {
      Check(topic.kind == ColumnValue::Kind::kNull);
    }
  }
  if (!from_column) {
    std::string expected;
    size_t next = 0;
    for (const auto& segment : topic_template.segments()) {
      if (!segment.is_placeholder) {
        expected += segment.text;
        continue;
      }
      Check(segment.text == topic_template.placeholders()[next++]);
      const ColumnValue& value = Value(insert, PlaceholderColumn(relation, map, segment.text));
      Check(value.kind == ColumnValue::Kind::kText);
      expected += value.data;
    }
    Check(event.topic == expected);
  }
  Check(pgoutbox::outbox::IsValidTopicName(event.topic));

  Check(event.headers.size() >= 4);
  Check(event.headers[0].name == "id" && event.headers[0].value == event.id);
  Check(event.headers[1].name == "event_type" && event.headers[1].value == event.event_type);
  Check(event.headers[2].name == "aggregate_type" &&
        event.headers[2].value == event.aggregate_type);
  Check(event.headers[3].name == "table" && event.headers[3].value == relation.table);
  for (const auto& header : event.headers) {
    Check(!header.is_null || header.value.empty());
  }
  if (map.headers.empty() ||
      Value(insert, FindColumn(relation, map.headers)).kind == ColumnValue::Kind::kNull) {
    Check(event.headers.size() == 4);
  }

  uint8_t sum = Touch(event.id) + Touch(event.key) + Touch(event.event_type) +
                Touch(event.aggregate_type) + Touch(event.topic) + Touch(event.payload);
  for (const auto& header : event.headers) sum += Touch(header.name) + Touch(header.value);
  (void)sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Config& config = kConfigs[data[0] % std::size(kConfigs)];
  auto created = EventMapper::Create(OptionsFor(config));
  Check(created.ok());
  EventMapper& mapper = **created;
  auto parsed_template = pgoutbox::outbox::TopicTemplate::Parse(config.topic_template);
  Check(parsed_template.ok());
  const auto& topic_template = *parsed_template;

  std::unordered_map<RelationId, RelationModel> relations;
  pgoutput::Message message;
  Event event;
  size_t pos = 1;
  while (size - pos >= 2) {
    size_t length = (static_cast<size_t>(data[pos]) << 8) | data[pos + 1];
    pos += 2;
    length = std::min(length, size - pos);
    const std::span<const uint8_t> bytes(data + pos, length);
    pos += length;
    if (length == 0) {
      mapper.Reset();
      relations.clear();
      continue;
    }
    if (!pgoutput::Decode(bytes, &message).ok()) continue;

    if (const auto* relation = std::get_if<pgoutput::Relation>(&message)) {
      RelationModel model;
      const std::string_view relation_schema = relation->namespace_name.empty()
                                                   ? std::string_view("pg_catalog")
                                                   : relation->namespace_name;
      const pgoutbox::pg::TableName name{std::string(relation_schema),
                                         std::string(relation->relation_name)};
      model.is_outbox = mapper.options().tables.Matches(name);
      model.table = name.ToString();
      std::vector<pgoutbox::pg::ColumnInfo> columns;
      for (const auto& column : relation->columns) {
        model.names.emplace_back(column.name);
        model.type_oids.push_back(column.type_oid);
        columns.push_back({std::string(column.name), column.type_oid});
      }
      const Status status = mapper.OnRelation(*relation);
      model.usable = status.ok();
      if (model.is_outbox) {
        Check(status.ok() == mapper.CheckColumns(name, columns).ok());
      } else {
        Check(status.ok());
      }
      relations[relation->id] = std::move(model);
      continue;
    }

    const auto* insert = std::get_if<pgoutput::Insert>(&message);
    if (insert == nullptr) continue;
    const Status status = mapper.Map(*insert, &event);
    const auto it = relations.find(insert->relation);
    if (it == relations.end() || !it->second.is_outbox || !it->second.usable ||
        it->second.names.size() != insert->new_tuple.columns.size()) {
      Check(!status.ok());
      continue;
    }
    if (!status.ok()) continue;
    CheckEvent(event, *insert, it->second, mapper, topic_template);

    // The scratch space is reused: a second Map must give the same Event.
    const OwnedEvent first(event);
    Event again;
    Check(mapper.Map(*insert, &again).ok());
    Check(OwnedEvent(again) == first);
  }
  return 0;
}
