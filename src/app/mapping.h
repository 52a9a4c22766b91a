// MappingConfig: how outbox rows become Kafka records (the column map, the
// topic template), as `run` and `replay` both take it from the command line;
// and the EventMapper it gives for the table, the same for both, so that a
// replayed row becomes the record the stream made of it.
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

namespace pgoutbox::app {

struct MappingConfig {
  std::string preset;  // "" or "debezium"
  outbox::ColumnMap columns;
  bool headers_column_explicit = false;  // --column-headers given
  bool topic_column_explicit = false;    // --column-topic given
  std::string topic_template{defaults::kTopicTemplate};
};

// The mapper for `table`, whose columns are `columns` (the catalog's),
// checked against them. The optional headers and topic columns are left out
// (with an info line) when the table lacks them and the user did not name
// them. The table's problems are NotFound or FailedPrecondition (exit 1), a
// --topic placeholder that names nothing InvalidArgument (exit 2), as
// EventMapper::CheckColumns says.
Result<std::unique_ptr<outbox::EventMapper>> MakeMapper(const MappingConfig& config,
                                                        const pg::TableName& table,
                                                        const std::vector<pg::ColumnInfo>& columns);

}  // namespace pgoutbox::app
