#include "outbox/mapper.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "outbox/pg_types.h"

namespace pgoutbox::outbox {
namespace {

using pgoutput::ColumnValue;
using Code = Status::Code;

constexpr RelationId kOutboxOid(16384);
constexpr RelationId kOtherOid(16500);
constexpr std::string_view kId = "5b0e6a6c-4b8e-4d4e-9a51-3f0d1c2b7a10";
const pg::TableName kOutboxTable{"public", "outbox"};

// Checks the code and that the message contains every part.
void ExpectError(const Status& status, Code code, std::vector<std::string_view> parts) {
  EXPECT_EQ(status.code(), code) << status.ToString();
  for (std::string_view part : parts) {
    EXPECT_NE(status.message().find(part), std::string::npos)
        << "missing \"" << part << "\" in: " << status.message();
  }
}

struct Col {
  std::string_view name;
  uint32_t oid;
};

pgoutput::Relation MakeRelation(RelationId id, std::string_view schema, std::string_view table,
                                const std::vector<Col>& columns) {
  pgoutput::Relation relation;
  relation.id = id;
  relation.namespace_name = schema;
  relation.relation_name = table;
  relation.replica_identity = 'd';
  for (const Col& c : columns) {
    relation.columns.push_back(pgoutput::RelationColumn{0, c.name, c.oid, -1});
  }
  return relation;
}

std::vector<pg::ColumnInfo> ToColumnInfos(const std::vector<Col>& columns) {
  std::vector<pg::ColumnInfo> out;
  for (const Col& c : columns) out.push_back(pg::ColumnInfo{std::string(c.name), c.oid});
  return out;
}

// nullopt is a NULL column.
pgoutput::Insert MakeInsert(RelationId id,
                            const std::vector<std::optional<std::string_view>>& row) {
  pgoutput::Insert insert;
  insert.relation = id;
  for (const auto& value : row) {
    ColumnValue column;
    if (value) {
      column.kind = ColumnValue::Kind::kText;
      column.data = *value;
    }
    insert.new_tuple.columns.push_back(column);
  }
  return insert;
}

// The layout of sql/outbox.sql.
const std::vector<Col>& CanonicalColumns() {
  static const std::vector<Col> columns = {
      {"id", pg_type::kUuid},           {"aggregate_type", pg_type::kText},
      {"aggregate_id", pg_type::kText}, {"event_type", pg_type::kText},
      {"topic", pg_type::kText},        {"payload", pg_type::kJsonb},
      {"headers", pg_type::kJsonb},     {"created_at", pg_type::kTimestamptz},
  };
  return columns;
}

// One row of the canonical table, with every column settable.
struct Row {
  std::optional<std::string_view> id = kId;
  std::optional<std::string_view> aggregate_type = "order";
  std::optional<std::string_view> aggregate_id = "42";
  std::optional<std::string_view> event_type = "OrderCreated";
  std::optional<std::string_view> topic = std::nullopt;
  std::optional<std::string_view> payload = R"({"total": 10})";
  std::optional<std::string_view> headers = std::nullopt;
  std::optional<std::string_view> created_at = "2024-01-02 03:04:05.123456+00";

  pgoutput::Insert ToInsert(RelationId oid = kOutboxOid) const {
    return MakeInsert(
        oid, {id, aggregate_type, aggregate_id, event_type, topic, payload, headers, created_at});
  }
};

std::unique_ptr<EventMapper> MakeMapper(MapperOptions options = {}) {
  Result<std::unique_ptr<EventMapper>> mapper = EventMapper::Create(std::move(options));
  EXPECT_TRUE(mapper.ok()) << mapper.status().ToString();
  return mapper.ok() ? std::move(mapper).value() : nullptr;
}

MapperOptions WithTemplate(std::string topic_template) {
  MapperOptions options;
  options.topic_template = std::move(topic_template);
  return options;
}

class MapperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mapper_ = MakeMapper();
    ASSERT_NE(mapper_, nullptr);
    ASSERT_TRUE(
        mapper_->OnRelation(MakeRelation(kOutboxOid, "public", "outbox", CanonicalColumns())).ok());
  }

  Status MapRow(const Row& row) { return mapper_->Map(row.ToInsert(), &event_); }

  // Maps a row whose only non-default column is headers.
  Status MapHeaders(std::string_view headers) {
    Row row;
    row.headers = headers;
    return MapRow(row);
  }

  std::unique_ptr<EventMapper> mapper_;
  Event event_;
};

// --- Create -----------------------------------------------------------------

TEST(MapperCreateTest, RejectsEmptyRequiredColumns) {
  struct Case {
    std::string ColumnMap::*member;
    std::string_view flag;
  };
  const Case cases[] = {
      {&ColumnMap::id, "--column-id"},
      {&ColumnMap::key, "--column-key"},
      {&ColumnMap::event_type, "--column-type"},
      {&ColumnMap::aggregate_type, "--column-aggregate-type"},
      {&ColumnMap::payload, "--column-payload"},
  };
  for (const Case& c : cases) {
    MapperOptions options;
    options.columns.*c.member = "";
    ExpectError(EventMapper::Create(options).status(), Code::kInvalidArgument,
                {c.flag, "is empty", "is required"});
  }
}

TEST(MapperCreateTest, OptionalColumnsMayBeEmpty) {
  MapperOptions options;
  options.columns.headers = "";
  options.columns.topic = "";
  EXPECT_TRUE(EventMapper::Create(options).ok());
}

TEST(MapperCreateTest, RejectsAnEmptySelection) {
  MapperOptions options;
  options.tables = pg::TableSelection();
  ExpectError(EventMapper::Create(options).status(), Code::kInvalidArgument,
              {"no outbox table is selected"});
}

TEST(MapperCreateTest, RejectsBadTemplates) {
  MapperOptions options;
  options.topic_template = "outbox.{aggregate_type";
  ExpectError(EventMapper::Create(options).status(), Code::kInvalidArgument,
              {"--topic template", "without a matching \"}\""});
  options.topic_template = "outbox.{}";
  ExpectError(EventMapper::Create(options).status(), Code::kInvalidArgument, {"empty placeholder"});
  options.topic_template = "outbox}";
  ExpectError(EventMapper::Create(options).status(), Code::kInvalidArgument,
              {"without a matching \"{\""});
}

TEST(MapperCreateTest, KeepsOptions) {
  MapperOptions options;
  options.tables = pg::TableSelection::Of(pg::TableName{"public", "events"});
  options.topic_template = "t";
  std::unique_ptr<EventMapper> mapper = MakeMapper(options);
  ASSERT_NE(mapper, nullptr);
  EXPECT_EQ(mapper->options().tables.ToString(), "public.events");
  EXPECT_EQ(mapper->options().topic_template, "t");
}

// --- CheckColumns -------------------------------------------------------------

TEST(CheckColumnsTest, CanonicalTableIsAccepted) {
  std::unique_ptr<EventMapper> mapper = MakeMapper();
  EXPECT_TRUE(mapper->CheckColumns(kOutboxTable, ToColumnInfos(CanonicalColumns())).ok());
}

TEST(CheckColumnsTest, MissingRequiredColumn) {
  std::unique_ptr<EventMapper> mapper = MakeMapper();
  std::vector<pg::ColumnInfo> columns = ToColumnInfos(CanonicalColumns());
  columns.erase(columns.begin() + 2);  // aggregate_id
  ExpectError(mapper->CheckColumns(kOutboxTable, columns), Code::kNotFound,
              {"table public.outbox has no column \"aggregate_id\" (mapped by --column-key)"});
}

TEST(CheckColumnsTest, EveryFlagIsNamed) {
  struct Case {
    std::string_view column;
    std::string_view flag;
  };
  const Case cases[] = {
      {"id", "--column-id"},           {"aggregate_id", "--column-key"},
      {"event_type", "--column-type"}, {"aggregate_type", "--column-aggregate-type"},
      {"payload", "--column-payload"}, {"headers", "--column-headers"},
      {"topic", "--column-topic"},
  };
  std::unique_ptr<EventMapper> mapper = MakeMapper(WithTemplate("t"));
  for (const Case& c : cases) {
    std::vector<pg::ColumnInfo> columns;
    for (const pg::ColumnInfo& column : ToColumnInfos(CanonicalColumns())) {
      if (column.name != c.column) columns.push_back(column);
    }
    ExpectError(mapper->CheckColumns(kOutboxTable, columns), Code::kNotFound,
                {"has no column \"" + std::string(c.column) + "\" (mapped by " +
                 std::string(c.flag) + ")"});
  }
}

