#include "outbox/mapper.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <array>
#include <utility>

#include "common/json_escape.h"
#include "common/text.h"
#include "outbox/json_scalar.h"
#include "outbox/pg_types.h"

namespace pgoutbox::outbox {
namespace {

using pgoutput::ColumnValue;

constexpr int kNoColumn = -1;
// Template placeholders that name the row's table rather than a column, as
// Layout::placeholder_column values.
constexpr int kSchemaName = -2;
constexpr int kTableName = -3;

// The fields of an event that come from a column, as indexes into
// Layout::column and kFields.
enum Field : int { kId, kKey, kEventType, kAggregateType, kPayload, kTopic, kHeaders, kFieldCount };

struct FieldInfo {
  FieldRole role;
  const char* flag;         // the command-line flag that names its column
  const char* description;  // "the <description> column"
  bool optional;            // an empty column name means "no such column"
};

constexpr std::array<FieldInfo, kFieldCount> kFields = {{
    {FieldRole::kId, "--column-id", "id", false},
    {FieldRole::kKey, "--column-key", "key", false},
    {FieldRole::kEventType, "--column-type", "event type", false},
    {FieldRole::kAggregateType, "--column-aggregate-type", "aggregate type", false},
    {FieldRole::kPayload, "--column-payload", "payload", false},
    {FieldRole::kTopic, "--column-topic", "topic", true},
    {FieldRole::kHeaders, "--column-headers", "headers", true},
}};

const std::string& ColumnName(const ColumnMap& map, int field) {
  switch (field) {
    case kId:
      return map.id;
    case kKey:
      return map.key;
    case kEventType:
      return map.event_type;
    case kAggregateType:
      return map.aggregate_type;
    case kPayload:
      return map.payload;
    case kTopic:
      return map.topic;
    default:
      return map.headers;
  }
}

// The field a template placeholder names by its logical name, whatever the
// column is called; kNoColumn if the name is not one of them.
int LogicalField(std::string_view placeholder) {
  if (placeholder == "id") return kId;
  if (placeholder == "key" || placeholder == "aggregate_id") return kKey;
  if (placeholder == "event_type") return kEventType;
  if (placeholder == "aggregate_type") return kAggregateType;
  return kNoColumn;
}

int FindColumn(const std::vector<pg::ColumnInfo>& columns, std::string_view name) {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return static_cast<int>(i);
  }
  return kNoColumn;
}

Status MakeStatus(Status::Code code, std::string message) {
  switch (code) {
    case Status::Code::kNotFound:
      return Status::NotFound(std::move(message));
    case Status::Code::kFailedPrecondition:
      return Status::FailedPrecondition(std::move(message));
    case Status::Code::kCorruption:
      return Status::Corruption(std::move(message));
    case Status::Code::kInternal:
      return Status::Internal(std::move(message));
    default:
      return Status::InvalidArgument(std::move(message));
  }
}

// Shows a value from a row in a message: quoted, with control and non-ASCII
// bytes escaped, cut after `limit` bytes.
std::string Quote(std::string_view value, size_t limit = 256) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < value.size() && i < limit; ++i) {
    const auto byte = static_cast<unsigned char>(value[i]);
    if (byte == '"' || byte == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(byte));
    } else if (byte >= 0x20 && byte < 0x7f) {
      out.push_back(static_cast<char>(byte));
    } else {
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  out.push_back('"');
  if (value.size() > limit) out += "... (" + Counted(value.size(), "byte") + ")";
  return out;
}

// "event <id>". An id that is not short printable ASCII (it can be any text
// column) is quoted.
std::string EventName(std::string_view id) {
  constexpr size_t kMaxPlainId = 64;
  bool plain = !id.empty() && id.size() <= kMaxPlainId;
  for (char c : id) {
    if (c <= ' ' || c >= 0x7f || c == '"') plain = false;
  }
  return "event " + (plain ? std::string(id) : Quote(id, kMaxPlainId));
}

// "event <id>: ", the start of every message about a row.
std::string EventPrefix(std::string_view id) { return EventName(id) + ": "; }

std::string ColumnLabel(const ColumnMap& map, int field) {
  return "column " + ColumnName(map, field) + " (" + kFields[field].flag + ")";
}

