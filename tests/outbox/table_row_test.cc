// TableRowMapper: a row read from the table (text values, NULL as nullopt)
// maps to the same record, byte for byte, as the insert of the same row the
// stream decodes; bad rows fail the same way, with the same bad_row_reason.
#include "outbox/table_row.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "outbox/mapper.h"
#include "outbox/pg_types.h"

namespace pgoutbox::outbox {
namespace {

using Row = std::vector<std::optional<std::string>>;

// The canonical table (sql/outbox.sql), with a bytea payload when asked.
std::vector<pg::ColumnInfo> Columns(uint32_t payload_type = pg_type::kJsonb) {
  return {{"id", pg_type::kUuid},           {"aggregate_type", pg_type::kText},
          {"aggregate_id", pg_type::kText}, {"event_type", pg_type::kText},
          {"topic", pg_type::kText},        {"payload", payload_type},
          {"headers", pg_type::kJsonb},     {"created_at", pg_type::kTimestamptz}};
}

const pg::TableName kOutbox{"public", "outbox"};

std::unique_ptr<EventMapper> NewMapper(const std::string& topic_template) {
  MapperOptions options;
  options.topic_template = topic_template;
  auto mapper = EventMapper::Create(options);
  EXPECT_TRUE(mapper.ok()) << mapper.status().ToString();
  return std::move(*mapper);
}

// An Event as owned strings, to compare two of them.
struct Record {
  std::string id, key, topic, payload;
  bool key_is_null, payload_is_null;
  std::vector<std::tuple<std::string, std::string, bool>> headers;
  bool operator==(const Record&) const = default;
};

Record Copy(const Event& e) {
  Record r{std::string(e.id),
           std::string(e.key),
           std::string(e.topic),
           std::string(e.payload),
           e.key_is_null,
           e.payload_is_null,
           {}};
  for (const EventHeader& h : e.headers) {
    r.headers.emplace_back(std::string(h.name), std::string(h.value), h.is_null);
  }
  return r;
}

// What the stream does with the row: a Relation message of the table (the
// server's oid for it) and an Insert of text values.
Result<Record> MapStreamed(EventMapper* mapper, const std::vector<pg::ColumnInfo>& columns,
                           const Row& row) {
  pgoutput::Relation relation;
  relation.id = RelationId(16384);
  relation.namespace_name = "public";
  relation.relation_name = "outbox";
  for (const auto& c : columns) relation.columns.push_back({1, c.name, c.type_oid, -1});
  RETURN_IF_ERROR(mapper->OnRelation(relation));
  pgoutput::Insert insert;
  insert.relation = relation.id;
  for (const auto& v : row) {
    insert.new_tuple.columns.push_back(
        v ? pgoutput::ColumnValue{pgoutput::ColumnValue::Kind::kText, *v}
          : pgoutput::ColumnValue{pgoutput::ColumnValue::Kind::kNull, {}});
  }
  Event event;
  RETURN_IF_ERROR(mapper->Map(insert, &event));
  return Copy(event);
}

Result<Record> MapFromTable(EventMapper* mapper, const std::vector<pg::ColumnInfo>& columns,
                            const Row& row) {
  ASSIGN_OR_RETURN(TableRowMapper rows, TableRowMapper::Create(mapper, kOutbox, columns));
  Event event;
  RETURN_IF_ERROR(rows.Map(row, &event));
  return Copy(event);
}

const Row kRow = {"5b0e6a6c-4b8e-4d4e-9a51-3f0d1c2b7a10",
                  "order",
                  "order-1",
                  "OrderPlaced",
                  std::nullopt,
                  R"({"n": 1, "s": "é"})",
                  R"({"traceparent": "00-abc-01", "retry": 2, "flag": true, "none": null})",
                  "2026-12-06 10:00:00.123456+00"};

TEST(TableRowMapperTest, ARowFromTheTableIsTheStreamedRecord) {
  for (const std::string topic_template : {"outbox.event.{aggregate_type}", "fixed", "t.{key}"}) {
    auto streamed = MapStreamed(NewMapper(topic_template).get(), Columns(), kRow);
    auto read = MapFromTable(NewMapper(topic_template).get(), Columns(), kRow);
    ASSERT_TRUE(streamed.ok()) << streamed.status().ToString();
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(*read, *streamed) << topic_template;
  }
  auto read = MapFromTable(NewMapper("outbox.event.{aggregate_type}").get(), Columns(), kRow);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->topic, "outbox.event.order");
  EXPECT_EQ(read->key, "order-1");
  EXPECT_EQ(read->payload, R"({"n": 1, "s": "é"})");
  ASSERT_EQ(read->headers.size(), 8u);
  EXPECT_EQ(read->headers[0], std::make_tuple(std::string("id"), *kRow[0], false));
  EXPECT_EQ(read->headers[3],
            std::make_tuple(std::string("table"), std::string("public.outbox"), false));
  EXPECT_EQ(read->headers[4],
            std::make_tuple(std::string("traceparent"), std::string("00-abc-01"), false));
  EXPECT_EQ(read->headers[7], std::make_tuple(std::string("none"), std::string(), true));
}

TEST(TableRowMapperTest, TheTopicColumnAndByteaPayloadToo) {
  Row row = kRow;
  row[4] = "orders.custom";
  row[5] = "\\x00ff41";  // bytea as libpq and pgoutput print it
  auto streamed =
      MapStreamed(NewMapper("outbox.event.{aggregate_type}").get(), Columns(pg_type::kBytea), row);
  auto read =
      MapFromTable(NewMapper("outbox.event.{aggregate_type}").get(), Columns(pg_type::kBytea), row);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_TRUE(streamed.ok());
  EXPECT_EQ(*read, *streamed);
  EXPECT_EQ(read->topic, "orders.custom");
  EXPECT_EQ(read->payload, std::string("\x00\xff\x41", 3));
}

TEST(TableRowMapperTest, ABadRowFailsAsWhenStreamed) {
  Row row = kRow;
  row[2] = std::nullopt;  // the key
  auto mapper = NewMapper("outbox.event.{aggregate_type}");
  auto rows = TableRowMapper::Create(mapper.get(), kOutbox, Columns());
  ASSERT_TRUE(rows.ok());
  Event event;
  Status st = rows->Map(row, &event);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("column aggregate_id (--column-key) is NULL"), std::string::npos)
      << st.message();
  EXPECT_EQ(mapper->bad_row_reason(), BadRowReason::kNullColumn);
  // The row as the mapper saw it, for a dead-letter record.
  auto dump = mapper->DumpRow(rows->insert(), std::nullopt);
  ASSERT_TRUE(dump.ok()) << dump.status().ToString();
  EXPECT_NE(dump->json.find("\"aggregate_id\":null"), std::string::npos) << dump->json;
  EXPECT_EQ(dump->id, kRow[0]);

  // The next good row maps again.
  EXPECT_TRUE(rows->Map(kRow, &event).ok());
  EXPECT_EQ(event.key, "order-1");
  EXPECT_FALSE(mapper->bad_row_reason().has_value());
}

TEST(TableRowMapperTest, ATableThatDoesNotFitTheMappingIsRefused) {
  auto mapper = NewMapper("outbox.event.{aggregate_type}");
  std::vector<pg::ColumnInfo> columns = Columns();
  columns.erase(columns.begin() + 2);  // no aggregate_id
  auto rows = TableRowMapper::Create(mapper.get(), kOutbox, columns);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), Status::Code::kNotFound);
  EXPECT_NE(rows.status().message().find("aggregate_id"), std::string::npos);
}

}  // namespace
}  // namespace pgoutbox::outbox
