#include "outbox/pg_types.h"

namespace pgoutbox::outbox {

bool IsUsableType(FieldRole role, uint32_t type_oid) {
  using namespace pg_type;  // NOLINT(build/namespaces): local to this function
  // User-defined types (enums, domains over text) print as text: fine for the
  // fields that become header values or the key, not for payload or headers.
  constexpr uint32_t kFirstUserOid = 16384;
  if (type_oid >= kFirstUserOid && role != FieldRole::kPayload && role != FieldRole::kHeaders) {
    return true;
  }
  switch (role) {
    case FieldRole::kId:
      switch (type_oid) {
        case kUuid:
        case kText:
        case kVarchar:
        case kBpchar:
        case kInt2:
        case kInt4:
        case kInt8:
        case kNumeric:
          return true;
      }
      return false;
    case FieldRole::kKey:
    case FieldRole::kEventType:
    case FieldRole::kAggregateType:
    case FieldRole::kTopic:
      switch (type_oid) {
        case kText:
        case kVarchar:
        case kBpchar:
        case kName:
        case kUuid:
        case kInt2:
        case kInt4:
        case kInt8:
          return true;
      }
      return false;
    case FieldRole::kPayload:
      switch (type_oid) {
        case kJsonb:
        case kJson:
        case kText:
        case kVarchar:
        case kBytea:
          return true;
      }
      return false;
    case FieldRole::kHeaders:
      return type_oid == kJsonb || type_oid == kJson;
  }
  return false;
}

std::string_view UsableTypeNames(FieldRole role) {
  switch (role) {
    case FieldRole::kId:
      return "uuid, text, varchar, char, int2, int4, int8 or numeric";
    case FieldRole::kKey:
    case FieldRole::kEventType:
    case FieldRole::kAggregateType:
    case FieldRole::kTopic:
      return "text, varchar, char, name, uuid, int2, int4 or int8";
    case FieldRole::kPayload:
      return "jsonb, json, text, varchar or bytea";
    case FieldRole::kHeaders:
      return "jsonb or json";
  }
  return "";
}

std::string_view TypeName(uint32_t type_oid) {
  using namespace pg_type;  // NOLINT(build/namespaces): local to this function
  switch (type_oid) {
    case kBool:
      return "bool";
    case kBytea:
      return "bytea";
    case kName:
      return "name";
    case kInt8:
      return "int8";
    case kInt2:
      return "int2";
    case kInt4:
      return "int4";
    case kText:
      return "text";
    case kOid:
      return "oid";
    case kJson:
      return "json";
    case kFloat4:
      return "float4";
    case kFloat8:
      return "float8";
    case kBpchar:
      return "char";
    case kVarchar:
      return "varchar";
    case kDate:
      return "date";
    case kTimestamp:
      return "timestamp";
    case kTimestamptz:
      return "timestamptz";
    case kNumeric:
      return "numeric";
    case kUuid:
      return "uuid";
    case kJsonb:
      return "jsonb";
  }
  return "";
}

}  // namespace pgoutbox::outbox
