// TableRowMapper: maps outbox rows read from the table (pg::RowReader) with
// the EventMapper, exactly as the stream maps the inserts of the same rows.
//
// pgoutput sends a row's values in PostgreSQL's text output format, the same
// text libpq returns for a query (bytea as "\x" hex, json and jsonb as text,
// NULL as null). So a row read from the table is handed to the mapper in the
// shape of the stream's messages: a Relation made of the table's columns
// (TableColumns) and an Insert whose values view the row's text. The mapper
// then does all of the mapping (keys, headers, topic, bytea) and its error
// and bad_row_reason(): nothing of it is repeated here, so a row's record is
// the same byte for byte whether it was streamed or read from the table.
//
// Ownership: borrows the mapper, which must outlive it. Thread safety: one
// thread, like the mapper.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/types.h"
#include "outbox/event.h"
#include "outbox/mapper.h"
#include "pg/catalog.h"
#include "pg/column_info.h"
#include "pgoutput/messages.h"

namespace pgoutbox::outbox {

class TableRowMapper {
 public:
  // The relation id rows read from the table are mapped under: InvalidOid,
  // which no table has, so it never stands for a streamed relation.
  static constexpr RelationId kTableRelation{0};

  // Declares outbox table `table`'s layout (`columns`, in the order the
  // rows hold their values) to `mapper`. The error of EventMapper::OnRelation
  // when the layout does not fit the mapping. Rows of several tables are
  // mapped one table after another: a new TableRowMapper per table replaces
  // the previous one's layout.
  static Result<TableRowMapper> Create(EventMapper* mapper, const pg::TableName& table,
                                       const std::vector<pg::ColumnInfo>& columns);

  // Maps one row (values in the order of `columns`, NULL as nullopt). On
  // failure the mapper's bad_row_reason() tells whether the row is at fault,
  // as for EventMapper::Map. *out's views point into `values` and the
  // mapper's scratch space: valid until the next Map and while `values` is
  // alive and unchanged.
  Status Map(const std::vector<std::optional<std::string>>& values, Event* out);

  // The last row given to Map as the Insert the mapper saw, for
  // core::DeadLetter::FromRow; valid as long as Map's `values`.
  const pgoutput::Insert& insert() const { return insert_; }

 private:
  explicit TableRowMapper(EventMapper* mapper) : mapper_(mapper) {}

  EventMapper* mapper_;
  pgoutput::Insert insert_;
};

}  // namespace pgoutbox::outbox
