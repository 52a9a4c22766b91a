#include "core/delivery_state.h"

#include <simdjson.h>

#include <charconv>

#include "common/json_escape.h"

namespace pgoutbox::core {

namespace {

std::string Quoted(std::string_view text) { return "\"" + JsonEscape(text) + "\""; }

Status Malformed(std::string_view what) {
  return Status::Corruption("state record: " + std::string(what));
}

// A required string field of `object`.
Result<std::string> StringField(simdjson::ondemand::object& object, std::string_view name) {
  std::string_view value;
  if (object[name].get_string().get(value) != simdjson::SUCCESS) {
    return Malformed("no string field \"" + std::string(name) + "\"");
  }
  return std::string(value);
}

Result<uint64_t> NumberField(simdjson::ondemand::object& object, std::string_view name) {
  uint64_t value = 0;
  if (object[name].get_uint64().get(value) != simdjson::SUCCESS) {
    return Malformed("no unsigned number field \"" + std::string(name) + "\"");
  }
  return value;
}

Result<Lsn> LsnField(simdjson::ondemand::object& object, std::string_view name) {
  ASSIGN_OR_RETURN(std::string text, StringField(object, name));
  auto lsn = Lsn::Parse(text);
  if (!lsn) return Malformed("\"" + std::string(name) + "\" is not a WAL position: " + text);
  return *lsn;
}

}  // namespace

const char* DeliveryPhaseName(DeliveryPhase phase) {
  return phase == DeliveryPhase::kRecovering ? "recovering" : "streaming";
}

std::string DeliveryStateKey(std::string_view database, std::string_view slot) {
  return std::string(database) + "/" + std::string(slot);
}

std::string DeliveryState::ToJson() const {
  std::string s = "{\"version\":1,\"system_identifier\":" + Quoted(system_identifier) +
                  ",\"timeline\":" + std::to_string(timeline) +
                  ",\"database\":" + Quoted(database) + ",\"slot\":" + Quoted(slot) +
                  ",\"confirmed\":" + Quoted(confirmed.ToString()) +
                  ",\"phase\":" + Quoted(DeliveryPhaseName(phase));
  if (mark) {
    s += ",\"mark\":{\"insert_lsn\":" + Quoted(mark->insert_lsn.ToString()) +
         ",\"xmin\":" + std::to_string(mark->xmin) + ",\"taken_at\":" + Quoted(mark->taken_at) +
         "}";
  }
  return s + "}";
}

Result<DeliveryState> DeliveryState::Parse(std::string_view json) {
  simdjson::padded_string padded(json);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return Malformed("not JSON");
  simdjson::ondemand::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) return Malformed("not a JSON object");
  // Fields are looked up by name; on-demand objects are read in order, so
  // each lookup resets to the start (order does not matter to the reader).
  DeliveryState state;
  ASSIGN_OR_RETURN(uint64_t version, NumberField(object, "version"));
  if (version != 1) return Malformed("version " + std::to_string(version) + " is unknown");
  object.reset();
  ASSIGN_OR_RETURN(state.system_identifier, StringField(object, "system_identifier"));
  object.reset();
  ASSIGN_OR_RETURN(uint64_t timeline, NumberField(object, "timeline"));
  if (timeline == 0 || timeline > UINT32_MAX) return Malformed("timeline out of range");
  state.timeline = static_cast<uint32_t>(timeline);
  object.reset();
  ASSIGN_OR_RETURN(state.database, StringField(object, "database"));
  object.reset();
  ASSIGN_OR_RETURN(state.slot, StringField(object, "slot"));
  object.reset();
  ASSIGN_OR_RETURN(state.confirmed, LsnField(object, "confirmed"));
  object.reset();
  ASSIGN_OR_RETURN(std::string phase, StringField(object, "phase"));
  if (phase == "streaming") {
    state.phase = DeliveryPhase::kStreaming;
  } else if (phase == "recovering") {
    state.phase = DeliveryPhase::kRecovering;
  } else {
    return Malformed("phase \"" + phase + "\" is unknown");
  }
  object.reset();
  simdjson::ondemand::object mark;
  auto field = object["mark"];
  if (field.error() == simdjson::NO_SUCH_FIELD) return state;
  if (field.get_object().get(mark) != simdjson::SUCCESS)
    return Malformed("\"mark\" is not an object");
  pg::DeliveredMark m;
  ASSIGN_OR_RETURN(m.insert_lsn, LsnField(mark, "insert_lsn"));
  mark.reset();
  ASSIGN_OR_RETURN(m.xmin, NumberField(mark, "xmin"));
  mark.reset();
  ASSIGN_OR_RETURN(m.taken_at, StringField(mark, "taken_at"));
  state.mark = std::move(m);
  return state;
}

}  // namespace pgoutbox::core
