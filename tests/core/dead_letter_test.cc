// DeadLetter: the records that carry bad rows to the dead-letter topic, from
// a row still in memory and from a refused delivery report.
#include "core/dead_letter.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "outbox/pg_types.h"

namespace pgoutbox::core {
namespace {

constexpr RelationId kOutboxOid(16384);
const DeadLetterTarget kTarget{"outbox.dlq", "public.outbox"};

// The header `name` of `event`: nullopt if absent, "(null)" if null.
std::optional<std::string> Header(const outbox::Event& event, std::string_view name) {
  for (const outbox::EventHeader& h : event.headers) {
    if (h.name == name) return h.is_null ? "(null)" : std::string(h.value);
  }
  return std::nullopt;
}

std::vector<std::string> HeaderNames(const outbox::Event& event) {
  std::vector<std::string> names;
  for (const outbox::EventHeader& h : event.headers) names.emplace_back(h.name);
  return names;
}

class DeadLetterFromRowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    outbox::MapperOptions options;
    options.columns.topic.clear();  // the table below has neither
    options.columns.headers.clear();
    auto mapper = outbox::EventMapper::Create(options);
    ASSERT_TRUE(mapper.ok()) << mapper.status().ToString();
    mapper_ = std::move(mapper).value();
    pgoutput::Relation relation;
    relation.id = kOutboxOid;
    relation.namespace_name = "public";
    relation.relation_name = "outbox";
    for (auto [name, oid] : std::vector<std::pair<std::string_view, uint32_t>>{
             {"id", outbox::pg_type::kUuid},
             {"aggregate_type", outbox::pg_type::kText},
             {"aggregate_id", outbox::pg_type::kText},
             {"event_type", outbox::pg_type::kText},
             {"payload", outbox::pg_type::kJsonb}}) {
      relation.columns.push_back({0, name, oid, -1});
    }
    const Status st = mapper_->OnRelation(relation);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  // A row of the table above; nullopt is NULL.
  static pgoutput::Insert Insert(std::optional<std::string_view> id,
                                 std::optional<std::string_view> key) {
    pgoutput::Insert insert;
    insert.relation = kOutboxOid;
    for (std::optional<std::string_view> value : {id, std::optional<std::string_view>("order"), key,
                                                  std::optional<std::string_view>("Created"),
                                                  std::optional<std::string_view>(R"({"n": 1})")}) {
      pgoutput::ColumnValue column;
      if (value) {
        column.kind = pgoutput::ColumnValue::Kind::kText;
        column.data = *value;
      }
      insert.new_tuple.columns.push_back(column);
    }
    return insert;
  }

