#include "outbox/table_row.h"

namespace pgoutbox::outbox {

Result<TableRowMapper> TableRowMapper::Create(EventMapper* mapper, const pg::TableName& table,
                                              const std::vector<pg::ColumnInfo>& columns) {
  // The views of the relation need to live only during OnRelation, which
  // copies what it keeps.
  pgoutput::Relation relation;
  relation.id = kTableRelation;
  relation.namespace_name = table.schema;
  relation.relation_name = table.name;
  relation.columns.reserve(columns.size());
  for (const pg::ColumnInfo& column : columns) {
    relation.columns.push_back(pgoutput::RelationColumn{0, column.name, column.type_oid, -1});
  }
  RETURN_IF_ERROR(mapper->OnRelation(relation));
  TableRowMapper row_mapper(mapper);
  row_mapper.insert_.relation = kTableRelation;
  return row_mapper;
}

Status TableRowMapper::Map(const std::vector<std::optional<std::string>>& values, Event* out) {
  std::vector<pgoutput::ColumnValue>& tuple = insert_.new_tuple.columns;
  tuple.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i]) {
      tuple[i] = {pgoutput::ColumnValue::Kind::kText, *values[i]};
    } else {
      tuple[i] = {pgoutput::ColumnValue::Kind::kNull, {}};
    }
  }
  return mapper_->Map(insert_, out);
}

}  // namespace pgoutbox::outbox