TEST(CheckColumnsTest, BlankOptionalColumnsNeedNotExist) {
  MapperOptions options;
  options.columns.headers = "";
  options.columns.topic = "";
  std::unique_ptr<EventMapper> mapper = MakeMapper(options);
  std::vector<pg::ColumnInfo> columns = {
      {"id", pg_type::kUuid},           {"aggregate_type", pg_type::kText},
      {"aggregate_id", pg_type::kText}, {"event_type", pg_type::kText},
      {"payload", pg_type::kJsonb},
  };
  EXPECT_TRUE(mapper->CheckColumns(kOutboxTable, columns).ok());
}

TEST(CheckColumnsTest, UnusableTypes) {
  struct Case {
    std::string_view column;
    uint32_t oid;
    std::vector<std::string_view> parts;
  };
  const Case cases[] = {
      {"payload",
       pg_type::kInt4,
       {"column public.outbox.payload has type oid 23 (int4); the payload column must be jsonb, "
        "json, text, varchar or bytea"}},
      {"headers",
       pg_type::kText,
       {"column public.outbox.headers has type oid 25 (text); the headers column must be jsonb "
        "or json"}},
      {"id",
       pg_type::kTimestamptz,
       {"public.outbox.id has type oid 1184", "the id column must be"}},
      {"aggregate_id", pg_type::kJsonb, {"the key column must be text, varchar"}},
      {"event_type", pg_type::kBytea, {"the event type column must be"}},
      {"aggregate_type",
       pg_type::kFloat8,
       {"has type oid 701 (float8); the aggregate type column must be"}},
      {"topic", pg_type::kJson, {"the topic column must be"}},
  };
  std::unique_ptr<EventMapper> mapper = MakeMapper();
  for (const Case& c : cases) {
    std::vector<pg::ColumnInfo> columns = ToColumnInfos(CanonicalColumns());
    for (pg::ColumnInfo& column : columns) {
      if (column.name == c.column) column.type_oid = c.oid;
    }
    ExpectError(mapper->CheckColumns(kOutboxTable, columns), Code::kFailedPrecondition, c.parts);
  }
}

TEST(CheckColumnsTest, AcceptedTypes) {
  std::unique_ptr<EventMapper> mapper = MakeMapper();
  std::vector<pg::ColumnInfo> columns = {
      {"id", pg_type::kInt8},           {"aggregate_type", pg_type::kVarchar},
      {"aggregate_id", pg_type::kUuid}, {"event_type", pg_type::kBpchar},
      {"topic", pg_type::kName},        {"payload", pg_type::kBytea},
      {"headers", pg_type::kJson},
  };
  EXPECT_TRUE(mapper->CheckColumns(kOutboxTable, columns).ok());
  columns[0].type_oid = pg_type::kNumeric;
  columns[5].type_oid = pg_type::kText;
  EXPECT_TRUE(mapper->CheckColumns(kOutboxTable, columns).ok());
}

TEST(CheckColumnsTest, UnknownTemplatePlaceholder) {
  std::unique_ptr<EventMapper> mapper = MakeMapper(WithTemplate("x.{foo}"));
  ExpectError(mapper->CheckColumns(kOutboxTable, ToColumnInfos(CanonicalColumns())),
              Code::kInvalidArgument,
              {"--topic template placeholder {foo} is not a mapped field or a column of "
               "public.outbox"});
}

TEST(CheckColumnsTest, ReportsEveryProblem) {
  std::unique_ptr<EventMapper> mapper = MakeMapper(WithTemplate("{foo}"));
  std::vector<pg::ColumnInfo> columns = {
      {"id", pg_type::kUuid},
      {"aggregate_type", pg_type::kText},
      {"payload", pg_type::kInt4},
  };
  const Status status = mapper->CheckColumns(kOutboxTable, columns);
  ExpectError(status, Code::kNotFound,
              {"no column \"aggregate_id\"", "no column \"event_type\"", "no column \"topic\"",
               "no column \"headers\"", "payload has type oid 23", "placeholder {foo}"});
}

TEST(CheckColumnsTest, DebeziumPreset) {
  MapperOptions options;
  options.columns = ColumnMap::Debezium();
  std::unique_ptr<EventMapper> mapper = MakeMapper(options);
  std::vector<pg::ColumnInfo> debezium = {
      {"id", pg_type::kUuid},
      {"aggregatetype", pg_type::kVarchar},
      {"aggregateid", pg_type::kVarchar},
      {"type", pg_type::kVarchar},
      {"payload", pg_type::kJsonb},
  };
  EXPECT_TRUE(mapper->CheckColumns(kOutboxTable, debezium).ok());
  // The canonical table lacks Debezium's names.
  ExpectError(mapper->CheckColumns(kOutboxTable, ToColumnInfos(CanonicalColumns())),
              Code::kNotFound,
              {"no column \"aggregateid\" (mapped by --column-key)",
               "no column \"type\" (mapped by --column-type)"});
}

// --- Map: the happy paths ------------------------------------------------------

TEST_F(MapperTest, DefaultMapping) {
  Row row;
  row.headers = R"({"trace": "abc"})";
  ASSERT_TRUE(MapRow(row).ok());
  EXPECT_EQ(event_.id, kId);
  EXPECT_EQ(event_.key, "42");
  EXPECT_EQ(event_.event_type, "OrderCreated");
  EXPECT_EQ(event_.aggregate_type, "order");
  EXPECT_EQ(event_.topic, "outbox.event.order");
  EXPECT_EQ(event_.payload, R"({"total": 10})");
  EXPECT_FALSE(event_.payload_is_null);
  ASSERT_EQ(event_.headers.size(), 5u);
  EXPECT_EQ(event_.headers[0].name, "id");
  EXPECT_EQ(event_.headers[0].value, kId);
  EXPECT_EQ(event_.headers[1].name, "event_type");
  EXPECT_EQ(event_.headers[1].value, "OrderCreated");
  EXPECT_EQ(event_.headers[2].name, "aggregate_type");
  EXPECT_EQ(event_.headers[2].value, "order");
  EXPECT_EQ(event_.headers[3].name, "table");
  EXPECT_EQ(event_.headers[3].value, "public.outbox");
  EXPECT_EQ(event_.headers[4].name, "trace");
  EXPECT_EQ(event_.headers[4].value, "abc");
  for (const EventHeader& header : event_.headers) EXPECT_FALSE(header.is_null);
}

TEST_F(MapperTest, NullHeadersColumnGivesTheFourFixedHeaders) {
  ASSERT_TRUE(MapRow(Row()).ok());
  ASSERT_EQ(event_.headers.size(), 4u);
}

TEST_F(MapperTest, EventIsReusedAcrossCalls) {
  Row row;
  row.headers = R"({"a": "1", "b": "2"})";
  ASSERT_TRUE(MapRow(row).ok());
  EXPECT_EQ(event_.headers.size(), 6u);
  ASSERT_TRUE(MapRow(Row()).ok());
  EXPECT_EQ(event_.headers.size(), 4u);
  Row null_payload;
  null_payload.payload = std::nullopt;
  ASSERT_TRUE(MapRow(null_payload).ok());
  EXPECT_TRUE(event_.payload_is_null);
  ASSERT_TRUE(MapRow(Row()).ok());
  EXPECT_FALSE(event_.payload_is_null);
}

TEST_F(MapperTest, NullPayload) {
  Row row;
  row.payload = std::nullopt;
  ASSERT_TRUE(MapRow(row).ok());
  EXPECT_TRUE(event_.payload_is_null);
  EXPECT_TRUE(event_.payload.empty());
}

