#include "outbox/message_mapper.h"

#include <simdjson.h>

#include <array>

#include "common/text.h"
#include "outbox/json_scalar.h"
#include "outbox/mapper.h"

namespace pgoutbox::outbox {

namespace {

using simdjson::ondemand::json_type;

// The raw token of a number or boolean, checked (simdjson's on-demand
// parser does not check it): false if it is not valid JSON.
bool ScalarToken(simdjson::ondemand::value& value, json_type type, std::string_view* out) {
  *out = TrimJsonWhitespace(value.raw_json_token());
  if (type == json_type::number) return IsJsonNumber(*out);
  return *out == "true" || *out == "false";
}

bool IsReserved(std::string_view name) {
  for (std::string_view reserved : kReservedHeaders) {
    if (name == reserved) return true;
  }
  return false;
}

// The top-level fields a message event is made of.
enum Field { kId, kKey, kEventType, kAggregateType, kPayload, kHeaders, kFieldCount };
constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "id", "aggregate_id", "event_type", "aggregate_type", "payload", "headers"};

int FieldOf(std::string_view name) {
  for (size_t i = 0; i < kFieldNames.size(); ++i) {
    if (name == kFieldNames[i]) return static_cast<int>(i);
  }
  return -1;
}

// "message <prefix> at <lsn>", how errors name a message.
std::string MessageName(const pgoutput::LogicalMessage& message) {
  return "message " + std::string(message.prefix) + " at " + message.lsn.ToString();
}

}  // namespace

struct MessageMapper::Scratch {
  simdjson::ondemand::parser parser;
  std::string json;   // a padded copy of the content, as simdjson requires
  std::string id;     // the WAL position, for a message without an id
  std::string topic;  // the rendered topic
  // The scalar top-level fields, for the template's other placeholders.
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  std::vector<std::string_view> placeholder_values;
  std::vector<EventHeader> headers;  // the headers field's, in order
};

MessageMapper::MessageMapper(MessageMapperOptions options, TopicTemplate topic_template)
    : options_(std::move(options)),
      template_(std::move(topic_template)),
      scratch_(std::make_unique<Scratch>()) {}

MessageMapper::~MessageMapper() = default;

Result<std::unique_ptr<MessageMapper>> MessageMapper::Create(MessageMapperOptions options) {
  if (options.prefix == defaults::kHeartbeatPrefix) {
    return Status::InvalidArgument("--message-prefix " + options.prefix +
                                   " is the prefix of pgoutbox's own heartbeat messages");
  }
  ASSIGN_OR_RETURN(TopicTemplate topic_template, TopicTemplate::Parse(options.topic_template));
  return std::unique_ptr<MessageMapper>(
      new MessageMapper(std::move(options), std::move(topic_template)));
}

Status MessageMapper::Map(const pgoutput::LogicalMessage& message, Event* out) {
  bad_row_reason_ = {};
  if (!message.transactional()) {
    bad_row_reason_ = BadRowReason::kNonTransactional;
    return Status::InvalidArgument(
        MessageName(message) +
        " is not transactional (pg_logical_emit_message(false, ...)): the server sends such a "
        "message even when its transaction rolls back; write events with "
        "pg_logical_emit_message(true, ...)");
  }
  return MapContent(message, out);
}

