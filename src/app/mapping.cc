#include "app/mapping.h"

#include <spdlog/spdlog.h>

namespace pgoutbox::app {

namespace {

// Says which optional mapped columns (headers, topic) `table` lacks, when
// the user did not name them (the mapper then maps its rows without them).
void LogMissingOptionalColumns(const outbox::MapperOptions& options, const OutboxTable& table) {
  const outbox::ColumnMap& map = options.columns;
  if (!map.headers.empty() && !options.headers_column_required &&
      !pg::HasColumn(table.columns, map.headers)) {
    spdlog::info(
        "table {} has no column {}: no headers beyond id, event_type, aggregate_type, table",
        table.name.ToString(), map.headers);
  }
  if (!map.topic.empty() && !options.topic_column_required &&
      !pg::HasColumn(table.columns, map.topic)) {
    spdlog::info("table {} has no column {}: every topic comes from the template",
                 table.name.ToString(), map.topic);
  }
}

}  // namespace

Result<std::unique_ptr<outbox::EventMapper>> MakeMapper(const MappingConfig& config,
                                                        const pg::TableSelection& selection,
                                                        const std::vector<OutboxTable>& tables) {
  outbox::MapperOptions options;
  options.tables = selection;
  options.columns = config.columns;
  options.headers_column_required = config.headers_column_explicit;
  options.topic_column_required = config.topic_column_explicit;
  options.topic_template = config.topic_template;
  ASSIGN_OR_RETURN(auto mapper, outbox::EventMapper::Create(options));
  // A table that does not fit the mapping is the database's problem (exit
  // 1); a --topic placeholder that names nothing is the command line's (2).
  for (const OutboxTable& table : tables) {
    RETURN_IF_ERROR(mapper->CheckColumns(table.name, table.columns));
    LogMissingOptionalColumns(options, table);
  }
  return mapper;
}

}  // namespace pgoutbox::app
