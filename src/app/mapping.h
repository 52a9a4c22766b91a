// MappingConfig: how outbox rows become Kafka records (the column map, the
// topic template), as `run` and `replay` both take it from the command line;
// and the EventMapper it gives for the outbox tables, the same for both, so
// that a replayed row becomes the record the stream made of it.
//
// Thread safety: a plain value and a function of its arguments.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/defaults.h"
#include "common/status.h"
#include "outbox/column_map.h"
#include "outbox/mapper.h"
#include "pg/catalog.h"
#include "pg/column_info.h"
#include "pg/table_selection.h"

namespace pgoutbox::app {

struct MappingConfig {
  std::string preset;  // "" or "debezium"
  outbox::ColumnMap columns;
  bool headers_column_explicit = false;  // --column-headers given
  bool topic_column_explicit = false;    // --column-topic given
  std::string topic_template{defaults::kTopicTemplate};
};

// An outbox table and its columns (the catalog's).
struct OutboxTable {
  pg::TableName name;
  std::vector<pg::ColumnInfo> columns;
};

// The mapper for the outbox tables `selection` matches, with every table of
// `tables` checked against it (each table may have its own layout). The
// optional headers and topic columns are optional per table when the user
// did not name them: a table that lacks one has none (an info line says
// so), another table that has it uses it. A table's problems are NotFound or
// FailedPrecondition (exit 1), a --topic placeholder that names nothing
// InvalidArgument (exit 2), as EventMapper::CheckColumns says; every
// message names its table.
Result<std::unique_ptr<outbox::EventMapper>> MakeMapper(const MappingConfig& config,
                                                        const pg::TableSelection& selection,
                                                        const std::vector<OutboxTable>& tables);

}  // namespace pgoutbox::app