// A value that is neither NULL nor text. pgoutbox asks for proto_version 1
// without the binary option, and an insert carries every column, so neither
// case happens with a well-behaved server.
Status NotText(const ColumnValue& value, std::string_view event_id, const std::string& column) {
  if (value.kind == ColumnValue::Kind::kBinary) {
    return Status::Corruption(EventPrefix(event_id) + column +
                              " arrived in binary format; pgoutbox reads pgoutput's text format");
  }
  return Status::Corruption(EventPrefix(event_id) + column +
                            " arrived as an unchanged TOAST value, which an insert cannot have");
}

// Reads a mapped column that must hold a value.
Status RequiredText(const ColumnValue& value, std::string_view event_id, const ColumnMap& map,
                    int field, std::string_view* out) {
  if (value.kind == ColumnValue::Kind::kText) {
    *out = value.data;
    return Status::Ok();
  }
  if (value.kind == ColumnValue::Kind::kNull) {
    return Status::InvalidArgument(EventPrefix(event_id) + ColumnLabel(map, field) + " is NULL");
  }
  return NotText(value, event_id, ColumnLabel(map, field));
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsOctalDigit(char c) { return c >= '0' && c <= '7'; }

// Decodes bytea's text output into *out: the hex format ("\x" and two hex
// digits per byte, PostgreSQL's default) or the escape format used when the
// server has bytea_output = escape. Returns nullptr on success, else what is
// wrong with `text`.
const char* DecodeBytea(std::string_view text, std::string* out) {
  if (text.size() >= 2 && text[0] == '\\' && text[1] == 'x') {
    const std::string_view hex = text.substr(2);
    if (hex.size() % 2 != 0) return "an odd number of hex digits after \\x";
    out->resize(hex.size() / 2);
    for (size_t i = 0; i < out->size(); ++i) {
      const int high = HexDigit(hex[2 * i]);
      const int low = HexDigit(hex[2 * i + 1]);
      if (high < 0 || low < 0) return "a character that is not a hex digit after \\x";
      (*out)[i] = static_cast<char>((high << 4) | low);
    }
    return nullptr;
  }
  // Escape format: "\\" is a backslash, "\ooo" an octal byte, the rest as is.
  out->clear();
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '\\') {
      out->push_back(text[i++]);
    } else if (i + 1 < text.size() && text[i + 1] == '\\') {
      out->push_back('\\');
      i += 2;
    } else if (i + 3 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '3' &&
               IsOctalDigit(text[i + 2]) && IsOctalDigit(text[i + 3])) {
      out->push_back(static_cast<char>(((text[i + 1] - '0') << 6) | ((text[i + 2] - '0') << 3) |
                                       (text[i + 3] - '0')));
      i += 4;
    } else {
      return "a backslash that starts neither \\x hex digits nor an escape (\\\\ or \\ooo)";
    }
  }
  return nullptr;
}

// The index of `name` in kReservedHeaders, or -1.
int ReservedIndex(std::string_view name) {
  for (size_t i = 0; i < kReservedHeaders.size(); ++i) {
    if (name == kReservedHeaders[i]) return static_cast<int>(i);
  }
  return -1;
}

// The mapped field whose column gives reserved header `index`'s value
// (kNoColumn: the `table` header, from the row's table).
constexpr std::array<int, kReservedHeaders.size()> kReservedHeaderField = {
    kId, kEventType, kAggregateType, kNoColumn};

}  // namespace

struct EventMapper::Layout {
  std::string schema, table;   // as the Relation message named them
  std::string qualified_name;  // "schema.table": the `table` header
  bool is_outbox = false;
  Status error;  // why the outbox's layout is unusable; Map returns it again
  size_t num_columns = 0;
  std::array<int, kFieldCount> column;  // tuple index of each field, or kNoColumn
  bool payload_is_bytea = false;
  // Tuple index of each template placeholder, or kSchemaName / kTableName.
  std::vector<int> placeholder_column;
  std::vector<std::string> column_names;  // the outbox's columns (for DumpRow)

  Layout() { column.fill(kNoColumn); }
};

struct EventMapper::Scratch {
  simdjson::ondemand::parser parser;
  std::string json;  // a padded copy of the headers column, as simdjson requires
  std::string payload;
  std::string topic;
};

EventMapper::EventMapper(MapperOptions options, TopicTemplate topic_template)
    : options_(std::move(options)),
      template_(std::move(topic_template)),
      scratch_(std::make_unique<Scratch>()) {}

EventMapper::~EventMapper() = default;