  std::unique_ptr<outbox::EventMapper> mapper_;
};

TEST_F(DeadLetterFromRowTest, CarriesTheWholeRowAndWhereItCameFrom) {
  const Status error = Status::InvalidArgument("event e1: aggregate_id is NULL");
  auto dl = DeadLetter::FromRow(kTarget, *mapper_, Insert("e1", std::nullopt), Lsn(0x16B3748),
                                outbox::BadRowReason::kNullColumn, error, 0);
  ASSERT_TRUE(dl.ok()) << dl.status().ToString();
  const outbox::Event event = dl->event();
  EXPECT_EQ(event.topic, "outbox.dlq");
  EXPECT_EQ(event.payload,
            R"({"id":"e1","aggregate_type":"order","aggregate_id":null,"event_type":"Created",)"
            R"("payload":"{\"n\": 1}"})");
  EXPECT_FALSE(event.payload_is_null);
  EXPECT_TRUE(event.key_is_null);
  EXPECT_EQ(HeaderNames(event), (std::vector<std::string>{"error", "table", "lsn", "id"}));
  EXPECT_EQ(Header(event, "error"), "event e1: aggregate_id is NULL");
  EXPECT_EQ(Header(event, "table"), "public.outbox");
  EXPECT_EQ(Header(event, "lsn"), "0/16B3748");
  EXPECT_EQ(Header(event, "id"), "e1");
  EXPECT_EQ(dl->id(), "e1");
  EXPECT_EQ(dl->error(), error.message());
}

TEST_F(DeadLetterFromRowTest, TooLargeGoesWithoutThePayload) {
  auto dl = DeadLetter::FromRow(kTarget, *mapper_, Insert("e1", "k1"), Lsn(0x100),
                                kafka::RecordRefusal::kTooLarge,
                                Status::InvalidArgument("event e1: too large"), 2000000);
  ASSERT_TRUE(dl.ok()) << dl.status().ToString();
  const outbox::Event event = dl->event();
  EXPECT_EQ(event.payload,
            R"({"id":"e1","aggregate_type":"order","aggregate_id":"k1","event_type":"Created",)"
            R"("payload_size":2000000})");
  EXPECT_FALSE(event.key_is_null);
  EXPECT_EQ(event.key, "k1");
}

TEST_F(DeadLetterFromRowTest, OtherRefusalsKeepThePayload) {
  auto dl = DeadLetter::FromRow(kTarget, *mapper_, Insert("e1", "k1"), Lsn(0x100),
                                kafka::RecordRefusal::kRejected,
                                Status::InvalidArgument("event e1: rejected"), 8);
  ASSERT_TRUE(dl.ok());
  EXPECT_NE(dl->event().payload.find(R"("payload":"{\"n\": 1}")"), std::string::npos);
}

TEST_F(DeadLetterFromRowTest, ANullIdIsANullHeader) {
  auto dl = DeadLetter::FromRow(kTarget, *mapper_, Insert(std::nullopt, "k1"), Lsn(0x100),
                                outbox::BadRowReason::kNullColumn,
                                Status::InvalidArgument("event with a NULL id"), 0);
  ASSERT_TRUE(dl.ok());
  EXPECT_EQ(Header(dl->event(), "id"), "(null)");
  EXPECT_EQ(dl->id(), "");
}

TEST_F(DeadLetterFromRowTest, AnUnknownRelationIsCorruption) {
  pgoutput::Insert insert = Insert("e1", "k1");
  insert.relation = RelationId(999);
  auto dl = DeadLetter::FromRow(kTarget, *mapper_, insert, Lsn(0x100), outbox::BadRowReason::kTopic,
                                Status::InvalidArgument("x"), 0);
  EXPECT_EQ(dl.status().code(), Status::Code::kCorruption);
}

TEST(DeadLetterFromRefusedTest, DescribesTheRecordAsItsReportDoes) {
  kafka::RefusedRecord record;
  record.event_id = "e7";
  record.topic = "outbox.eu";
  record.key = "k\"0";
  record.payload_size = 10;
  record.refusal = kafka::RecordRefusal::kTooLarge;
  record.headers = {{"id", "e7", false}, {"trace", "", true}};
  const DeadLetter dl = DeadLetter::FromRefused(
      kTarget, record, Status::Aborted("delivery to topic \"outbox.eu\" failed: too large"));
  const outbox::Event event = dl.event();
  EXPECT_EQ(event.topic, "outbox.dlq");
  EXPECT_EQ(event.payload,
            R"({"topic":"outbox.eu","key":"k\"0","headers":{"id":"e7","trace":null},)"
            R"("payload_size":10})");
  EXPECT_EQ(event.key, "k\"0");
  EXPECT_FALSE(event.key_is_null);
  EXPECT_EQ(HeaderNames(event), (std::vector<std::string>{"error", "table", "id"}));
  EXPECT_EQ(Header(event, "error"), "event e7: delivery to topic \"outbox.eu\" failed: too large");
  EXPECT_EQ(Header(event, "table"), "public.outbox");
  EXPECT_EQ(Header(event, "id"), "e7");
}

TEST(DeadLetterFromRefusedTest, AKeylessRecordStaysKeyless) {
  kafka::RefusedRecord record;
  record.event_id = "e8";
  record.topic = "t";
  record.key_is_null = true;
  const DeadLetter dl = DeadLetter::FromRefused(kTarget, record, Status::Aborted("x"));
  EXPECT_TRUE(dl.event().key_is_null);
  EXPECT_NE(dl.event().payload.find(R"("key":null)"), std::string::npos) << dl.event().payload;
}

TEST(BadRowTest, CauseNamesAreTheMetricLabels) {
  EXPECT_STREQ(BadRowCauseName(outbox::BadRowReason::kNullColumn), "null_column");
  EXPECT_STREQ(BadRowCauseName(outbox::BadRowReason::kTopic), "topic");
  EXPECT_STREQ(BadRowCauseName(outbox::BadRowReason::kHeaders), "headers");
  EXPECT_STREQ(BadRowCauseName(outbox::BadRowReason::kPayload), "payload");
  EXPECT_STREQ(BadRowCauseName(kafka::RecordRefusal::kTooLarge), "too_large");
  EXPECT_STREQ(BadRowCauseName(kafka::RecordRefusal::kTopic), "topic");
  EXPECT_STREQ(BadRowCauseName(kafka::RecordRefusal::kRejected), "rejected");
}

TEST(BadRowTest, ActionsParseAndName) {
  for (BadRowAction action :
       {BadRowAction::kHalt, BadRowAction::kDeadLetter, BadRowAction::kSkip}) {
    auto parsed = ParseBadRowAction(BadRowActionName(action));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, action);
  }
  EXPECT_EQ(ParseBadRowAction("drop").status().code(), Status::Code::kInvalidArgument);
}

TEST(DeadLetterTableTest, ARowsRecordNamesTheRowsOwnTable) {
  outbox::MapperOptions options;
  auto tables = pg::TableSelection::Parse({"tenant_*.outbox"});
  ASSERT_TRUE(tables.ok());
  options.tables = *tables;
  options.columns.topic.clear();
  options.columns.headers.clear();
  auto mapper = outbox::EventMapper::Create(options);
  ASSERT_TRUE(mapper.ok()) << mapper.status().ToString();
  pgoutput::Relation relation;
  relation.id = kOutboxOid;
  relation.namespace_name = "tenant_b";
  relation.relation_name = "outbox";
  for (auto [name, oid] : std::vector<std::pair<std::string_view, uint32_t>>{
           {"id", outbox::pg_type::kInt8},
           {"aggregate_type", outbox::pg_type::kText},
           {"aggregate_id", outbox::pg_type::kText},
           {"event_type", outbox::pg_type::kText},
           {"payload", outbox::pg_type::kBytea}}) {
    relation.columns.push_back({0, name, oid, -1});
  }
  ASSERT_TRUE((*mapper)->OnRelation(relation).ok());
  pgoutput::Insert insert;
  insert.relation = kOutboxOid;
  for (std::string_view value : {"7", "order", "k", "Created", "\\x00"}) {
    insert.new_tuple.columns.push_back({pgoutput::ColumnValue::Kind::kText, value});
  }
  const DeadLetterTarget target{"outbox.dlq", "tenant_*.outbox"};
  auto dl = DeadLetter::FromRow(target, **mapper, insert, Lsn(1), outbox::BadRowReason::kPayload,
                                Status::InvalidArgument("event 7: bad"), 0);
  ASSERT_TRUE(dl.ok()) << dl.status().ToString();
  EXPECT_EQ(Header(dl->event(), "table"), "tenant_b.outbox");
}

TEST(DeadLetterTableTest, ARefusedRecordNamesTheTableOfItsTableHeader) {
  const DeadLetterTarget target{"outbox.dlq", "tenant_*.outbox"};
  kafka::RefusedRecord record;
  record.event_id = "e8";
  record.topic = "tenant_c.order";
  record.headers = {{"id", "e8", false}, {"table", "tenant_c.outbox", false}};
  EXPECT_EQ(Header(DeadLetter::FromRefused(target, record, Status::Aborted("x")).event(), "table"),
            "tenant_c.outbox");
  // Without one (a record not made from a row): the target's.
  record.headers = {{"id", "e8", false}};
  EXPECT_EQ(Header(DeadLetter::FromRefused(target, record, Status::Aborted("x")).event(), "table"),
            "tenant_*.outbox");
}

}  // namespace
}  // namespace pgoutbox::core