TEST(MapperPresetTest, Debezium) {
  MapperOptions options;
  options.columns = ColumnMap::Debezium();
  std::unique_ptr<EventMapper> mapper = MakeMapper(options);
  ASSERT_TRUE(mapper
                  ->OnRelation(MakeRelation(kOutboxOid, "public", "outbox",
                                            {{"id", pg_type::kUuid},
                                             {"aggregatetype", pg_type::kVarchar},
                                             {"aggregateid", pg_type::kVarchar},
                                             {"type", pg_type::kVarchar},
                                             {"payload", pg_type::kJsonb}}))
                  .ok());
  Event event;
  ASSERT_TRUE(
      mapper
          ->Map(MakeInsert(kOutboxOid, {kId, "customer", "7", "CustomerCreated", R"({"x": 1})"}),
                &event)
          .ok());
  EXPECT_EQ(event.id, kId);
  EXPECT_EQ(event.key, "7");
  EXPECT_EQ(event.event_type, "CustomerCreated");
  EXPECT_EQ(event.aggregate_type, "customer");
  EXPECT_EQ(event.topic, "outbox.event.customer");
  EXPECT_EQ(event.payload, R"({"x": 1})");
  EXPECT_EQ(event.headers.size(), 4u);
}

TEST(MapperTemplateTest, ColumnAndLogicalPlaceholders) {
  MapperOptions options;
  options.topic_template = "{tenant}.{aggregate_type}.{event_type}.{key}.{aggregate_id}.{id}";
  std::unique_ptr<EventMapper> mapper = MakeMapper(options);
  std::vector<Col> columns = CanonicalColumns();
  columns.push_back({"tenant", pg_type::kText});
  ASSERT_TRUE(mapper->OnRelation(MakeRelation(kOutboxOid, "public", "outbox", columns)).ok());
  Event event;
  Status status = mapper->Map(MakeInsert(kOutboxOid, {"1", "order", "42", "Created", std::nullopt,
                                                      "{}", std::nullopt, "now", "acme"}),
                              &event);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(event.topic, "acme.order.Created.42.42.1");
}

TEST(MapperTemplateTest, LogicalNamesFollowTheColumnMap) {
  // {aggregate_type} is the mapped field even when its column is named
  // otherwise, and a column can be named by its own name too.
  MapperOptions options;
  options.columns = ColumnMap::Debezium();
  options.topic_template = "{aggregate_type}-{aggregatetype}-{type}";
  std::unique_ptr<EventMapper> mapper = MakeMapper(options);
  ASSERT_TRUE(mapper
                  ->OnRelation(MakeRelation(kOutboxOid, "public", "outbox",
                                            {{"id", pg_type::kUuid},
                                             {"aggregatetype", pg_type::kText},
                                             {"aggregateid", pg_type::kText},
                                             {"type", pg_type::kText},
                                             {"payload", pg_type::kJsonb}}))
                  .ok());
  Event event;
  ASSERT_TRUE(
      mapper->Map(MakeInsert(kOutboxOid, {"1", "order", "42", "Created", "{}"}), &event).ok());
  EXPECT_EQ(event.topic, "order-order-Created");
}

TEST(MapperTemplateTest, ConstantTemplate) {
  std::unique_ptr<EventMapper> mapper = MakeMapper(WithTemplate("all-events"));
  ASSERT_TRUE(
      mapper->OnRelation(MakeRelation(kOutboxOid, "public", "outbox", CanonicalColumns())).ok());
  Event event;
  ASSERT_TRUE(mapper->Map(Row().ToInsert(), &event).ok());
  EXPECT_EQ(event.topic, "all-events");
}

TEST(MapperTemplateTest, NullColumnPlaceholder) {
  std::unique_ptr<EventMapper> mapper = MakeMapper(WithTemplate("t.{tenant}"));
  std::vector<Col> columns = CanonicalColumns();
  columns.push_back({"tenant", pg_type::kText});
  ASSERT_TRUE(mapper->OnRelation(MakeRelation(kOutboxOid, "public", "outbox", columns)).ok());
  Event event;
  ExpectError(mapper->Map(MakeInsert(kOutboxOid, {kId, "order", "42", "Created", std::nullopt, "{}",
                                                  std::nullopt, "now", std::nullopt}),
                          &event),
              Code::kInvalidArgument,
              {"event " + std::string(kId) + ": topic template placeholder {tenant} is NULL"});
}

TEST_F(MapperTest, InvalidRenderedTopic) {
  Row row;
  row.aggregate_type = "bad topic!";
  ExpectError(MapRow(row), Code::kInvalidArgument,
              {"event " + std::string(kId) +
                   ": topic \"outbox.event.bad topic!\" is not a valid Kafka topic name "
                   "(1-249 characters of [a-zA-Z0-9._-], not \".\" or \"..\")",
               "rendered from --topic template \"outbox.event.{aggregate_type}\""});
}

TEST_F(MapperTest, RenderedTopicTooLong) {
  const std::string long_type(300, 'a');
  Row row;
  row.aggregate_type = long_type;
  ExpectError(MapRow(row), Code::kInvalidArgument,
              {"is not a valid Kafka topic name", "... (313 bytes)"});
}

TEST_F(MapperTest, TopicColumnOverridesTemplate) {
  Row row;
  row.topic = "special.topic";
  ASSERT_TRUE(MapRow(row).ok());
  EXPECT_EQ(event_.topic, "special.topic");
  row.topic = "";  // non-null but empty: not a topic Kafka accepts
  ExpectError(MapRow(row), Code::kInvalidArgument, {"is not a valid Kafka topic name"});
  row.topic = std::nullopt;
  ASSERT_TRUE(MapRow(row).ok());
  EXPECT_EQ(event_.topic, "outbox.event.order");
}

TEST_F(MapperTest, InvalidTopicColumn) {
  Row row;
  row.topic = "bad topic!";
  ExpectError(
      MapRow(row), Code::kInvalidArgument,
      {"event " + std::string(kId) + ": topic \"bad topic!\" is not a valid Kafka topic name",
       "column topic (--column-topic)"});
  row.topic = "..";
  ExpectError(MapRow(row), Code::kInvalidArgument, {"topic \"..\" is not a valid"});
  row.topic = "tab\there";
  ExpectError(MapRow(row), Code::kInvalidArgument, {"topic \"tab\\x09here\" is not a valid"});
}

TEST(MapperTopicTest, NoTopicColumnConfigured) {
  MapperOptions options;
  options.columns.topic = "";
  std::unique_ptr<EventMapper> mapper = MakeMapper(options);
  // The table still has a topic column; it is simply not used.
  ASSERT_TRUE(
      mapper->OnRelation(MakeRelation(kOutboxOid, "public", "outbox", CanonicalColumns())).ok());
  Row row;
  row.topic = "ignored";
  Event event;
  ASSERT_TRUE(mapper->Map(row.ToInsert(), &event).ok());
  EXPECT_EQ(event.topic, "outbox.event.order");
}

// --- Map: payload types ----------------------------------------------------------

class PayloadTest : public ::testing::Test {
 protected:
  // A minimal table whose payload column has type `oid`.
  Status MapPayload(uint32_t oid, std::optional<std::string_view> payload) {
    MapperOptions options;
    options.columns.headers = "";
    options.columns.topic = "";
    mapper_ = MakeMapper(options);
    RETURN_IF_ERROR(mapper_->OnRelation(MakeRelation(kOutboxOid, "public", "outbox",
                                                     {{"id", pg_type::kUuid},
                                                      {"aggregate_type", pg_type::kText},
                                                      {"aggregate_id", pg_type::kText},
                                                      {"event_type", pg_type::kText},
                                                      {"payload", oid}})));
    return mapper_->Map(MakeInsert(kOutboxOid, {kId, "order", "42", "Created", payload}), &event_);
  }

  std::unique_ptr<EventMapper> mapper_;
  Event event_;
};

TEST_F(PayloadTest, JsonIsPassedAsWritten) {
  const std::string_view json = "{ \"b\" : 1,\n  \"a\": [1, 2] }";
  ASSERT_TRUE(MapPayload(pg_type::kJson, json).ok());
  EXPECT_EQ(event_.payload, json);
}

TEST_F(PayloadTest, JsonbIsPassedAsNormalised) {
  ASSERT_TRUE(MapPayload(pg_type::kJsonb, R"({"a": [1, 2], "b": 1})").ok());
  EXPECT_EQ(event_.payload, R"({"a": [1, 2], "b": 1})");
}

TEST_F(PayloadTest, TextAndVarchar) {
  ASSERT_TRUE(MapPayload(pg_type::kText, "plain \\x text").ok());
  EXPECT_EQ(event_.payload, "plain \\x text");
  ASSERT_TRUE(MapPayload(pg_type::kVarchar, "").ok());
  EXPECT_EQ(event_.payload, "");
  EXPECT_FALSE(event_.payload_is_null);
}