Result<std::unique_ptr<EventMapper>> EventMapper::Create(MapperOptions options) {
  if (options.tables.patterns().empty()) {
    return Status::InvalidArgument("no outbox table is selected");
  }
  for (int field = 0; field < kFieldCount; ++field) {
    if (!kFields[field].optional && ColumnName(options.columns, field).empty()) {
      return Status::InvalidArgument(std::string(kFields[field].flag) + " is empty; the " +
                                     kFields[field].description + " column is required");
    }
  }
  ASSIGN_OR_RETURN(TopicTemplate topic_template, TopicTemplate::Parse(options.topic_template));
  return std::unique_ptr<EventMapper>(
      new EventMapper(std::move(options), std::move(topic_template)));
}

Status EventMapper::ResolveLayout(const pg::TableName& table_name,
                                  const std::vector<pg::ColumnInfo>& columns,
                                  Layout* layout) const {
  const std::string table = table_name.ToString();
  std::vector<Status> problems;
  layout->num_columns = columns.size();
  for (int field = 0; field < kFieldCount; ++field) {
    const FieldInfo& info = kFields[field];
    const std::string& name = ColumnName(options_.columns, field);
    if (name.empty()) continue;  // an optional column the user turned off
    const int index = FindColumn(columns, name);
    if (index == kNoColumn) {
      // A table without an optional column the user did not name has none.
      if ((field == kHeaders && !options_.headers_column_required) ||
          (field == kTopic && !options_.topic_column_required)) {
        continue;
      }
      problems.push_back(Status::NotFound("table " + table + " has no column \"" + name +
                                          "\" (mapped by " + info.flag + ")"));
      continue;
    }
    const uint32_t oid = columns[index].type_oid;
    if (!IsUsableType(info.role, oid)) {
      const std::string_view type_name = TypeName(oid);
      problems.push_back(Status::FailedPrecondition(
          "column " + table + "." + name + " has type oid " + std::to_string(oid) +
          (type_name.empty() ? "" : " (" + std::string(type_name) + ")") + "; the " +
          info.description + " column must be " + std::string(UsableTypeNames(info.role))));
      continue;
    }
    layout->column[field] = index;
  }
  if (layout->column[kPayload] != kNoColumn) {
    layout->payload_is_bytea = columns[layout->column[kPayload]].type_oid == pg_type::kBytea;
  }

  layout->placeholder_column.clear();
  for (const std::string& placeholder : template_.placeholders()) {
    const int field = LogicalField(placeholder);
    int index = kNoColumn;
    if (field != kNoColumn) {
      // A mapped field whose column is missing was reported above.
      index = layout->column[field];
    } else if (placeholder == "schema") {
      index = kSchemaName;
    } else if (placeholder == "table") {
      index = kTableName;
    } else {
      index = FindColumn(columns, placeholder);
      if (index == kNoColumn) {
        problems.push_back(Status::InvalidArgument(
            "--topic template placeholder {" + placeholder +
            "} is not a mapped field or a column of " + table +
            " (the mapped fields are {id}, {key} or {aggregate_id}, {event_type} and "
            "{aggregate_type}; {schema} and {table} name the row's table)"));
      }
    }
    layout->placeholder_column.push_back(index);
  }

  if (problems.empty()) return Status::Ok();
  std::string message = problems.front().message();
  for (size_t i = 1; i < problems.size(); ++i) message += "; " + problems[i].message();
  return MakeStatus(problems.front().code(), std::move(message));
}

Status EventMapper::CheckColumns(const pg::TableName& table,
                                 const std::vector<pg::ColumnInfo>& columns) const {
  Layout layout;
  return ResolveLayout(table, columns, &layout);
}

void EventMapper::SetStartupTables(const std::vector<pg::TableName>& tables) {
  announced_tables_.emplace();
  for (const pg::TableName& table : tables) announced_tables_->insert(table.ToString());
}

Status EventMapper::OnRelation(const pgoutput::Relation& relation) {
  const pg::TableName table{relation.namespace_name.empty() ? std::string("pg_catalog")
                                                            : std::string(relation.namespace_name),
                            std::string(relation.relation_name)};
  auto layout = std::make_unique<Layout>();
  layout->schema = table.schema;
  layout->table = table.name;
  layout->qualified_name = table.ToString();
  layout->num_columns = relation.columns.size();
  if (options_.tables.Matches(table)) {
    layout->is_outbox = true;
    std::vector<pg::ColumnInfo> columns;
    columns.reserve(relation.columns.size());
    for (const pgoutput::RelationColumn& column : relation.columns) {
      columns.push_back(pg::ColumnInfo{std::string(column.name), column.type_oid});
      layout->column_names.emplace_back(column.name);
    }
    layout->error = ResolveLayout(table, columns, layout.get());
    if (announced_tables_ && announced_tables_->insert(layout->qualified_name).second) {
      spdlog::info("streaming outbox table {} (new)", layout->qualified_name);
    }
  }
  Status result = layout->error;
  relations_[relation.id] = std::move(layout);
  return result;
}