Status MessageMapper::MapContent(const pgoutput::LogicalMessage& message, Event* out) {
  Scratch& scratch = *scratch_;
  const std::string_view content = message.content;
  scratch.headers.clear();
  out->id = {};
  out->payload = {};
  out->payload_is_null = false;
  out->key_is_null = false;
  scratch.fields.clear();
  bad_row_reason_ = BadRowReason::kMessage;
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(MessageName(message) + ": " + why);
  };
  auto bad_token = [&](std::string_view token) {
    return bad("content is not valid JSON: bad token \"" + std::string(token.substr(0, 64)) + "\"");
  };
  auto invalid = [&](simdjson::error_code error) {
    return bad(std::string("content is not valid JSON: ") + simdjson::error_message(error));
  };

  scratch.json.assign(content);
  scratch.json.append(simdjson::SIMDJSON_PADDING, ' ');
  simdjson::ondemand::document doc;
  simdjson::error_code error =
      scratch.parser.iterate(scratch.json.data(), content.size(), scratch.json.size()).get(doc);
  if (error) return invalid(error);
  json_type type;
  if ((error = doc.type().get(type))) return invalid(error);
  if (type != json_type::object) {
    // What it starts with: the type a first character suggests may not be
    // valid JSON at all ("not json" looks like null).
    std::string start(content.substr(0, 32));
    for (char& c : start) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    }
    return bad("content is not a JSON object: it starts with \"" + start + "\"");
  }
  simdjson::ondemand::object object;
  if ((error = doc.get_object().get(object))) return invalid(error);

  std::array<bool, kFieldCount> seen{};
  for (auto field_result : object) {
    simdjson::ondemand::field field;
    if ((error = std::move(field_result).get(field))) return invalid(error);
    std::string_view key;
    if ((error = field.unescaped_key().get(key))) return invalid(error);
    simdjson::ondemand::value value = field.value();
    json_type value_type;
    if ((error = value.type().get(value_type))) return invalid(error);
    const int f = FieldOf(key);
    if (f >= 0) {
      if (seen[f]) return bad("field \"" + std::string(key) + "\" appears twice");
      seen[f] = true;
    }
    auto want = [&](const char* what) {
      return bad("field \"" + std::string(key) + "\" is " + JsonTypeName(value_type) +
                 "; it must be " + what);
    };
    switch (f) {
      case kId:
      case kEventType:
      case kAggregateType: {
        if (value_type != json_type::string) return want("a string");
        std::string_view text;
        if ((error = value.get_string().get(text))) return invalid(error);
        if (f == kId) out->id = text;
        if (f == kEventType) out->event_type = text;
        if (f == kAggregateType) out->aggregate_type = text;
        if (f == kId && text.empty()) return bad("field \"id\" is empty");
        break;
      }
      case kKey: {
        if (value_type == json_type::string) {
          if ((error = value.get_string().get(out->key))) return invalid(error);
        } else if (value_type == json_type::number) {
          if (!ScalarToken(value, value_type, &out->key)) return bad_token(out->key);
        } else {
          return want("a string or a number");
        }
        break;
      }
      case kPayload: {
        switch (value_type) {
          case json_type::string:
            if ((error = value.get_string().get(out->payload))) return invalid(error);
            break;
          case json_type::null:
            out->payload_is_null = true;
            if ((error = value.is_null().error())) return invalid(error);
            break;
          case json_type::object: {
            simdjson::ondemand::object inner;
            if ((error = value.get_object().get(inner))) return invalid(error);
            if ((error = inner.raw_json().get(out->payload))) return invalid(error);
            break;
          }
          case json_type::array: {
            simdjson::ondemand::array inner;
            if ((error = value.get_array().get(inner))) return invalid(error);
            if ((error = inner.raw_json().get(out->payload))) return invalid(error);
            break;
          }
          default:
            if (!ScalarToken(value, value_type, &out->payload)) return bad_token(out->payload);
            break;
        }
        break;
      }
      case kHeaders: {
        bad_row_reason_ = BadRowReason::kHeaders;
        if (value_type == json_type::null) break;
        if (value_type != json_type::object) return want("an object");
        simdjson::ondemand::object headers;
        if ((error = value.get_object().get(headers))) return invalid(error);
        for (auto header_result : headers) {
          simdjson::ondemand::field header_field;
          if ((error = std::move(header_result).get(header_field))) return invalid(error);
          EventHeader header;
          if ((error = header_field.unescaped_key().get(header.name))) return invalid(error);
          simdjson::ondemand::value header_value = header_field.value();
          json_type header_type;
          if ((error = header_value.type().get(header_type))) return invalid(error);
          switch (header_type) {
            case json_type::string:
              if ((error = header_value.get_string().get(header.value))) return invalid(error);
              break;
            case json_type::number:
            case json_type::boolean:
              if (!ScalarToken(header_value, header_type, &header.value)) {
                return bad_token(header.value);
              }
              break;
            case json_type::null:
              header.is_null = true;
              if ((error = header_value.is_null().error())) return invalid(error);
              break;
            default:
              return bad("headers field \"" + std::string(header.name) + "\" is " +
                         JsonTypeName(header_type) +
                         "; header values must be strings, numbers, booleans or null");
          }
          if (!IsReserved(header.name)) scratch.headers.push_back(header);
        }
        bad_row_reason_ = BadRowReason::kMessage;
        break;
      }
      default: {
        // Kept for the template's placeholders.
        if (value_type == json_type::string) {
          std::string_view text;
          if ((error = value.get_string().get(text))) return invalid(error);
          scratch.fields.emplace_back(key, text);
        } else if (value_type == json_type::number) {
          std::string_view token;
          if (!ScalarToken(value, value_type, &token)) return bad_token(token);
          scratch.fields.emplace_back(key, token);
        }
        break;
      }
    }
  }
  // The object must be the whole document.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return bad("unexpected content after the object");
  }
  for (int f : {kKey, kEventType, kAggregateType, kPayload}) {
    if (!seen[f]) return bad("field \"" + std::string(kFieldNames[f]) + "\" is missing");
  }
  if (!seen[kId]) {
    // The WAL position: the same when the server sends the message again.
    scratch.id = message.lsn.ToString();
    out->id = scratch.id;
  }

  bad_row_reason_ = BadRowReason::kTopic;
  if (template_.is_constant()) {
    out->topic = template_.text();
  } else {
    const std::vector<std::string>& placeholders = template_.placeholders();
    std::vector<std::string_view>& values = scratch.placeholder_values;
    values.clear();
    for (const std::string& placeholder : placeholders) {
      std::optional<std::string_view> v;
      if (placeholder == "id") {
        v = out->id;
      } else if (placeholder == "key" || placeholder == "aggregate_id") {
        v = out->key;
      } else if (placeholder == "event_type") {
        v = out->event_type;
      } else if (placeholder == "aggregate_type") {
        v = out->aggregate_type;
      } else {
        for (const auto& [field_name, field_value] : scratch.fields) {
          if (field_name == placeholder) v = field_value;
        }
      }
      if (!v) {
        bad_row_reason_ = BadRowReason::kNullColumn;
        return bad("topic template placeholder {" + placeholder +
                   "} has no value: the message has no string or number field \"" + placeholder +
                   "\"");
      }
      values.push_back(*v);
    }
    template_.Render([&](size_t i) { return values[i]; }, &scratch.topic);
    out->topic = scratch.topic;
  }
  if (!IsValidTopicName(out->topic)) {
    return bad("topic \"" + std::string(out->topic) + "\" is not a valid Kafka topic name (" +
               std::string(kTopicNameRule) + "); it was rendered from --topic template " +
               template_.text());
  }
  out->headers.clear();
  out->headers.push_back(EventHeader{"id", out->id, false});
  out->headers.push_back(EventHeader{"event_type", out->event_type, false});
  out->headers.push_back(EventHeader{"aggregate_type", out->aggregate_type, false});
  out->headers.insert(out->headers.end(), scratch.headers.begin(), scratch.headers.end());
  bad_row_reason_ = {};
  return Status::Ok();
}

}  // namespace pgoutbox::outbox