TEST_F(PayloadTest, ByteaHex) {
  ASSERT_TRUE(MapPayload(pg_type::kBytea, "\\x00ff10Ab7e").ok());
  EXPECT_EQ(event_.payload, std::string_view("\x00\xff\x10\xab\x7e", 5));
  ASSERT_TRUE(MapPayload(pg_type::kBytea, "\\x").ok());
  EXPECT_EQ(event_.payload, "");
  EXPECT_FALSE(event_.payload_is_null);
}

TEST_F(PayloadTest, ByteaEscapeFormat) {
  // What the server sends with bytea_output = escape.
  ASSERT_TRUE(MapPayload(pg_type::kBytea, "a\\\\b\\000\\377c").ok());
  EXPECT_EQ(event_.payload, std::string_view("a\\b\x00\xff"
                                             "c",
                                             6));
}

TEST_F(PayloadTest, MalformedBytea) {
  ExpectError(
      MapPayload(pg_type::kBytea, "\\x0"), Code::kCorruption,
      {"event " + std::string(kId) + ": column payload (--column-payload) is not valid bytea",
       "odd number of hex digits"});
  ExpectError(MapPayload(pg_type::kBytea, "\\x0g"), Code::kCorruption, {"not a hex digit"});
  ExpectError(MapPayload(pg_type::kBytea, "\\xzz"), Code::kCorruption, {"not a hex digit"});
  ExpectError(MapPayload(pg_type::kBytea, "ab\\"), Code::kCorruption, {"not valid bytea"});
  ExpectError(MapPayload(pg_type::kBytea, "\\400"), Code::kCorruption, {"not valid bytea"});
  ExpectError(MapPayload(pg_type::kBytea, "\\12"), Code::kCorruption, {"not valid bytea"});
}

TEST_F(PayloadTest, LargeByteaReusesScratch) {
  std::string hex = "\\x";
  for (int i = 0; i < 100000; ++i) hex += "0a";
  ASSERT_TRUE(MapPayload(pg_type::kBytea, hex).ok());
  EXPECT_EQ(event_.payload, std::string(100000, '\n'));
}

// --- Map: the headers column --------------------------------------------------------

TEST_F(MapperTest, HeaderStringsAreUnescaped) {
  ASSERT_TRUE(MapHeaders(R"({"q\"k": "say \"hi\"", "name": "caf\u00e9", "nl": "a\nb\\c", )"
                         R"("emoji": "\ud83d\ude00", "plain": "é"})")
                  .ok());
  ASSERT_EQ(event_.headers.size(), 9u);
  EXPECT_EQ(event_.headers[4].name, "q\"k");
  EXPECT_EQ(event_.headers[4].value, "say \"hi\"");
  EXPECT_EQ(event_.headers[5].name, "name");
  EXPECT_EQ(event_.headers[5].value, "caf\xc3\xa9");
  EXPECT_EQ(event_.headers[6].value, "a\nb\\c");
  EXPECT_EQ(event_.headers[7].value, "\xf0\x9f\x98\x80");
  EXPECT_EQ(event_.headers[8].value, "\xc3\xa9");
}

TEST_F(MapperTest, HeaderScalars) {
  // json keeps the text as written, jsonb normalises it; either way numbers
  // and booleans are passed on as their JSON text.
  ASSERT_TRUE(MapHeaders("{\"n\": 1.50, \"big\": 123456789012345678901234567890, \"neg\":-2e+10 ,"
                         " \"t\": true, \"f\":false\n, \"nil\": null , \"empty\": \"\"}")
                  .ok());
  ASSERT_EQ(event_.headers.size(), 11u);
  EXPECT_EQ(event_.headers[4].name, "n");
  EXPECT_EQ(event_.headers[4].value, "1.50");
  EXPECT_EQ(event_.headers[5].value, "123456789012345678901234567890");
  EXPECT_EQ(event_.headers[6].value, "-2e+10");
  EXPECT_EQ(event_.headers[7].value, "true");
  EXPECT_EQ(event_.headers[8].value, "false");
  EXPECT_EQ(event_.headers[9].name, "nil");
  EXPECT_TRUE(event_.headers[9].is_null);
  EXPECT_TRUE(event_.headers[9].value.empty());
  EXPECT_EQ(event_.headers[10].name, "empty");
  EXPECT_EQ(event_.headers[10].value, "");
  EXPECT_FALSE(event_.headers[10].is_null);
}

TEST_F(MapperTest, ScalarAsLastHeaderValue) {
  ASSERT_TRUE(MapHeaders(R"({"a": 1})").ok());
  ASSERT_EQ(event_.headers.size(), 5u);
  EXPECT_EQ(event_.headers[4].value, "1");
  ASSERT_TRUE(MapHeaders("{\"a\": true }\n").ok());
  EXPECT_EQ(event_.headers[4].value, "true");
  ASSERT_TRUE(MapHeaders(" {\"a\":null}  ").ok());
  EXPECT_TRUE(event_.headers[4].is_null);
  ExpectError(MapHeaders(R"({"a": 1x})"), Code::kInvalidArgument, {"bad number \"1x\""});
}

TEST_F(MapperTest, EmptyHeadersObject) {
  ASSERT_TRUE(MapHeaders("{}").ok());
  EXPECT_EQ(event_.headers.size(), 4u);
}

TEST_F(MapperTest, NestedHeaderValueIsAnError) {
  ExpectError(MapHeaders(R"({"a": "x", "ctx": {"user": 1}})"), Code::kInvalidArgument,
              {"event " + std::string(kId) +
                   ": column headers (--column-headers) field \"ctx\" is "
                   "an object",
               "header values must be strings, numbers, booleans or null"});
  ExpectError(MapHeaders(R"({"tags": ["a"]})"), Code::kInvalidArgument,
              {"field \"tags\" is an array"});
}

// --- Map: headers named like pgoutbox's own -------------------------------------------

// Collects what is logged while it lives (the default logger, restored after).
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out_);
    sink->set_pattern("%l %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", std::move(sink)));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  // The lines logged so far that contain `part`.
  std::vector<std::string> Lines(std::string_view part) const {
    std::vector<std::string> lines;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) {
      if (line.find(part) != std::string::npos) lines.push_back(line);
    }
    return lines;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

std::vector<std::string_view> HeaderValues(const Event& event, std::string_view name) {
  std::vector<std::string_view> values;
  for (const EventHeader& h : event.headers) {
    if (h.name == name) values.push_back(h.value);
  }
  return values;
}

TEST_F(MapperTest, HeaderFieldsNamedLikeReservedHeadersAreDropped) {
  LogCapture log;
  ASSERT_TRUE(MapHeaders(R"({"id": "forged", "trace": "t1", "event_type": "Forged", )"
                         R"("aggregate_type": null, "ID": "kept", "id ": 7, "table": "x.y"})")
                  .ok());
  // One header of each reserved name, pgoutbox's, first; the other fields
  // (names compare exactly, as Kafka's do) in their order.
  ASSERT_EQ(event_.headers.size(), 7u);
  EXPECT_EQ(HeaderValues(event_, "id"), std::vector<std::string_view>{kId});
  EXPECT_EQ(HeaderValues(event_, "event_type"), std::vector<std::string_view>{"OrderCreated"});
  EXPECT_EQ(HeaderValues(event_, "aggregate_type"), std::vector<std::string_view>{"order"});
  EXPECT_EQ(HeaderValues(event_, "table"), std::vector<std::string_view>{"public.outbox"});
  for (size_t i = 0; i < kReservedHeaders.size(); ++i) {
    EXPECT_EQ(event_.headers[i].name, kReservedHeaders[i]);
  }
  EXPECT_EQ(event_.headers[4].name, "trace");
  EXPECT_EQ(event_.headers[5].name, "ID");
  EXPECT_EQ(event_.headers[6].name, "id ");
  EXPECT_EQ(event_.id, kId);
  for (std::string_view name : kReservedHeaders) EXPECT_EQ(mapper_->dropped_headers(name), 1u);
  EXPECT_EQ(mapper_->dropped_headers("trace"), 0u);
  // One warning per name, naming the event and the column the header comes
  // from, never the dropped value.
  const std::vector<std::string> id_lines = log.Lines("field \"id\"");
  ASSERT_EQ(id_lines.size(), 1u) << ::testing::PrintToString(log.Lines(""));
  EXPECT_EQ(id_lines[0].rfind("warning event " + std::string(kId) + ": dropped", 0), 0u)
      << id_lines[0];
  EXPECT_NE(id_lines[0].find("column headers (--column-headers)"), std::string::npos);
  EXPECT_NE(id_lines[0].find("from column id (--column-id)"), std::string::npos);
  EXPECT_EQ(log.Lines("forged").size(), 0u);
  EXPECT_EQ(log.Lines("field \"event_type\"").size(), 1u);
  EXPECT_EQ(log.Lines("field \"aggregate_type\"").size(), 1u);
  const std::vector<std::string> table_lines = log.Lines("field \"table\"");
  ASSERT_EQ(table_lines.size(), 1u);
  EXPECT_NE(table_lines[0].find("from the row's table name"), std::string::npos) << table_lines[0];
}