void EventMapper::Reset() { relations_.clear(); }

Status EventMapper::Map(const pgoutput::Insert& insert, Event* out) {
  bad_row_reason_ = {};
  const auto it = relations_.find(insert.relation);
  if (it == relations_.end()) {
    return Status::Corruption("insert for relation oid " + std::to_string(insert.relation.value()) +
                              " before its Relation message");
  }
  const Layout& layout = *it->second;
  if (!layout.is_outbox) {
    return Status::FailedPrecondition("publication includes table " + layout.qualified_name +
                                      ", which is not an outbox table (--table " +
                                      options_.tables.ToString() +
                                      "; if it is a partition of an outbox table, the publication "
                                      "needs publish_via_partition_root = true)");
  }
  if (!layout.error.ok()) return layout.error;
  const std::vector<ColumnValue>& values = insert.new_tuple.columns;
  if (values.size() != layout.num_columns) {
    return Status::Corruption("insert into " + layout.qualified_name + " has " +
                              Counted(values.size(), "column") + ", but its Relation message has " +
                              std::to_string(layout.num_columns));
  }
  BadRowReason reason = BadRowReason::kNullColumn;
  Status st = MapRow(layout, values, out, &reason);
  if (!st.ok()) bad_row_reason_ = reason;
  return st;
}

Status EventMapper::MapRow(const Layout& layout, const std::vector<ColumnValue>& values, Event* out,
                           BadRowReason* reason) {
  const ColumnMap& map = options_.columns;
  out->headers.clear();
  *reason = BadRowReason::kNullColumn;

  const ColumnValue& id_value = values[layout.column[kId]];
  if (id_value.kind == ColumnValue::Kind::kNull) {
    return Status::InvalidArgument("event with a NULL id: " + ColumnLabel(map, kId) + " is NULL");
  }
  RETURN_IF_ERROR(RequiredText(id_value, "", map, kId, &out->id));
  const std::string_view id = out->id;
  RETURN_IF_ERROR(RequiredText(values[layout.column[kKey]], id, map, kKey, &out->key));
  RETURN_IF_ERROR(
      RequiredText(values[layout.column[kEventType]], id, map, kEventType, &out->event_type));
  RETURN_IF_ERROR(RequiredText(values[layout.column[kAggregateType]], id, map, kAggregateType,
                               &out->aggregate_type));

  *reason = BadRowReason::kPayload;
  const ColumnValue& payload = values[layout.column[kPayload]];
  out->payload = {};
  out->payload_is_null = payload.kind == ColumnValue::Kind::kNull;
  if (!out->payload_is_null) {
    if (payload.kind != ColumnValue::Kind::kText) {
      return NotText(payload, id, ColumnLabel(map, kPayload));
    }
    if (layout.payload_is_bytea) {
      if (const char* problem = DecodeBytea(payload.data, &scratch_->payload)) {
        return Status::Corruption(EventPrefix(id) + ColumnLabel(map, kPayload) +
                                  " is not valid bytea text: it has " + problem);
      }
      out->payload = scratch_->payload;
    } else {
      out->payload = payload.data;
    }
  }

  // The row's own topic wins over the template.
  *reason = BadRowReason::kTopic;
  bool from_column = false;
  if (layout.column[kTopic] != kNoColumn) {
    const ColumnValue& topic = values[layout.column[kTopic]];
    if (topic.kind == ColumnValue::Kind::kText) {
      from_column = true;  // non-null, even empty: checked like any topic name
      out->topic = topic.data;
    } else if (topic.kind != ColumnValue::Kind::kNull) {
      return NotText(topic, id, ColumnLabel(map, kTopic));
    }
  }
  if (!from_column) {
    if (template_.is_constant()) {
      out->topic = template_.text();
    } else {
      const std::vector<std::string>& placeholders = template_.placeholders();
      for (size_t i = 0; i < placeholders.size(); ++i) {
        if (layout.placeholder_column[i] < 0) continue;  // {schema} or {table}
        const ColumnValue& value = values[layout.placeholder_column[i]];
        if (value.kind == ColumnValue::Kind::kNull) {
          *reason = BadRowReason::kNullColumn;
          return Status::InvalidArgument(EventPrefix(id) + "topic template placeholder {" +
                                         placeholders[i] + "} is NULL");
        }
        if (value.kind != ColumnValue::Kind::kText) {
          return NotText(value, id, "topic template placeholder {" + placeholders[i] + "}");
        }
      }
      template_.Render(
          [&](size_t i) -> std::string_view {
            const int column = layout.placeholder_column[i];
            if (column == kSchemaName) return layout.schema;
            if (column == kTableName) return layout.table;
            return values[column].data;
          },
          &scratch_->topic);
      out->topic = scratch_->topic;
    }
  }
  if (!IsValidTopicName(out->topic)) {
    return Status::InvalidArgument(
        EventPrefix(id) + "topic " + Quote(out->topic) + " is not a valid Kafka topic name (" +
        std::string(kTopicNameRule) + "); it " +
        (from_column ? "is the row's " + ColumnLabel(map, kTopic)
                     : "was rendered from --topic template " + Quote(template_.text())));
  }

  *reason = BadRowReason::kHeaders;
  // kReservedHeaders, in its order.
  out->headers.push_back(EventHeader{kReservedHeaders[0], out->id, false});
  out->headers.push_back(EventHeader{kReservedHeaders[1], out->event_type, false});
  out->headers.push_back(EventHeader{kReservedHeaders[2], out->aggregate_type, false});
  out->headers.push_back(EventHeader{kReservedHeaders[3], layout.qualified_name, false});
  if (layout.column[kHeaders] != kNoColumn) {
    const ColumnValue& headers = values[layout.column[kHeaders]];
    if (headers.kind == ColumnValue::Kind::kText) {
      RETURN_IF_ERROR(ParseHeaders(headers.data, id, out));
    } else if (headers.kind != ColumnValue::Kind::kNull) {
      return NotText(headers, id, ColumnLabel(map, kHeaders));
    }
  }
  return Status::Ok();
}

