#include "app/mapping.h"

#include <spdlog/spdlog.h>

namespace pgoutbox::app {

namespace {

// Drops optional mapped columns (headers, topic) that the table does not have,
// unless the user named them explicitly.
void DropMissingOptionalColumns(const MappingConfig& config, const pg::TableName& table,
                                const std::vector<pg::ColumnInfo>& columns,
                                outbox::ColumnMap* map) {
  if (!map->headers.empty() && !config.headers_column_explicit &&
      !pg::HasColumn(columns, map->headers)) {
    spdlog::info("table {} has no column {}: no headers beyond id, event_type, aggregate_type",
                 table.ToString(), map->headers);
    map->headers.clear();
  }
  if (!map->topic.empty() && !config.topic_column_explicit && !pg::HasColumn(columns, map->topic)) {
    spdlog::info("table {} has no column {}: every topic comes from the template", table.ToString(),
                 map->topic);
    map->topic.clear();
  }
}

}  // namespace

Result<std::unique_ptr<outbox::EventMapper>> MakeMapper(
    const MappingConfig& config, const pg::TableName& table,
    const std::vector<pg::ColumnInfo>& columns) {
  outbox::MapperOptions options;
  options.schema = table.schema;
  options.table = table.name;
  options.columns = config.columns;
  options.topic_template = config.topic_template;
  DropMissingOptionalColumns(config, table, columns, &options.columns);
  ASSIGN_OR_RETURN(auto mapper, outbox::EventMapper::Create(options));
  // A table that does not fit the mapping is the database's problem (exit
  // 1); a --topic placeholder that names nothing is the command line's (2).
  RETURN_IF_ERROR(mapper->CheckColumns(columns));
  return mapper;
}

}  // namespace pgoutbox::app