TEST_F(MapperTest, TheWarningAboutADroppedHeaderIsNotRepeatedForEveryRow) {
  LogCapture log;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(MapHeaders(R"({"id": "forged"})").ok());
    EXPECT_EQ(HeaderValues(event_, "id"), std::vector<std::string_view>{kId});
  }
  EXPECT_EQ(mapper_->dropped_headers("id"), 100u);
  EXPECT_EQ(log.Lines("dropped").size(), 1u);
  // Another name has its own first warning.
  ASSERT_TRUE(MapHeaders(R"({"event_type": "x"})").ok());
  EXPECT_EQ(log.Lines("dropped").size(), 2u);
}

TEST_F(MapperTest, AReservedHeaderFieldIsCheckedLikeAnyOther) {
  LogCapture log;
  // Dropped or not, the column must still be a flat JSON object.
  ExpectError(MapHeaders(R"({"id": {"x": 1}})"), Code::kInvalidArgument,
              {"field \"id\" is an object"});
  EXPECT_EQ(mapper_->bad_row_reason(), BadRowReason::kHeaders);
  ExpectError(MapHeaders(R"({"id": "x", "a": [1]})"), Code::kInvalidArgument,
              {"field \"a\" is an array"});
  // A row that is not published has dropped nothing.
  EXPECT_EQ(mapper_->dropped_headers("id"), 0u);
  EXPECT_EQ(log.Lines("dropped").size(), 0u);
}

TEST_F(MapperTest, NonObjectHeadersIsAnError) {
  ExpectError(MapHeaders(R"(["a", "b"])"), Code::kInvalidArgument,
              {"event " + std::string(kId) +
               ": column headers (--column-headers) is not a JSON "
               "object but an array"});
  ExpectError(MapHeaders(R"("text")"), Code::kInvalidArgument,
              {"is not a JSON object but a string"});
  ExpectError(MapHeaders("3"), Code::kInvalidArgument, {"is not a JSON object but a number"});
  ExpectError(MapHeaders("null"), Code::kInvalidArgument, {"is not a JSON object but null"});
}

TEST_F(MapperTest, InvalidHeadersJsonIsAnError) {
  const std::string_view cases[] = {
      "",
      "{",
      R"({"a": "x")",
      R"({"a" "x"})",
      R"({"a": "x",})",
      R"({"a": "x" "b": "y"})",
      R"({"a": tru})",
      R"({"a": nul})",
      R"({"a": 01})",
      R"({"a": 1.})",
      R"({"a": -})",
      R"({"a": "\q"})",
      R"({"a": "\ud800"})",
      "{\"a\": \"\xff\"}",
      R"({"a": "x"} {"b": "y"})",
      R"({"a": "x"} 1)",
      R"({a: "x"})",
  };
  for (std::string_view json : cases) {
    SCOPED_TRACE(json);
    const Status status = MapHeaders(json);
    ExpectError(status, Code::kInvalidArgument,
                {"event " + std::string(kId) + ": column headers (--column-headers)"});
  }
}

TEST_F(MapperTest, HeadersSurviveAfterALargerDocument) {
  std::string big = "{";
  for (int i = 0; i < 1000; ++i) {
    if (i) big += ", ";
    big += "\"key" + std::to_string(i) + "\": \"value\\t" + std::to_string(i) + "\"";
  }
  big += "}";
  ASSERT_TRUE(MapHeaders(big).ok());
  ASSERT_EQ(event_.headers.size(), 1004u);
  EXPECT_EQ(event_.headers[1003].name, "key999");
  EXPECT_EQ(event_.headers[1003].value, "value\t999");
  ASSERT_TRUE(MapHeaders(R"({"x": "y"})").ok());
  ASSERT_EQ(event_.headers.size(), 5u);
  EXPECT_EQ(event_.headers[4].value, "y");
}

// --- Map: row errors ---------------------------------------------------------------

TEST_F(MapperTest, NullId) {
  Row row;
  row.id = std::nullopt;
  ExpectError(MapRow(row), Code::kInvalidArgument,
              {"event with a NULL id: column id (--column-id) is NULL"});
}

TEST_F(MapperTest, NullRequiredColumns) {
  const std::string prefix = "event " + std::string(kId) + ": ";
  Row row;
  row.aggregate_id = std::nullopt;
  ExpectError(MapRow(row), Code::kInvalidArgument,
              {prefix + "column aggregate_id (--column-key) is NULL"});
  row = Row();
  row.event_type = std::nullopt;
  ExpectError(MapRow(row), Code::kInvalidArgument,
              {prefix + "column event_type (--column-type) is NULL"});
  row = Row();
  row.aggregate_type = std::nullopt;
  ExpectError(MapRow(row), Code::kInvalidArgument,
              {prefix + "column aggregate_type (--column-aggregate-type) is NULL"});
}

TEST_F(MapperTest, UnprintableIdIsQuotedInMessages) {
  Row row;
  row.id = "id with space";
  row.aggregate_id = std::nullopt;
  ExpectError(MapRow(row), Code::kInvalidArgument,
              {"event \"id with space\": column aggregate_id"});
}

TEST_F(MapperTest, NonTextValuesAreCorruption) {
  pgoutput::Insert insert = Row().ToInsert();
  insert.new_tuple.columns[5].kind = ColumnValue::Kind::kBinary;
  ExpectError(mapper_->Map(insert, &event_), Code::kCorruption,
              {"column payload (--column-payload) arrived in binary format"});
  insert = Row().ToInsert();
  insert.new_tuple.columns[2].kind = ColumnValue::Kind::kUnchangedToast;
  ExpectError(mapper_->Map(insert, &event_), Code::kCorruption,
              {"column aggregate_id (--column-key) arrived as an unchanged TOAST value"});
}

// --- Relations -------------------------------------------------------------------

TEST_F(MapperTest, InsertBeforeRelation) {
  ExpectError(mapper_->Map(Row().ToInsert(RelationId(777)), &event_), Code::kCorruption,
              {"insert for relation oid 777 before its Relation message"});
}

TEST_F(MapperTest, InsertIntoAnotherTable) {
  ASSERT_TRUE(
      mapper_->OnRelation(MakeRelation(kOtherOid, "sales", "orders", {{"id", pg_type::kInt8}}))
          .ok());
  ExpectError(mapper_->Map(MakeInsert(kOtherOid, {"1"}), &event_), Code::kFailedPrecondition,
              {"publication includes table sales.orders, which is not an outbox table "
               "(--table public.outbox;"});
}

TEST_F(MapperTest, EmptyNamespaceIsPgCatalog) {
  ASSERT_TRUE(mapper_->OnRelation(MakeRelation(kOtherOid, "", "outbox", CanonicalColumns())).ok());
  ExpectError(mapper_->Map(Row().ToInsert(kOtherOid), &event_), Code::kFailedPrecondition,
              {"table pg_catalog.outbox, which is not"});
}

TEST(MapperRelationTest, OutboxInPgCatalog) {
  MapperOptions options;
  options.tables = pg::TableSelection::Of(pg::TableName{"pg_catalog", "outbox"});
  std::unique_ptr<EventMapper> mapper = MakeMapper(options);
  ASSERT_TRUE(mapper->OnRelation(MakeRelation(kOutboxOid, "", "outbox", CanonicalColumns())).ok());
  Event event;
  EXPECT_TRUE(mapper->Map(Row().ToInsert(), &event).ok());
}

