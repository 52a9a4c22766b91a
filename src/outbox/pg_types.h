// PostgreSQL type OIDs the outbox mapper knows, and which of them each part of
// an event may be stored in.
//
// The OIDs are those of the built-in types (src/include/catalog/pg_type.dat);
// they are fixed across PostgreSQL versions. A column whose type is a domain
// or an enum has an OID of its own (>= 16384): accepted for the fields that
// are used as text (id, key, event type, aggregate type, topic), not for the
// payload or headers.
//
// Thread safety: constants and pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace pgoutbox::outbox {

namespace pg_type {
inline constexpr uint32_t kBool = 16;
inline constexpr uint32_t kBytea = 17;
inline constexpr uint32_t kName = 19;
inline constexpr uint32_t kInt8 = 20;
inline constexpr uint32_t kInt2 = 21;
inline constexpr uint32_t kInt4 = 23;
inline constexpr uint32_t kText = 25;
inline constexpr uint32_t kOid = 26;
inline constexpr uint32_t kJson = 114;
inline constexpr uint32_t kFloat4 = 700;
inline constexpr uint32_t kFloat8 = 701;
inline constexpr uint32_t kBpchar = 1042;
inline constexpr uint32_t kVarchar = 1043;
inline constexpr uint32_t kDate = 1082;
inline constexpr uint32_t kTimestamp = 1114;
inline constexpr uint32_t kTimestamptz = 1184;
inline constexpr uint32_t kNumeric = 1700;
inline constexpr uint32_t kUuid = 2950;
inline constexpr uint32_t kJsonb = 3802;
}  // namespace pg_type

// The parts of an event that come from a column of their own.
enum class FieldRole { kId, kKey, kEventType, kAggregateType, kPayload, kTopic, kHeaders };

// True if a column of type `type_oid` can hold `role`:
//   id: uuid, text, varchar, bpchar, int2, int4, int8, numeric;
//   key, event type, aggregate type, topic: text, varchar, bpchar, name, uuid,
//     int2, int4, int8;
//   payload: jsonb, json, text, varchar, bytea;
//   headers: jsonb, json.
bool IsUsableType(FieldRole role, uint32_t type_oid);

// The types IsUsableType accepts for `role`, for error messages:
// "jsonb, json, text, varchar or bytea".
std::string_view UsableTypeNames(FieldRole role);

// The SQL name of a built-in type ("int4"), or "" if the OID is not one of the
// constants above.
std::string_view TypeName(uint32_t type_oid);

}  // namespace pgoutbox::outbox
