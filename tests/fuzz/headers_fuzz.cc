// libFuzzer target: the headers column's JSON, parsed by EventMapper::Map.
//
// The input is the text of the headers column of one insert into the outbox
// table (the other columns are fixed and valid). Checked, besides no crash or
// sanitizer report, against simdjson's DOM parser as a reference:
//   - Map succeeds exactly when the input is one JSON object whose values are
//     all strings, numbers, booleans or null. The reference refuses numbers
//     out of double's range, which Map passes on as text: where it refuses a
//     number, every number of the input is checked against JSON's grammar
//     here instead;
//   - on success the Event's headers are id, event_type, aggregate_type and
//     then the object's fields in order: the same names, string values
//     unescaped, numbers as their JSON text, booleans as "true"/"false", null
//     as a null header;
//   - mapping the same insert again gives the same headers.
#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "outbox/event.h"
#include "outbox/mapper.h"
#include "pgoutput/messages.h"

namespace {

using pgoutbox::outbox::Event;
using pgoutbox::outbox::EventMapper;
using pgoutbox::pgoutput::ColumnValue;
namespace pgoutput = pgoutbox::pgoutput;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

// The outbox table of the captured stream (tests/pgoutput/captured_messages.h).
pgoutput::Relation OutboxRelation() {
  pgoutput::Relation relation;
  relation.id = pgoutbox::RelationId(16389);
  relation.namespace_name = "public";
  relation.relation_name = "outbox";
  relation.replica_identity = 'd';
  relation.columns = {
      {1, "id", 2950, -1},       {0, "aggregate_type", 25, -1}, {0, "aggregate_id", 25, -1},
      {0, "event_type", 25, -1}, {0, "topic", 25, -1},          {0, "payload", 3802, -1},
      {0, "headers", 3802, -1},  {0, "created_at", 1184, -1},
  };
  return relation;
}

ColumnValue Text(std::string_view text) { return ColumnValue{ColumnValue::Kind::kText, text}; }

struct Reference {
  bool parsed = false;        // one JSON value, nothing after it
  bool number_error = false;  // refused for a number
  bool flat_object = false;   // an object of strings, numbers, booleans, null
  std::vector<std::pair<std::string_view, simdjson::dom::element>> fields;
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// RFC 8259's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsNumberToken(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.' && (++i, !digits())) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

// True if every run of number characters outside strings is a JSON number.
bool NumbersWellFormed(std::string_view json) {
  const std::string_view number_chars = "0123456789+-.eE";
  size_t i = 0;
  while (i < json.size()) {
    if (json[i] == '"') {
      for (++i; i < json.size() && json[i] != '"'; ++i) {
        if (json[i] == '\\') ++i;
      }
      ++i;
    } else if (json[i] == '-' || IsDigit(json[i])) {
      const size_t end = std::min(json.find_first_not_of(number_chars, i), json.size());
      if (!IsNumberToken(json.substr(i, end - i))) return false;
      i = end;
    } else if ((json[i] >= 'a' && json[i] <= 'z') || (json[i] >= 'A' && json[i] <= 'Z')) {
      // A word such as true (its 'e' is no exponent).
      while (i < json.size() && ((json[i] >= 'a' && json[i] <= 'z') ||
                                 (json[i] >= 'A' && json[i] <= 'Z') || IsDigit(json[i]))) {
        ++i;
      }
    } else {
      ++i;
    }
  }
  return true;
}

Reference ParseReference(simdjson::dom::parser& parser, const simdjson::padded_string& json) {
  Reference ref;
  simdjson::dom::element root;
  const simdjson::error_code error = parser.parse(json).get(root);
  if (error) {
    ref.number_error = error == simdjson::NUMBER_ERROR;
    return ref;
  }
  ref.parsed = true;
  simdjson::dom::object object;
  if (root.get_object().get(object)) return ref;
  ref.flat_object = true;
  for (const auto field : object) {
    const auto type = field.value.type();
    if (type == simdjson::dom::element_type::ARRAY || type == simdjson::dom::element_type::OBJECT) {
      ref.flat_object = false;
    }
    // The mapper drops a field named like one of its own headers.
    if (std::find(pgoutbox::outbox::kReservedHeaders.begin(),
                  pgoutbox::outbox::kReservedHeaders.end(),
                  field.key) != pgoutbox::outbox::kReservedHeaders.end()) {
      continue;
    }
    ref.fields.emplace_back(field.key, field.value);
  }
  return ref;
}

// The header value of a JSON number is its text: parsed alone it must be the
// same number the reference read.
void CheckNumber(std::string_view text, simdjson::dom::element expected) {
  simdjson::dom::parser parser;
  simdjson::dom::element alone;
  Check(!parser.parse(simdjson::padded_string(text)).get(alone));
  Check(alone.type() == expected.type());
  switch (expected.type()) {
    case simdjson::dom::element_type::INT64:
      Check(alone.get_int64().value_unsafe() == expected.get_int64().value_unsafe());
      break;
    case simdjson::dom::element_type::UINT64:
      Check(alone.get_uint64().value_unsafe() == expected.get_uint64().value_unsafe());
      break;
    default:
      Check(alone.get_double().value_unsafe() == expected.get_double().value_unsafe());
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static simdjson::dom::parser reference_parser;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  const simdjson::padded_string padded(json);
  const Reference ref = ParseReference(reference_parser, padded);

  auto created = EventMapper::Create({});
  Check(created.ok());
  EventMapper& mapper = **created;
  Check(mapper.OnRelation(OutboxRelation()).ok());
  pgoutput::Insert insert;
  insert.relation = pgoutbox::RelationId(16389);
  insert.new_tuple.columns = {
      Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
      Text("order"),
      Text("42"),
      Text("OrderCreated"),
      ColumnValue{},  // topic NULL: the template names it
      Text("{\"total\": 9.5}"),
      Text(json),
      Text("2024-05-06 07:08:09.123456+00"),
  };

  Event event;
  const bool mapped = mapper.Map(insert, &event).ok();
  if (ref.number_error) {
    if (mapped) Check(NumbersWellFormed(json));
    return 0;
  }
  Check(mapped == ref.flat_object);
  if (!mapped) return 0;

  Check(event.topic == "outbox.event.order");
  // pgoutbox's own headers first (kReservedHeaders), then the fields.
  const size_t own = pgoutbox::outbox::kReservedHeaders.size();
  Check(event.headers.size() == own + ref.fields.size());
  Check(event.headers[0].name == "id" && event.headers[1].name == "event_type" &&
        event.headers[2].name == "aggregate_type" && event.headers[3].name == "table" &&
        event.headers[3].value == "public.outbox");
  for (size_t i = 0; i < ref.fields.size(); ++i) {
    const auto& header = event.headers[own + i];
    const auto& [name, value] = ref.fields[i];
    Check(header.name == name);
    Check(header.is_null == (value.type() == simdjson::dom::element_type::NULL_VALUE));
    switch (value.type()) {
      case simdjson::dom::element_type::STRING:
        Check(header.value == value.get_string().value_unsafe());
        break;
      case simdjson::dom::element_type::BOOL:
        Check(header.value == (value.get_bool().value_unsafe() ? "true" : "false"));
        break;
      case simdjson::dom::element_type::NULL_VALUE:
        Check(header.value.empty());
        break;
      case simdjson::dom::element_type::INT64:
      case simdjson::dom::element_type::UINT64:
      case simdjson::dom::element_type::DOUBLE:
        CheckNumber(header.value, value);
        break;
      default:
        Check(false);
    }
  }

  // Owned copies, since the second Map reuses the parser the views point into.
  std::vector<std::pair<std::string, std::string>> first;
  for (const auto& header : event.headers) first.emplace_back(header.name, header.value);
  Event again;
  Check(mapper.Map(insert, &again).ok());
  Check(again.headers.size() == first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    Check(again.headers[i].name == first[i].first && again.headers[i].value == first[i].second);
  }
  return 0;
}