TEST(MapperRelationTest, NameMatchIsExact) {
  std::unique_ptr<EventMapper> mapper = MakeMapper();
  ASSERT_TRUE(
      mapper->OnRelation(MakeRelation(kOutboxOid, "public", "Outbox", CanonicalColumns())).ok());
  Event event;
  ExpectError(mapper->Map(Row().ToInsert(), &event), Code::kFailedPrecondition,
              {"public.Outbox, which is not"});
}

TEST_F(MapperTest, ColumnCountMismatch) {
  pgoutput::Insert insert = Row().ToInsert();
  insert.new_tuple.columns.pop_back();
  ExpectError(mapper_->Map(insert, &event_), Code::kCorruption,
              {"insert into public.outbox has 7 columns, but its Relation message has 8"});
}

TEST(MapperRelationTest, RelationStringsAreCopied) {
  std::unique_ptr<EventMapper> mapper = MakeMapper(WithTemplate("t.{tenant}"));
  // The Relation's views point into a buffer the caller frees afterwards.
  std::string buffer = "public outbox tenant";
  std::vector<Col> columns = CanonicalColumns();
  columns.push_back({std::string_view(buffer).substr(14), pg_type::kText});
  ASSERT_TRUE(mapper
                  ->OnRelation(MakeRelation(kOutboxOid, std::string_view(buffer).substr(0, 6),
                                            std::string_view(buffer).substr(7, 6), columns))
                  .ok());
  buffer.assign(buffer.size(), '#');
  Event event;
  Status status = mapper->Map(MakeInsert(kOutboxOid, {kId, "order", "42", "Created", std::nullopt,
                                                      "{}", std::nullopt, "now", "acme"}),
                              &event);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(event.topic, "t.acme");
}

TEST(MapperRelationTest, AlterTableAddsAColumn) {
  std::unique_ptr<EventMapper> mapper = MakeMapper(WithTemplate("{tenant}"));
  std::vector<Col> before = {
      {"id", pg_type::kUuid},           {"aggregate_type", pg_type::kText},
      {"aggregate_id", pg_type::kText}, {"event_type", pg_type::kText},
      {"payload", pg_type::kJsonb},     {"headers", pg_type::kJsonb},
      {"topic", pg_type::kText},        {"tenant", pg_type::kText},
  };
  ASSERT_TRUE(mapper->OnRelation(MakeRelation(kOutboxOid, "public", "outbox", before)).ok());
  Event event;
  ASSERT_TRUE(mapper
                  ->Map(MakeInsert(kOutboxOid, {kId, "order", "42", "Created", "{}", std::nullopt,
                                                std::nullopt, "acme"}),
                        &event)
                  .ok());
  EXPECT_EQ(event.topic, "acme");
  EXPECT_EQ(event.payload, "{}");

  // A new layout: a column in the middle (as after a table rewrite that
  // reorders, e.g. a recreated table with the same oid in a test) and one at
  // the end.
  std::vector<Col> after = {
      {"id", pg_type::kUuid},         {"aggregate_type", pg_type::kText},
      {"extra", pg_type::kInt4},      {"aggregate_id", pg_type::kText},
      {"event_type", pg_type::kText}, {"payload", pg_type::kJsonb},
      {"headers", pg_type::kJsonb},   {"topic", pg_type::kText},
      {"tenant", pg_type::kText},     {"added_later", pg_type::kText},
  };
  ASSERT_TRUE(mapper->OnRelation(MakeRelation(kOutboxOid, "public", "outbox", after)).ok());
  ASSERT_TRUE(mapper
                  ->Map(MakeInsert(kOutboxOid, {kId, "customer", "5", "7", "Updated", "[1]",
                                                R"({"h": "v"})", std::nullopt, "globex", "z"}),
                        &event)
                  .ok());
  EXPECT_EQ(event.key, "7");
  EXPECT_EQ(event.event_type, "Updated");
  EXPECT_EQ(event.aggregate_type, "customer");
  EXPECT_EQ(event.payload, "[1]");
  EXPECT_EQ(event.topic, "globex");
  ASSERT_EQ(event.headers.size(), 5u);
  EXPECT_EQ(event.headers[4].value, "v");

  // A row in the old layout no longer fits.
  ExpectError(mapper->Map(MakeInsert(kOutboxOid, {kId, "order", "42", "Created", "{}", std::nullopt,
                                                  std::nullopt, "acme"}),
                          &event),
              Code::kCorruption, {"has 8 columns, but its Relation message has 10"});
}

TEST(MapperRelationTest, AlterTableThatBreaksTheLayout) {
  std::unique_ptr<EventMapper> mapper = MakeMapper();
  ASSERT_TRUE(
      mapper->OnRelation(MakeRelation(kOutboxOid, "public", "outbox", CanonicalColumns())).ok());
  std::vector<Col> altered = CanonicalColumns();
  altered[5].oid = pg_type::kInt4;  // payload
  ExpectError(mapper->OnRelation(MakeRelation(kOutboxOid, "public", "outbox", altered)),
              Code::kFailedPrecondition, {"column public.outbox.payload has type oid 23"});
  // Inserts of that layout keep failing with the same error.
  Event event;
  ExpectError(mapper->Map(Row().ToInsert(), &event), Code::kFailedPrecondition,
              {"column public.outbox.payload has type oid 23"});
  // A later fix is picked up.
  ASSERT_TRUE(
      mapper->OnRelation(MakeRelation(kOutboxOid, "public", "outbox", CanonicalColumns())).ok());
  EXPECT_TRUE(mapper->Map(Row().ToInsert(), &event).ok());
}

TEST(MapperRelationTest, OnRelationChecksTheOutbox) {
  std::unique_ptr<EventMapper> mapper = MakeMapper();
  ExpectError(
      mapper->OnRelation(MakeRelation(kOutboxOid, "public", "outbox", {{"id", pg_type::kUuid}})),
      Code::kNotFound, {"table public.outbox has no column \"aggregate_id\""});
  // Other tables are not checked.
  EXPECT_TRUE(mapper->OnRelation(MakeRelation(kOtherOid, "public", "other", {})).ok());
}

TEST_F(MapperTest, ResetForgetsRelations) {
  ASSERT_TRUE(MapRow(Row()).ok());
  mapper_->Reset();
  ExpectError(MapRow(Row()), Code::kCorruption,
              {"insert for relation oid 16384 before its Relation message"});
  ASSERT_TRUE(
      mapper_->OnRelation(MakeRelation(kOutboxOid, "public", "outbox", CanonicalColumns())).ok());
  EXPECT_TRUE(MapRow(Row()).ok());
}

