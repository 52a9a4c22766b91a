// The messages of PostgreSQL's pgoutput logical decoding plugin, protocol
// version 1, as plain structs.
//
// Ownership: every std::string_view in these structs points into the byte
// buffer the message was decoded from; a decoded message is valid only while
// that buffer is alive and unchanged.
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "common/types.h"

namespace pgoutbox::pgoutput {

// One column of a TupleData.
struct ColumnValue {
  enum class Kind : char {
    kNull = 'n',
    kUnchangedToast = 'u',
    kText = 't',
    kBinary = 'b',
  };
  Kind kind = Kind::kNull;
  std::string_view data;  // empty unless kText or kBinary
};

struct TupleData {
  std::vector<ColumnValue> columns;
};

struct Begin {    // 'B'
  Lsn final_lsn;  // LSN of the commit record
  PgTimestamp commit_time;
  TransactionId xid;
};

struct Commit {  // 'C'
  uint8_t flags = 0;
  Lsn commit_lsn;
  Lsn end_lsn;  // end of the commit record: the position to confirm
  PgTimestamp commit_time;
};

struct Origin {  // 'O'
  Lsn commit_lsn;
  std::string_view name;
};

struct RelationColumn {
  uint8_t flags = 0;  // 1 = part of the replica identity key
  std::string_view name;
  uint32_t type_oid = 0;
  int32_t type_modifier = -1;
};

struct Relation {  // 'R'
  RelationId id;
  std::string_view namespace_name;  // empty means pg_catalog
  std::string_view relation_name;
  uint8_t replica_identity = 0;
  std::vector<RelationColumn> columns;
};

struct Type {  // 'Y'
  uint32_t type_oid = 0;
  std::string_view namespace_name;
  std::string_view type_name;
};

struct Insert {  // 'I'
  RelationId relation;
  TupleData new_tuple;
};

struct Update {  // 'U'
  RelationId relation;
  char old_kind = 0;  // 0 (no old tuple), 'K' (key columns) or 'O' (whole old row)
  TupleData old_tuple;
  TupleData new_tuple;
};

struct Delete {  // 'D'
  RelationId relation;
  char old_kind = 'K';  // 'K' or 'O'
  TupleData old_tuple;
};

struct Truncate {       // 'T'
  uint8_t options = 0;  // 1 = CASCADE, 2 = RESTART IDENTITY
  std::vector<RelationId> relations;
};

struct LogicalMessage {  // 'M'
  uint8_t flags = 0;     // 1 = transactional
  Lsn lsn;
  std::string_view prefix;
  std::string_view content;
  bool transactional() const { return (flags & 1) != 0; }
};

using Message = std::variant<Begin, Commit, Origin, Relation, Type, Insert, Update, Delete,
                             Truncate, LogicalMessage>;

}  // namespace pgoutbox::pgoutput