Result<EventMapper::RowDump> EventMapper::DumpRow(
    const pgoutput::Insert& insert, std::optional<size_t> omitted_payload_size) const {
  const auto it = relations_.find(insert.relation);
  if (it == relations_.end() || !it->second->is_outbox || !it->second->error.ok() ||
      insert.new_tuple.columns.size() != it->second->num_columns) {
    return Status::Corruption("insert for relation oid " + std::to_string(insert.relation.value()) +
                              " does not match a known outbox layout");
  }
  const Layout& layout = *it->second;
  const std::vector<ColumnValue>& values = insert.new_tuple.columns;
  RowDump dump;
  dump.json.push_back('{');
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& name = layout.column_names[i];
    const ColumnValue& value = values[i];
    if (i > 0) dump.json.push_back(',');
    dump.json.push_back('"');
    if (omitted_payload_size && static_cast<int>(i) == layout.column[kPayload]) {
      dump.json += JsonEscape(name + "_size") + "\":" + std::to_string(*omitted_payload_size);
      continue;
    }
    dump.json += JsonEscape(name) + "\":";
    if (value.kind == ColumnValue::Kind::kText) {
      dump.json += "\"" + JsonEscape(value.data) + "\"";
    } else {
      dump.json += "null";  // NULL (an unchanged TOAST or binary value cannot be shown)
    }
  }
  dump.json.push_back('}');
  auto text = [&](int field) -> std::optional<std::string> {
    const ColumnValue& value = values[layout.column[field]];
    if (value.kind != ColumnValue::Kind::kText) return std::nullopt;
    return std::string(value.data);
  };
  dump.id = text(kId);
  dump.key = text(kKey);
  dump.table = layout.qualified_name;
  return dump;
}

uint64_t EventMapper::dropped_headers(std::string_view name) const {
  const int index = ReservedIndex(name);
  return index < 0 ? 0 : dropped_[index].total;
}

