// ColumnInfo: a table column as the catalog (pg::TableColumns) or a pgoutput
// Relation message describes it, by name and type OID.
//
// A plain value: copied freely, no thread-safety concerns, nothing can fail.
// It lives in pg (below outbox) so that the catalog can report a table's
// columns without knowing what the outbox mapper does with them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pgoutbox::pg {

struct ColumnInfo {
  std::string name;
  uint32_t type_oid = 0;
};

// Whether `columns` has one named `name`.
inline bool HasColumn(const std::vector<ColumnInfo>& columns, const std::string& name) {
  for (const ColumnInfo& c : columns) {
    if (c.name == name) return true;
  }
  return false;
}

}  // namespace pgoutbox::pg
