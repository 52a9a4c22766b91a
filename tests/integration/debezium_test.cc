// Moving from Debezium: a Debezium-shaped outbox table streamed with
// `--preset debezium` and the flags README "Moving from Debezium" gives for
// the options a user set, checked record by record against what that guide
// says Debezium's outbox event router would have produced for the same rows.
//
// The expected records come from the guide's rules, written once below
// (DebeziumRecordFor), never from pgoutbox's output: the topic is
// route.topic.replacement with ${routedByValue} replaced by the aggregate
// type, the key the aggregate id, the value the payload column's text (jsonb
// as PostgreSQL prints it, NULL a null value), the headers `id` and then the
// header placements of table.fields.additional.placement, in that order. On
// top of those, pgoutbox adds the headers the guide lists (event_type,
// aggregate_type, table) right after `id`, and nothing else.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "integration/harness.h"
#include "support/kafka_cluster.h"
#include "support/pg_server.h"

namespace pgoutbox::testing {
namespace {

using namespace std::chrono_literals;
using Header = std::pair<std::string, std::optional<std::string>>;

constexpr auto kArrival = 20s;
constexpr auto kSettle = 1500ms;

// The table of Debezium's outbox documentation ("Basic outbox table"), plus
// `extra_columns`.
std::string CreateDebeziumTable(const std::string& table, const std::string& extra_columns = "") {
  return "CREATE TABLE " + table +
         " (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL, "
         "aggregateid varchar(255) NOT NULL, type varchar(255) NOT NULL, payload jsonb" +
         extra_columns + ")";
}

// What Debezium's connector left behind: its slot (slot.name, default
// `debezium`) and the publication publication.autocreate.mode=filtered
// creates for table.include.list (every operation, not only inserts).
void CreateDebeziumSlotAndPublication(Harness& h, const std::string& table) {
  h.slot = "debezium";
  h.publication = "dbz_publication";
  ASSERT_TRUE(h.Exec("CREATE PUBLICATION dbz_publication FOR TABLE " + table));
  ASSERT_TRUE(h.Exec("SELECT pg_create_logical_replication_slot('debezium', 'pgoutput')"));
}

std::string Literal(const std::optional<std::string>& s) {
  if (!s) return "NULL";
  std::string out = "'";
  for (char c : *s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// One row as the application inserts it.
struct OutboxRow {
  std::string id;  // as written: any form PostgreSQL's uuid input takes
  std::string aggregatetype, aggregateid, type;
  std::optional<std::string> payload;                            // JSON as written; nullopt: NULL
  std::map<std::string, std::optional<std::string>> extra = {};  // other columns

  std::string Insert(const std::string& table) const {
    std::string columns = "id, aggregatetype, aggregateid, type, payload";
    std::string values = Literal(id) + ", " + Literal(aggregatetype) + ", " + Literal(aggregateid) +
                         ", " + Literal(type) + ", " + Literal(payload);
    for (const auto& [column, value] : extra) {
      columns += ", " + column;
      values += ", " + Literal(value);
    }
    return "INSERT INTO " + table + " (" + columns + ") VALUES (" + values + ");";
  }

  // The value of column `name` as written.
  std::optional<std::string> Column(const std::string& name) const {
    if (name == "id") return id;
    if (name == "aggregatetype") return aggregatetype;
    if (name == "aggregateid") return aggregateid;
    if (name == "type") return type;
    if (name == "payload") return payload;
    const auto it = extra.find(name);
    EXPECT_NE(it, extra.end()) << "no column " << name;
    return it == extra.end() ? std::nullopt : it->second;
  }
};

// The router options a test sets (the rest are Debezium's defaults:
// route.by.field=aggregatetype, table.field.event.id=id,
// table.field.event.key=aggregateid, table.field.event.payload=payload,
// table.expand.json.payload=false), with StringConverter as key and value
// converter and Kafka Connect's default header converter.
struct RouterConfig {
  std::string topic_replacement = "outbox.event.${routedByValue}";
  // table.fields.additional.placement entries with placement `header`:
  // (column, alias), in the order configured.
  std::vector<std::pair<std::string, std::string>> header_fields;
};

struct ExpectedRecord {
  std::string topic, key;
  std::optional<std::string> value;  // nullopt: a null value
  std::vector<Header> headers;
};

// PostgreSQL's text form of `value` as `type` (what pgoutput sends, and so
// the string Debezium's connector holds for uuid, varchar and jsonb).
std::optional<std::string> ServerText(const Harness& h, const std::optional<std::string>& value,
                                      const std::string& type) {
  if (!value) return std::nullopt;
  return h.QueryValue("SELECT " + Literal(value) + "::" + type + "::text");
}

// The guide's rules: the record Debezium's router would have produced.
ExpectedRecord DebeziumRecordFor(const Harness& h, const RouterConfig& config,
                                 const OutboxRow& row) {
  ExpectedRecord r;
  r.topic = config.topic_replacement;
  const std::string variable = "${routedByValue}";
  r.topic.replace(r.topic.find(variable), variable.size(), row.aggregatetype);
  r.key = row.aggregateid;
  r.value = ServerText(h, row.payload, "jsonb");
  r.headers.emplace_back("id", ServerText(h, row.id, "uuid"));
  // A header converter writes a string as it is and a number as its decimal
  // text: the column's value as written here.
  for (const auto& [column, alias] : config.header_fields) {
    r.headers.emplace_back(alias, row.Column(column));
  }
  return r;
}

// The headers pgoutbox adds to Debezium's, right after `id` (README "The
// Kafka record of each inserted row").
std::vector<Header> PgoutboxExtraHeaders(const OutboxRow& row, const std::string& table) {
  return {{"event_type", row.type}, {"aggregate_type", row.aggregatetype}, {"table", table}};
}

// Streams everything committed so far with `flags` (--end-lsn at the current
// WAL position) and expects a clean exit.
void StreamToNow(Harness& h, const std::vector<std::string>& flags) {
  std::vector<std::string> args = flags;
  args.insert(args.end(), {"--end-lsn", h.CurrentWalLsn()});
  std::string output;
  ASSERT_EQ(h.RunToEnd(args, 30s, &output), 0) << output;
}

// Waits for `count` records, then a moment longer, and expects no more.
void ExpectExactly(TopicConsumer& consumer, size_t count) {
  ASSERT_TRUE(consumer.WaitForCount(count, kArrival))
      << "expected " << count << " records, got " << consumer.Count();
  std::this_thread::sleep_for(kSettle);
  ASSERT_EQ(consumer.Count(), count) << "records beyond the expected ones arrived";
}

// Every expected record arrived once, and nothing else: the same topic, key,
// partition (the Java client's murmur2 of the key, as Kafka Connect's
// producer picks it), value bytes and headers, with pgoutbox's extras
// exactly where the guide says. `partitions` by topic.
void ExpectDebeziumRecords(
    const std::vector<ConsumedRecord>& records,
    const std::vector<std::pair<ExpectedRecord, std::vector<Header>>>& expected,
    const std::map<std::string, int>& partitions) {
  ASSERT_EQ(records.size(), expected.size());
  std::map<std::string, const ConsumedRecord*> by_id;
  for (const ConsumedRecord& r : records) {
    ASSERT_FALSE(r.headers.empty()) << r.topic << "@" << r.offset;
    ASSERT_EQ(r.headers[0].first, "id");
    ASSERT_TRUE(r.headers[0].second.has_value());
    EXPECT_TRUE(by_id.emplace(*r.headers[0].second, &r).second)
        << "event " << *r.headers[0].second << " arrived twice";
  }
  for (const auto& [want, extras] : expected) {
    const std::string id = *want.headers[0].second;
    SCOPED_TRACE("event " + id);
    ASSERT_EQ(by_id.count(id), 1u) << "never arrived";
    const ConsumedRecord& got = *by_id.at(id);
    EXPECT_EQ(got.topic, want.topic);
    ASSERT_TRUE(got.key.has_value());
    EXPECT_EQ(*got.key, want.key);
    ASSERT_EQ(partitions.count(want.topic), 1u) << want.topic;
    EXPECT_EQ(got.partition, JavaPartitionForKey(want.key, partitions.at(want.topic)));
    // jsonb's text is never empty, so an empty value can only be the null one
    // (the consumer reads a null value as empty).
    EXPECT_EQ(got.value, want.value.value_or(""));
    if (want.value) {
      EXPECT_FALSE(got.value.empty());
    }
    // Debezium's headers, in its order, with pgoutbox's extras after `id`.
    std::vector<Header> headers = {want.headers[0]};
    headers.insert(headers.end(), extras.begin(), extras.end());
    headers.insert(headers.end(), want.headers.begin() + 1, want.headers.end());
    EXPECT_EQ(got.headers, headers);
  }
}

// ---------------------------------------------------------------------------

// The router's defaults: the table and connector as Debezium's documentation
// shows them, pgoutbox on Debezium's slot and publication.
TEST(Debezium, DefaultRouterRecordsOnDebeziumsSlot) {
  Harness h;
  ASSERT_TRUE(h.ok());
  const std::string table = "public.outboxevent";
  ASSERT_TRUE(h.Exec(CreateDebeziumTable(table)));
  ASSERT_NO_FATAL_FAILURE(CreateDebeziumSlotAndPublication(h, table));
  const std::map<std::string, int> partitions = {{"outbox.event.Order", 3},
                                                 {"outbox.event.Customer", 2}};
  for (const auto& [topic, n] : partitions) h.kafka->CreateTopic(topic, n);
  TopicConsumer consumer(h.kafka->bootstraps(), {"outbox.event.Order", "outbox.event.Customer"});

  const std::vector<OutboxRow> published = {
      {"5b0e6a6c-4b8e-4d4e-9a51-3f0d1c2b7a10", "Order", "1001", "OrderCreated",
       R"({"lineItems": [{"item": "Debezium in Action", "quantity": 2}], "totalPrice": 39.98})"},
      {"8F14E45F-CEEA-467A-9C2B-0D3E6A1F2B44", "Order", "1002", "OrderCreated",
       R"({"b":  1, "a": "Zoë \u00e9 \"q\""})"},
      {"c9f0f895-fb98-4b91-8a3e-2c4d5e6f7a81", "Customer", "c-7", "CustomerRegistered",
       R"({"name": "Ann"})"},
      // Inserted and deleted in the same transaction, as Debezium recommends:
      // the insert is an event, the delete is not.
      {"45c48cce-2e2d-4fbd-8a1b-3c4d5e6f7a92", "Order", "1001", "OrderShipped", R"({"n": 2})"},
      // A NULL payload: Debezium's value is null (a tombstone for the key).
      {"d3d94468-02a4-4b31-9c2b-4d5e6f7a8b03", "Order", "1002", "OrderCancelled", std::nullopt},
  };
  const OutboxRow rolled_back{"6512bd43-d9ca-46e0-8a1b-5e6f7a8b9c14", "Order", "1003",
                              "OrderCreated", R"({"n": 3})"};
  const OutboxRow savepoint_undone{"c20ad4d7-6fe9-4759-9c2b-6f7a8b9cad25", "Order", "1004",
                                   "OrderCreated", R"({"n": 4})"};
  ASSERT_TRUE(h.Exec("BEGIN;" + published[0].Insert(table) + published[1].Insert(table) +
                     published[2].Insert(table) + "COMMIT;"));
  ASSERT_TRUE(h.Exec("BEGIN;" + published[3].Insert(table) + "DELETE FROM " + table +
                     " WHERE id = " + Literal(published[3].id) + "; COMMIT;"));
  ASSERT_TRUE(h.Exec("BEGIN;" + rolled_back.Insert(table) + "ROLLBACK;"));
  ASSERT_TRUE(h.Exec("BEGIN;" + published[4].Insert(table) + "SAVEPOINT s;" +
                     savepoint_undone.Insert(table) + "ROLLBACK TO SAVEPOINT s; COMMIT;"));
  // An update is not an event (Debezium: table.op.invalid.behavior=warn).
  ASSERT_TRUE(h.Exec("UPDATE " + table + " SET type = 'Changed' WHERE aggregateid = '1002'"));

  // The guide's flags for this connector: the defaults need no more than
  // the preset, the table and Debezium's slot and publication.
  ASSERT_NO_FATAL_FAILURE(
      StreamToNow(h, {"--preset", "debezium", "--table", table, "--no-create"}));
  ASSERT_NO_FATAL_FAILURE(ExpectExactly(consumer, published.size()));

  const RouterConfig router;
  std::vector<std::pair<ExpectedRecord, std::vector<Header>>> expected;
  for (const OutboxRow& row : published) {
    expected.emplace_back(DebeziumRecordFor(h, router, row), PgoutboxExtraHeaders(row, table));
  }
  ExpectDebeziumRecords(consumer.Records(), expected, partitions);
}

// route.topic.replacement and table.fields.additional.placement (header
// placements): --topic, and a json headers column that a trigger fills from
// the placed columns, so the application's inserts stay as they are.
TEST(Debezium, TopicReplacementAndHeaderPlacements) {
  Harness h;
  ASSERT_TRUE(h.ok());
  const std::string table = "public.outboxevent";
  ASSERT_TRUE(h.Exec(CreateDebeziumTable(table, ", tenant varchar(255), attempt integer")));
  // The guide's table change, made while Debezium still runs.
  ASSERT_TRUE(h.Exec("ALTER TABLE " + table + " ADD COLUMN headers json"));
  ASSERT_TRUE(
      h.Exec("CREATE FUNCTION outboxevent_headers() RETURNS trigger LANGUAGE plpgsql AS $$ "
             "BEGIN NEW.headers := json_build_object('eventType', NEW.type, 'tenant', "
             "NEW.tenant, 'attempt', NEW.attempt); RETURN NEW; END $$"));
  ASSERT_TRUE(h.Exec("CREATE TRIGGER outboxevent_headers BEFORE INSERT ON " + table +
                     " FOR EACH ROW EXECUTE FUNCTION outboxevent_headers()"));
  ASSERT_NO_FATAL_FAILURE(CreateDebeziumSlotAndPublication(h, table));
  const std::map<std::string, int> partitions = {{"Order.events", 4}};
  h.kafka->CreateTopic("Order.events", 4);
  TopicConsumer consumer(h.kafka->bootstraps(), {"Order.events"});

  // route.topic.replacement=${routedByValue}.events,
  // table.fields.additional.placement=type:header:eventType,tenant:header:tenant,attempt:header:attempt
  RouterConfig router;
  router.topic_replacement = "${routedByValue}.events";
  router.header_fields = {{"type", "eventType"}, {"tenant", "tenant"}, {"attempt", "attempt"}};

  const std::vector<OutboxRow> published = {
      {"0cc175b9-c0f1-46a8-8a1b-7a8b9cadbe36",
       "Order",
       "o-1",
       "OrderCreated",
       R"({"n": 1})",
       {{"tenant", "acme"}, {"attempt", "1"}}},
      // A NULL column: a null header in both.
      {"92eb5ffe-e6ae-4bb0-9c2b-8b9cadbecf47",
       "Order",
       "o-2",
       "OrderCreated",
       R"({"n": 2})",
       {{"tenant", std::nullopt}, {"attempt", "12"}}},
      {"4a8a08f0-9d37-4d1c-8a1b-9cadbecfd058",
       "Order",
       "o-1",
       "OrderPaid",
       R"([1, 2.50, "x"])",
       {{"tenant", "ümlaut \"q\""}, {"attempt", std::nullopt}}},
  };
  ASSERT_TRUE(h.Exec("BEGIN;" + published[0].Insert(table) + published[1].Insert(table) +
                     "COMMIT;" + published[2].Insert(table)));

  ASSERT_NO_FATAL_FAILURE(
      StreamToNow(h, {"--preset", "debezium", "--table", table, "--no-create", "--topic",
                      "{aggregate_type}.events", "--column-headers", "headers"}));
  ASSERT_NO_FATAL_FAILURE(ExpectExactly(consumer, published.size()));

  std::vector<std::pair<ExpectedRecord, std::vector<Header>>> expected;
  for (const OutboxRow& row : published) {
    expected.emplace_back(DebeziumRecordFor(h, router, row), PgoutboxExtraHeaders(row, table));
  }
  ExpectDebeziumRecords(consumer.Records(), expected, partitions);
}

// The switch-over on Debezium's slot: Debezium confirms the slot lazily, so
// its confirmed position is behind what it published. pgoutbox resumes at the
// slot's confirmed position: what Debezium published after it comes again,
// everything after it is published, nothing before it.
TEST(Debezium, TakingOverTheSlotResumesAtItsConfirmedPosition) {
  Harness h;
  ASSERT_TRUE(h.ok());
  const std::string table = "public.outboxevent";
  ASSERT_TRUE(h.Exec(CreateDebeziumTable(table)));
  ASSERT_NO_FATAL_FAILURE(CreateDebeziumSlotAndPublication(h, table));
  h.kafka->CreateTopic("outbox.event.Order", 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {"outbox.event.Order"});

  auto row = [](int n) {
    char id[40];
    std::snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", n);
    return OutboxRow{id, "Order", "o-" + std::to_string(n % 3), "E" + std::to_string(n),
                     R"({"n": )" + std::to_string(n) + "}"};
  };
  // Published by Debezium and confirmed on the slot.
  ASSERT_TRUE(h.Exec("BEGIN;" + row(1).Insert(table) + row(2).Insert(table) + "COMMIT;"));
  const std::string committed = h.QueryValue("SELECT pg_current_wal_flush_lsn()");
  ASSERT_FALSE(
      h.QueryValue("SELECT pg_replication_slot_advance('debezium', '" + committed + "')").empty());
  ASSERT_EQ(h.QueryValue("SELECT confirmed_flush_lsn >= '" + committed +
                         "' FROM pg_replication_slots WHERE slot_name = 'debezium'"),
            "t");
  // Published by Debezium, its offsets not yet flushed to the slot when it
  // stopped.
  ASSERT_TRUE(h.Exec(row(3).Insert(table)));
  // Committed after Debezium stopped.
  ASSERT_TRUE(h.Exec("BEGIN;" + row(4).Insert(table) + row(5).Insert(table) + "COMMIT;"));

  ASSERT_NO_FATAL_FAILURE(
      StreamToNow(h, {"--preset", "debezium", "--table", table, "--no-create"}));
  ASSERT_NO_FATAL_FAILURE(ExpectExactly(consumer, 3));
  const RouterConfig router;
  std::vector<std::pair<ExpectedRecord, std::vector<Header>>> expected;
  for (int n : {3, 4, 5}) {
    expected.emplace_back(DebeziumRecordFor(h, router, row(n)),
                          PgoutboxExtraHeaders(row(n), table));
  }
  ExpectDebeziumRecords(consumer.Records(), expected, {{"outbox.event.Order", 3}});
}

}  // namespace
}  // namespace pgoutbox::testing
