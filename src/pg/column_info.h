// ColumnInfo: a table column as the catalog (pg::TableColumns) or a pgoutput
// Relation message describes it, by name and type OID.
//
// A plain value: copied freely, no thread-safety concerns, nothing can fail.
// It lives in pg (below outbox) so that the catalog can report a table's
// columns without knowing what the outbox mapper does with them.
#pragma once

#include <cstdint>
#include <string>

namespace pgoutbox::pg {

struct ColumnInfo {
  std::string name;
  uint32_t type_oid = 0;
};

}  // namespace pgoutbox::pg
