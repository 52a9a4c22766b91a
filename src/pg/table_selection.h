// TableSelection: which tables are outbox tables, as `--table` names them:
// one or more entries, each "schema.table" or "table" (schema public), where
// either part may hold `*` wildcards ("tenant_*.outbox" is the outbox table
// of every schema whose name starts with "tenant_"). Unquoted names fold to
// lower case like PostgreSQL's; a quoted part ("My Schema") keeps its case,
// and a `*` inside quotes is a literal star.
//
// Thread safety: an immutable value once parsed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "pg/catalog.h"

namespace pgoutbox::pg {

// One entry of the selection. A part without a wildcard matches that one
// name; with wildcards, a name that the glob matches (`*`: any run of
// characters, also none).
struct TablePattern {
  std::string schema;  // as folded/unquoted; `*` wildcards where schema_glob
  std::string name;
  bool schema_glob = false;  // `schema` holds wildcards
  bool name_glob = false;

  bool IsExact() const { return !schema_glob && !name_glob; }
  // REQUIRES: IsExact().
  TableName Exact() const { return TableName{schema, name}; }
  bool Matches(const TableName& table) const;
  // As given, normalized: "public.outbox", "tenant_*.outbox".
  std::string ToString() const;
};

class TableSelection {
 public:
  // Parses the entries (at least one; duplicates are dropped). InvalidArgument
  // naming the bad entry and `flag`.
  static Result<TableSelection> Parse(const std::vector<std::string>& entries,
                                      std::string_view flag = "--table");
  // One exact table.
  static TableSelection Of(const TableName& table);

  const std::vector<TablePattern>& patterns() const { return patterns_; }
  // Whether some entry holds a wildcard (tables may appear later).
  bool HasWildcards() const;
  // The entries without wildcards, in the order given.
  std::vector<TableName> ExactTables() const;
  bool Matches(const TableName& table) const;
  // "public.outbox" or "tenant_*.outbox, public.outbox".
  std::string ToString() const;

 private:
  std::vector<TablePattern> patterns_;
};

// Whether `text` matches `glob`, where `*` matches any run of characters.
// Pure.
bool GlobMatch(std::string_view glob, std::string_view text);

}  // namespace pgoutbox::pg