TEST_F(MapperTest, SeveralRelationsAtOnce) {
  ASSERT_TRUE(mapper_->OnRelation(MakeRelation(kOtherOid, "public", "other", {})).ok());
  EXPECT_TRUE(MapRow(Row()).ok());
  EXPECT_EQ(mapper_->Map(MakeInsert(kOtherOid, {}), &event_).code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace pgoutbox::outbox

namespace pgoutbox::outbox {
namespace {

// Enums and domains have OIDs of their own; they print as text, so they are
// fine wherever a field is used as text, not as payload or headers.
TEST(CheckColumnsTest, UserDefinedTypesAreTextFieldsOnly) {
  auto mapper = std::move(EventMapper::Create(MapperOptions{}).value());
  constexpr uint32_t kEnumOid = 16600;
  std::vector<Col> columns = CanonicalColumns();
  for (Col& c : columns) {
    if (c.name == "event_type" || c.name == "aggregate_type") c.oid = kEnumOid;
  }
  EXPECT_TRUE(mapper->CheckColumns(kOutboxTable, ToColumnInfos(columns)).ok());
  for (Col& c : columns) {
    if (c.name == "payload") c.oid = kEnumOid;
  }
  ExpectError(mapper->CheckColumns(kOutboxTable, ToColumnInfos(columns)), Code::kFailedPrecondition,
              {"payload", "16600"});
}

}  // namespace
}  // namespace pgoutbox::outbox

// --- bad rows: reason labels and dead-letter rendering -----------------------

namespace pgoutbox::outbox {
namespace {

// The last Map call's bad_row_reason() as its label, "" if none.
std::string ReasonName(const EventMapper& mapper) {
  const std::optional<BadRowReason> reason = mapper.bad_row_reason();
  return reason ? BadRowReasonName(*reason) : "";
}

TEST_F(MapperTest, BadRowReasonNamesWhatIsWrongWithTheRow) {
  ASSERT_TRUE(MapRow(Row()).ok());
  EXPECT_EQ(ReasonName(*mapper_), "");
  Row row;
  row.aggregate_id = std::nullopt;
  EXPECT_FALSE(MapRow(row).ok());
  EXPECT_EQ(ReasonName(*mapper_), "null_column");
  row = Row();
  row.id = std::nullopt;
  EXPECT_FALSE(MapRow(row).ok());
  EXPECT_EQ(ReasonName(*mapper_), "null_column");
  EXPECT_FALSE(MapHeaders(R"(["a"])").ok());
  EXPECT_EQ(ReasonName(*mapper_), "headers");
  EXPECT_FALSE(MapHeaders(R"({"a": [1]})").ok());
  EXPECT_EQ(ReasonName(*mapper_), "headers");
  row = Row();
  row.topic = "no spaces allowed";
  EXPECT_FALSE(MapRow(row).ok());
  EXPECT_EQ(ReasonName(*mapper_), "topic");
  // A success clears it.
  ASSERT_TRUE(MapRow(Row()).ok());
  EXPECT_EQ(ReasonName(*mapper_), "");
}

TEST(MapperBadRowTest, NullPlaceholderAndUndecodableBytea) {
  auto mapper = MakeMapper(WithTemplate("outbox.{tenant}"));
  ASSERT_NE(mapper, nullptr);
  std::vector<Col> columns = CanonicalColumns();
  columns.push_back({"tenant", pg_type::kText});
  columns[5].oid = pg_type::kBytea;
  ASSERT_TRUE(mapper->OnRelation(MakeRelation(kOutboxOid, "public", "outbox", columns)).ok());
  Event event;
  auto insert = [](std::optional<std::string_view> payload,
                   std::optional<std::string_view> tenant) {
    return MakeInsert(kOutboxOid, {kId, "order", "42", "Created", std::nullopt, payload,
                                   std::nullopt, "2024-01-01", tenant});
  };
  ASSERT_TRUE(mapper->Map(insert("\\x00ff", "acme"), &event).ok());
  EXPECT_FALSE(mapper->Map(insert("\\x00ff", std::nullopt), &event).ok());
  EXPECT_EQ(ReasonName(*mapper), "null_column");
  EXPECT_FALSE(mapper->Map(insert("\\xZZ", "acme"), &event).ok());
  EXPECT_EQ(ReasonName(*mapper), "payload");
}

TEST_F(MapperTest, FailuresThatAreNotTheRowsHaveNoReason) {
  // Unknown relation, and a relation that is not the outbox.
  EXPECT_FALSE(mapper_->Map(Row().ToInsert(RelationId(999)), &event_).ok());
  EXPECT_EQ(ReasonName(*mapper_), "");
  ASSERT_TRUE(
      mapper_->OnRelation(MakeRelation(kOtherOid, "public", "other", CanonicalColumns())).ok());
  EXPECT_FALSE(mapper_->Map(Row().ToInsert(kOtherOid), &event_).ok());
  EXPECT_EQ(ReasonName(*mapper_), "");
  // A tuple that does not match its Relation.
  pgoutput::Insert short_row = Row().ToInsert();
  short_row.new_tuple.columns.pop_back();
  EXPECT_FALSE(mapper_->Map(short_row, &event_).ok());
  EXPECT_EQ(ReasonName(*mapper_), "");
}

TEST_F(MapperTest, DumpRowRendersEveryColumn) {
  Row row;
  row.aggregate_id = std::nullopt;
  row.headers = R"({"a": "b\"c"})";
  Result<EventMapper::RowDump> dump = mapper_->DumpRow(row.ToInsert(), std::nullopt);
  ASSERT_TRUE(dump.ok()) << dump.status().ToString();
  EXPECT_EQ(
      dump->json,
      "{\"id\":\"" + std::string(kId) +
          "\",\"aggregate_type\":\"order\",\"aggregate_id\":null,"
          "\"event_type\":\"OrderCreated\",\"topic\":null,"
          "\"payload\":\"{\\\"total\\\": 10}\",\"headers\":\"{\\\"a\\\": \\\"b\\\\\\\"c\\\"}\","
          "\"created_at\":\"2024-01-02 03:04:05.123456+00\"}");
  EXPECT_EQ(dump->id, std::string(kId));
  EXPECT_EQ(dump->key, std::nullopt);

  // Too large: the payload is replaced by its size.
  dump = mapper_->DumpRow(Row().ToInsert(), 2000000);
  ASSERT_TRUE(dump.ok());
  EXPECT_EQ(dump->json.find("\"payload\""), std::string::npos) << dump->json;
  EXPECT_NE(dump->json.find("\"payload_size\":2000000"), std::string::npos) << dump->json;
  EXPECT_EQ(dump->key, "42");

  EXPECT_FALSE(mapper_->DumpRow(Row().ToInsert(RelationId(999)), std::nullopt).ok());
}

// --- Several outbox tables ---------------------------------------------------------

constexpr RelationId kTenantAOid(17001);
constexpr RelationId kTenantBOid(17002);
constexpr RelationId kPublicOtherOid(17003);

// tenant_*.outbox: tenant_a with the canonical layout, tenant_b with
// another (no headers or topic column, a bytea payload, the columns in
// another order, an extra column).
MapperOptions TenantOptions() {
  MapperOptions options;
  Result<pg::TableSelection> tables = pg::TableSelection::Parse({"tenant_*.outbox"});
  EXPECT_TRUE(tables.ok()) << tables.status().ToString();
  if (tables.ok()) options.tables = *tables;
  options.headers_column_required = false;
  options.topic_column_required = false;
  options.topic_template = "{schema}.{table}.{aggregate_type}";
  return options;
}

const std::vector<Col>& TenantBColumns() {
  static const std::vector<Col> columns = {
      {"payload", pg_type::kBytea},   {"seq", pg_type::kInt8},
      {"event_type", pg_type::kText}, {"aggregate_id", pg_type::kText},
      {"id", pg_type::kInt8},         {"aggregate_type", pg_type::kVarchar},
  };
  return columns;
}

class MultiTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mapper_ = MakeMapper(TenantOptions());
    ASSERT_NE(mapper_, nullptr);
    ASSERT_TRUE(
        mapper_->OnRelation(MakeRelation(kTenantAOid, "tenant_a", "outbox", CanonicalColumns()))
            .ok());
    ASSERT_TRUE(
        mapper_->OnRelation(MakeRelation(kTenantBOid, "tenant_b", "outbox", TenantBColumns()))
            .ok());
  }

  std::unique_ptr<EventMapper> mapper_;
  Event event_;
};

TEST_F(MultiTableTest, EachTableHasItsOwnLayout) {
  Row row;
  row.headers = R"({"trace": "t-a"})";
  ASSERT_TRUE(mapper_->Map(row.ToInsert(kTenantAOid), &event_).ok());
  EXPECT_EQ(event_.id, kId);
  EXPECT_EQ(event_.key, "42");
  EXPECT_EQ(event_.topic, "tenant_a.outbox.order");
  EXPECT_EQ(event_.payload, R"({"total": 10})");
  ASSERT_EQ(event_.headers.size(), 5u);
  EXPECT_EQ(event_.headers[3].name, "table");
  EXPECT_EQ(event_.headers[3].value, "tenant_a.outbox");
  EXPECT_EQ(event_.headers[4].name, "trace");
  EXPECT_EQ(event_.headers[4].value, "t-a");

  // payload, seq, event_type, aggregate_id, id, aggregate_type
  ASSERT_TRUE(mapper_
                  ->Map(MakeInsert(kTenantBOid, {"\\x6869", "9", "Shipped", "7", "1001", "parcel"}),
                        &event_)
                  .ok());
  EXPECT_EQ(event_.id, "1001");
  EXPECT_EQ(event_.key, "7");
  EXPECT_EQ(event_.event_type, "Shipped");
  EXPECT_EQ(event_.aggregate_type, "parcel");
  EXPECT_EQ(event_.topic, "tenant_b.outbox.parcel");
  EXPECT_EQ(event_.payload, "hi");
  ASSERT_EQ(event_.headers.size(), 4u);
  for (size_t i = 0; i < kReservedHeaders.size(); ++i) {
    EXPECT_EQ(event_.headers[i].name, kReservedHeaders[i]);
  }
  EXPECT_EQ(event_.headers[0].value, "1001");
  EXPECT_EQ(event_.headers[3].value, "tenant_b.outbox");

  // And back: tenant_a's layout is still its own.
  ASSERT_TRUE(mapper_->Map(Row().ToInsert(kTenantAOid), &event_).ok());
  EXPECT_EQ(event_.topic, "tenant_a.outbox.order");
  EXPECT_EQ(HeaderValues(event_, "table"), std::vector<std::string_view>{"tenant_a.outbox"});
}