void EventMapper::NoteDroppedHeaders(unsigned dropped, std::string_view event_id) {
  const auto now = std::chrono::steady_clock::now();
  for (size_t i = 0; i < kReservedHeaders.size(); ++i) {
    if ((dropped & (1u << i)) == 0) continue;
    DroppedHeader& d = dropped_[i];
    ++d.total;
    ++d.since_warning;
    if (d.warned_at && now - *d.warned_at < kDroppedHeaderWarningInterval) continue;
    const std::string name(kReservedHeaders[i]);
    const std::string source = kReservedHeaderField[i] == kNoColumn
                                   ? std::string("the row's table name")
                                   : ColumnLabel(options_.columns, kReservedHeaderField[i]);
    const std::string why = "pgoutbox sets the " + name + " header itself, from " + source +
                            ", and a record carries one " + name + " header";
    if (!d.warned_at) {
      spdlog::warn(
          "{}dropped field \"{}\" of the headers {}: {} (dropped again, it is "
          "counted in one line per {} min)",
          EventPrefix(event_id), name, ColumnLabel(options_.columns, kHeaders), why,
          kDroppedHeaderWarningInterval.count());
    } else {
      spdlog::warn(
          "dropped field \"{}\" of the headers {} in {} since the last warning "
          "(the last: {}): {}",
          name, ColumnLabel(options_.columns, kHeaders), Counted(d.since_warning, "row"),
          EventName(event_id), why);
    }
    d.warned_at = now;
    d.since_warning = 0;
  }
}

Status EventMapper::ParseHeaders(std::string_view json, std::string_view event_id, Event* out) {
  using simdjson::ondemand::json_type;
  // Only built on the error path: the common path allocates nothing.
  auto column = [&] { return ColumnLabel(options_.columns, kHeaders); };
  auto invalid = [&](const std::string& why) {
    return Status::InvalidArgument(EventPrefix(event_id) + column() + " is not valid JSON: " + why);
  };

  Scratch& scratch = *scratch_;
  scratch.json.assign(json);
  scratch.json.append(simdjson::SIMDJSON_PADDING, ' ');
  simdjson::ondemand::document doc;
  simdjson::error_code error =
      scratch.parser.iterate(scratch.json.data(), json.size(), scratch.json.size()).get(doc);
  if (error) return invalid(simdjson::error_message(error));
  json_type type;
  if ((error = doc.type().get(type))) return invalid(simdjson::error_message(error));
  if (type != json_type::object) {
    return Status::InvalidArgument(EventPrefix(event_id) + column() + " is not a JSON object but " +
                                   JsonTypeName(type));
  }
  simdjson::ondemand::object object;
  if ((error = doc.get_object().get(object))) return invalid(simdjson::error_message(error));

  // Strings are unescaped into the parser's string buffer, which lives until
  // the next iterate(): the next Map call.
  unsigned dropped = 0;  // bit i: a field named kReservedHeaders[i]
  for (auto field_result : object) {
    simdjson::ondemand::field field;
    if ((error = std::move(field_result).get(field)))
      return invalid(simdjson::error_message(error));
    std::string_view name;
    if ((error = field.unescaped_key().get(name))) return invalid(simdjson::error_message(error));
    simdjson::ondemand::value value = field.value();
    json_type value_type;
    if ((error = value.type().get(value_type))) return invalid(simdjson::error_message(error));
    EventHeader header{name, {}, false};
    switch (value_type) {
      case json_type::string: {
        if ((error = value.get_string().get(header.value))) {
          return invalid(simdjson::error_message(error));
        }
        break;
      }
      case json_type::number: {
        header.value = TrimJsonWhitespace(value.raw_json_token());
        if (!IsJsonNumber(header.value)) return invalid("bad number " + Quote(header.value, 64));
        break;
      }
      case json_type::boolean: {
        header.value = TrimJsonWhitespace(value.raw_json_token());
        if (header.value != "true" && header.value != "false") {
          return invalid("bad literal " + Quote(header.value, 64));
        }
        break;
      }
      case json_type::null: {
        const std::string_view text = TrimJsonWhitespace(value.raw_json_token());
        if (text != "null") return invalid("bad literal " + Quote(text, 64));
        header.is_null = true;
        break;
      }
      case json_type::object:
      case json_type::array:
        return Status::InvalidArgument(
            EventPrefix(event_id) + column() + " field " + Quote(name, 64) + " is " +
            JsonTypeName(value_type) +
            "; header values must be strings, numbers, booleans or null");
    }
    // A reserved name is checked like any field, then left out: the record
    // already has pgoutbox's header of that name.
    const int reserved = ReservedIndex(name);
    if (reserved >= 0) {
      dropped |= 1u << reserved;
    } else {
      out->headers.push_back(header);
    }
  }
  // The object must be the whole document.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return invalid("unexpected content after the object");
  }
  if (dropped != 0) NoteDroppedHeaders(dropped, event_id);
  return Status::Ok();
}

}  // namespace pgoutbox::outbox