TEST_F(MultiTableTest, ARelationTheSelectionDoesNotMatchIsNotTheOutbox) {
  // Same layout as tenant_a, but public.other is not selected.
  ASSERT_TRUE(
      mapper_->OnRelation(MakeRelation(kPublicOtherOid, "public", "other", CanonicalColumns()))
          .ok());
  ExpectError(mapper_->Map(Row().ToInsert(kPublicOtherOid), &event_), Code::kFailedPrecondition,
              {"publication includes table public.other, which is not an outbox table "
               "(--table tenant_*.outbox;"});
  EXPECT_EQ(mapper_->bad_row_reason(), std::nullopt);
  EXPECT_FALSE(mapper_->DumpRow(Row().ToInsert(kPublicOtherOid), std::nullopt).ok());
  // The outbox tables are unaffected.
  EXPECT_TRUE(mapper_->Map(Row().ToInsert(kTenantAOid), &event_).ok());
}

TEST_F(MultiTableTest, DumpRowNamesTheRowsTable) {
  Result<EventMapper::RowDump> dump = mapper_->DumpRow(
      MakeInsert(kTenantBOid, {"\\x00", "9", "Shipped", "7", "1001", "parcel"}), std::nullopt);
  ASSERT_TRUE(dump.ok()) << dump.status().ToString();
  EXPECT_EQ(dump->table, "tenant_b.outbox");
  EXPECT_EQ(dump->id, "1001");
  dump = mapper_->DumpRow(Row().ToInsert(kTenantAOid), std::nullopt);
  ASSERT_TRUE(dump.ok());
  EXPECT_EQ(dump->table, "tenant_a.outbox");
}

TEST(MultiTableCheckTest, ErrorsNameTheTable) {
  std::unique_ptr<EventMapper> mapper = MakeMapper(TenantOptions());
  std::vector<pg::ColumnInfo> columns = ToColumnInfos(TenantBColumns());
  EXPECT_TRUE(mapper->CheckColumns(pg::TableName{"tenant_b", "outbox"}, columns).ok());
  columns.erase(columns.begin() + 3);  // aggregate_id
  ExpectError(mapper->CheckColumns(pg::TableName{"tenant_c", "outbox"}, columns), Code::kNotFound,
              {"table tenant_c.outbox has no column \"aggregate_id\" (mapped by --column-key)"});
  // OnRelation says the same, naming the relation's table.
  std::vector<Col> broken = TenantBColumns();
  broken.erase(broken.begin() + 3);
  ExpectError(mapper->OnRelation(MakeRelation(kTenantBOid, "tenant_b", "outbox", broken)),
              Code::kNotFound, {"table tenant_b.outbox has no column \"aggregate_id\""});
}

TEST(MultiTableCheckTest, AnOptionalColumnOfTheWrongTypeIsStillAnError) {
  std::unique_ptr<EventMapper> mapper = MakeMapper(TenantOptions());
  std::vector<pg::ColumnInfo> columns = ToColumnInfos(TenantBColumns());
  columns.push_back({"headers", pg_type::kText});
  ExpectError(mapper->CheckColumns(pg::TableName{"tenant_b", "outbox"}, columns),
              Code::kFailedPrecondition, {"column tenant_b.outbox.headers has type oid 25"});
}

TEST(MultiTableCheckTest, ANamedOptionalColumnIsRequiredOfEveryTable) {
  MapperOptions options = TenantOptions();
  options.headers_column_required = true;  // --column-headers given
  std::unique_ptr<EventMapper> mapper = MakeMapper(options);
  EXPECT_TRUE(
      mapper->CheckColumns(pg::TableName{"tenant_a", "outbox"}, ToColumnInfos(CanonicalColumns()))
          .ok());
  const Status status =
      mapper->CheckColumns(pg::TableName{"tenant_b", "outbox"}, ToColumnInfos(TenantBColumns()));
  ExpectError(status, Code::kNotFound,
              {"table tenant_b.outbox has no column \"headers\" (mapped by --column-headers)"});
  // The topic column is still optional.
  EXPECT_EQ(status.message().find("\"topic\""), std::string::npos) << status.message();
}

TEST(MultiTableCheckTest, SchemaAndTablePlaceholdersNeedNoColumn) {
  MapperOptions options = TenantOptions();
  options.topic_template = "{table}-{schema}";
  std::unique_ptr<EventMapper> mapper = MakeMapper(options);
  EXPECT_TRUE(
      mapper->CheckColumns(pg::TableName{"tenant_b", "outbox"}, ToColumnInfos(TenantBColumns()))
          .ok());
  ASSERT_TRUE(
      mapper->OnRelation(MakeRelation(kTenantBOid, "tenant_b", "outbox", TenantBColumns())).ok());
  Event event;
  ASSERT_TRUE(
      mapper->Map(MakeInsert(kTenantBOid, {"\\x00", "9", "Shipped", "7", "1001", "parcel"}), &event)
          .ok());
  EXPECT_EQ(event.topic, "outbox-tenant_b");
  // A name that is not a valid topic name is refused like any rendered topic.
  ASSERT_TRUE(mapper
                  ->OnRelation(MakeRelation(kTenantAOid, "tenant_ä", "outbox",
                                            {{"payload", pg_type::kBytea},
                                             {"seq", pg_type::kInt8},
                                             {"event_type", pg_type::kText},
                                             {"aggregate_id", pg_type::kText},
                                             {"id", pg_type::kInt8},
                                             {"aggregate_type", pg_type::kVarchar}}))
                  .ok());
  ExpectError(mapper->Map(MakeInsert(kTenantAOid, {"\\x00", "9", "Shipped", "7", "1002", "parcel"}),
                          &event),
              Code::kInvalidArgument, {"event 1002: topic", "is not a valid Kafka topic name"});
  EXPECT_EQ(mapper->bad_row_reason(), BadRowReason::kTopic);
}

TEST(MultiTableRelationTest, ATableNotSeenAtStartUpIsLoggedOnce) {
  LogCapture log;
  std::unique_ptr<EventMapper> mapper = MakeMapper(TenantOptions());
  mapper->SetStartupTables({pg::TableName{"tenant_a", "outbox"}});
  ASSERT_TRUE(
      mapper->OnRelation(MakeRelation(kTenantAOid, "tenant_a", "outbox", CanonicalColumns())).ok());
  ASSERT_TRUE(
      mapper->OnRelation(MakeRelation(kPublicOtherOid, "public", "other", CanonicalColumns()))
          .ok());
  EXPECT_EQ(log.Lines("(new)").size(), 0u) << ::testing::PrintToString(log.Lines(""));
  ASSERT_TRUE(
      mapper->OnRelation(MakeRelation(kTenantBOid, "tenant_b", "outbox", TenantBColumns())).ok());
  // Again after a reconnect: already announced.
  mapper->Reset();
  ASSERT_TRUE(
      mapper->OnRelation(MakeRelation(kTenantBOid, "tenant_b", "outbox", TenantBColumns())).ok());
  const std::vector<std::string> lines = log.Lines("(new)");
  ASSERT_EQ(lines.size(), 1u) << ::testing::PrintToString(log.Lines(""));
  EXPECT_EQ(lines[0], "info streaming outbox table tenant_b.outbox (new)");
  Event event;
  EXPECT_TRUE(
      mapper->Map(MakeInsert(kTenantBOid, {"\\x00", "9", "Shipped", "7", "1001", "parcel"}), &event)
          .ok());
}

TEST(MultiTableRelationTest, WithoutStartupTablesNothingIsLogged) {
  LogCapture log;
  std::unique_ptr<EventMapper> mapper = MakeMapper(TenantOptions());
  ASSERT_TRUE(
      mapper->OnRelation(MakeRelation(kTenantBOid, "tenant_b", "outbox", TenantBColumns())).ok());
  EXPECT_EQ(log.Lines("(new)").size(), 0u);
}

}  // namespace
}  // namespace pgoutbox::outbox
