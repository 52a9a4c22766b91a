// `pgoutbox replay` end to end, against a real PostgreSQL and the mock Kafka
// cluster: rows that were streamed once are published again from the table,
// exactly those selected (--since, --ids), as records identical to the
// stream's (key, value, headers, topic); the slot does not move and no slot
// or publication is created; --dry-run publishes nothing; bad arguments are
// exit 2 with one line; the least-privilege role is enough; a bad row stops
// the replay under halt, is passed over under skip and dead-lettered (without
// an lsn header) under dlq; a batch the broker refused is produced again
// record by record, none of its good records a bad row; an undelivered
// record and an id not in the table are named, exit 1. And the row reader
// under it, on a replication connection inside the snapshot of a new slot,
// as a recovery from the table will use it.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "integration/harness.h"
#include "integration/output_checks.h"
#include "integration/workload.h"
#include "pg/catalog.h"
#include "pg/connection.h"
#include "pg/row_reader.h"

namespace pgoutbox::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kOrders[] = "outbox.event.order";
constexpr char kCustom[] = "custom.topic";
constexpr char kRole[] = "pgoutbox";

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A record as the consumer saw it, without where it landed or when.
struct Published {
  std::string topic;
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  bool operator==(const Published&) const = default;
};

Published Of(const ConsumedRecord& r) { return {r.topic, r.key, r.value, r.headers}; }

std::vector<std::string> ReplayArgs(const Harness& h, const std::vector<std::string>& extra,
                                    const std::string& conninfo = "") {
  std::vector<std::string> argv = {
      PgoutboxBinary(), "replay",
      "--db",           conninfo.empty() ? h.pg->ConnInfo(h.db) : conninfo,
      "--brokers",      h.kafka->bootstraps()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h_.ok());
    h_.CreateOutboxTable();
    h_.kafka->CreateTopic(kOrders, 3);
    h_.kafka->CreateTopic(kCustom, 1);
    consumer_ = std::make_unique<TopicConsumer>(h_.kafka->bootstraps(),
                                                std::vector<std::string>{kOrders, kCustom});
    // The slot and publication, before the rows: every row is streamed.
    std::string output;
    ASSERT_EQ(h_.RunToEnd({"--exit-when-caught-up"}, 30s, &output), 0) << output;
  }

  // Inserts `n` rows of aggregate `tag`-1..n created `age` ago (headers,
  // and a topic override on the first), in one transaction, and returns
  // their ids.
  std::set<std::string> Insert(const std::string& tag, int n, const std::string& age) {
    const std::string sql =
        "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, topic, payload, "
        "headers, created_at) SELECT 'order', '" +
        tag + "-' || g, 'Placed', CASE WHEN g = 1 THEN '" + kCustom +
        "' END, jsonb_build_object('n', g, 'tag', '" + tag +
        "'), jsonb_build_object('traceparent', 'tp-' || g, 'try', g), now() - '" + age +
        "'::interval + g * interval '1 ms' FROM generate_series(1, " + std::to_string(n) +
        ") g RETURNING id";
    std::set<std::string> ids;
    for (const auto& row : h_.Query(sql)) ids.insert(row[0]);
    EXPECT_EQ(ids.size(), static_cast<size_t>(n));
    return ids;
  }

  // Streams everything committed so far and waits for `count` records
  // (without cleanup, which would delete the rows older than a day).
  void Stream(size_t count) {
    std::string output;
    ASSERT_EQ(h_.RunToEnd({"--end-lsn", h_.CurrentWalLsn(), "--retention", "0"}, 60s, &output), 0)
        << output;
    ASSERT_TRUE(WaitForQuiet(*consumer_, count, 20s)) << "got " << consumer_->Count();
  }

  // Every record by id.
  std::map<std::string, std::vector<Published>> ById() const {
    std::map<std::string, std::vector<Published>> by_id;
    for (const ConsumedRecord& r : consumer_->Records()) {
      by_id[r.Header("id").value_or("")].push_back(Of(r));
    }
    return by_id;
  }

  // The ids that arrived twice are exactly `replayed`, and both copies of
  // each are the same record.
  void ExpectReplayed(const std::set<std::string>& replayed) {
    std::set<std::string> twice;
    for (const auto& [id, records] : ById()) {
      ASSERT_LE(records.size(), 2u) << id;
      if (records.size() == 2) {
        twice.insert(id);
        EXPECT_EQ(records[0], records[1]) << "the replayed record of " << id << " differs";
      }
    }
    EXPECT_EQ(twice, replayed);
  }

  std::string SlotState() const {
    return h_.QueryValue(
        "SELECT string_agg(slot_name || ' ' || confirmed_flush_lsn || ' ' || active, ', ') FROM "
        "pg_replication_slots");
  }

  Harness h_;
  std::unique_ptr<TopicConsumer> consumer_;
};

TEST_F(ReplayTest, SinceRepublishesExactlyTheRowsAfterThatTime) {
  const std::set<std::string> old_ids = Insert("old", 5, "2 hours");
  const std::set<std::string> new_ids = Insert("new", 6, "10 minutes");
  ASSERT_NO_FATAL_FAILURE(Stream(11));
  const std::string slots = SlotState();
  const std::string publications = h_.QueryValue("SELECT count(*) FROM pg_publication");
  const std::string since = h_.QueryValue("SELECT (now() - interval '1 hour')::text");

  std::string output;
  ASSERT_EQ(RunToExit(ReplayArgs(h_, {"--since", since}), &output), 0) << output;
  EXPECT_TRUE(Contains(output, "replayed 6 events from 6 rows (created_at ")) << output;
  ASSERT_TRUE(WaitForQuiet(*consumer_, 17, 20s)) << "got " << consumer_->Count();
  ExpectReplayed(new_ids);
  // The replayed records carry created_at as their timestamp.
  for (const ConsumedRecord& r : consumer_->Records()) EXPECT_GT(r.timestamp_ms, 0);

  EXPECT_EQ(SlotState(), slots) << "the replay moved or created a slot";
  EXPECT_EQ(h_.QueryValue("SELECT count(*) FROM pg_publication"), publications);
}

TEST_F(ReplayTest, SinceAndUntilSelectAWindow) {
  Insert("a", 2, "3 hours");
  const std::set<std::string> middle = Insert("b", 3, "2 hours");
  Insert("c", 2, "1 minute");
  ASSERT_NO_FATAL_FAILURE(Stream(7));
  std::string output;
  ASSERT_EQ(
      RunToExit(
          ReplayArgs(h_, {"--since", h_.QueryValue("SELECT (now() - interval '150 minutes')::text"),
                          "--until", h_.QueryValue("SELECT (now() - interval '1 hour')::text")}),
          &output),
      0)
      << output;
  EXPECT_TRUE(Contains(output, "replayed 3 events from 3 rows")) << output;
  ASSERT_TRUE(WaitForQuiet(*consumer_, 10, 20s)) << "got " << consumer_->Count();
  ExpectReplayed(middle);
}

TEST_F(ReplayTest, IdsRepublishesThoseRows) {
  const std::set<std::string> ids = Insert("x", 4, "1 day");
  ASSERT_NO_FATAL_FAILURE(Stream(4));
  auto it = ids.begin();
  const std::string first = *it++;
  std::string second = *it;
  for (char& c : second) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string output;
  // An upper-case uuid is the same id; a repeated one is replayed once.
  ASSERT_EQ(RunToExit(ReplayArgs(h_, {"--ids", first + "," + second + "," + first}), &output), 0)
      << output;
  EXPECT_TRUE(Contains(output, "replayed 2 events from 2 rows")) << output;
  ASSERT_TRUE(WaitForQuiet(*consumer_, 6, 20s)) << "got " << consumer_->Count();
  ExpectReplayed({first, *std::next(ids.begin())});
}

TEST_F(ReplayTest, IdsNotInTheTableAreNamed) {
  const std::set<std::string> ids = Insert("x", 2, "1 day");
  ASSERT_NO_FATAL_FAILURE(Stream(2));
  const std::string gone = "00000000-0000-4000-8000-000000000001";
  std::string output;
  ASSERT_EQ(RunToExit(ReplayArgs(h_, {"--ids", *ids.begin() + "," + gone}), &output), 1) << output;
  ExpectOneClearLine(output, {"1 id of --ids not in table public.outbox", gone});
  EXPECT_TRUE(Contains(output, "replayed 1 event from 1 row")) << output;
  ASSERT_TRUE(WaitForQuiet(*consumer_, 3, 20s)) << "got " << consumer_->Count();
  ExpectReplayed({*ids.begin()});
}

TEST_F(ReplayTest, AnUndeliveredRecordIsNamed) {
  const std::set<std::string> ids = Insert("x", 3, "1 minute");
  ASSERT_NO_FATAL_FAILURE(Stream(3));
  // Not retriable: the delivery report carries the error.
  h_.kafka->PushProduceErrors({RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED});
  std::string output;
  ASSERT_EQ(RunToExit(ReplayArgs(h_, {"--since", "-infinity"}), &output), 1) << output;
  ExpectOneClearLine(output, {"not delivered: event "});
  bool names_an_event = false;
  for (const auto& id : ids) names_an_event |= Contains(output, "not delivered: event " + id);
  EXPECT_TRUE(names_an_event) << output;
  EXPECT_TRUE(Contains(output, "from 3 rows")) << output;
}

TEST_F(ReplayTest, DryRunPublishesNothing) {
  Insert("x", 3, "10 minutes");
  ASSERT_NO_FATAL_FAILURE(Stream(3));
  std::string output;
  ASSERT_EQ(RunToExit({PgoutboxBinary(), "replay", "--db", h_.pg->ConnInfo(h_.db), "--since",
                       "-infinity", "--dry-run"},
                      &output),
            0)
      << output;
  const std::string first = h_.QueryValue("SELECT min(created_at)::text FROM public.outbox");
  const std::string last = h_.QueryValue("SELECT max(created_at)::text FROM public.outbox");
  EXPECT_TRUE(Contains(output, "would replay 3 rows (created_at " + first + " to " + last + ")"))
      << output;
  EXPECT_FALSE(WaitForQuiet(*consumer_, 4, 2s));
  EXPECT_EQ(consumer_->Count(), 3u);
}

TEST_F(ReplayTest, BadArgumentsExitTwoWithOneLine) {
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
      {{}, {"exactly one of --since and --ids is required"}},
      {{"--since", "yesterday", "--ids", "a"}, {"exactly one of --since and --ids", "not both"}},
      {{"--ids", "a", "--until", "today"}, {"--until needs --since"}},
      {{"--since", "not a time"}, {"--since \"not a time\"", "invalid input syntax"}},
      {{"--since", "yesterday", "--until", "someday"}, {"--until \"someday\""}},
      {{"--ids", "not-a-uuid"}, {"--ids: ", "invalid input syntax for type uuid"}},
      {{"--since", "yesterday", "--topic", "t.{nope}"}, {"{nope}"}},
      {{"--since", "yesterday", "--on-bad-row", "ignore"}, {"ignore"}},
  };
  for (const auto& [args, phrases] : cases) {
    std::string output;
    EXPECT_EQ(RunToExit(ReplayArgs(h_, args), &output), 2) << output;
    ExpectOneClearLine(output, phrases);
  }
  EXPECT_FALSE(WaitForQuiet(*consumer_, 1, 1s));
}

TEST_F(ReplayTest, TheLeastPrivilegeRoleIsEnough) {
  std::string output;
  ASSERT_EQ(RunToExit({PgoutboxBinary(), "setup", "--db", h_.pg->ConnInfo(h_.db), "--publication",
                       h_.publication, "--slot", h_.slot, "--role", kRole},
                      &output),
            0)
      << output;
  const std::set<std::string> ids = Insert("r", 3, "5 minutes");
  ASSERT_NO_FATAL_FAILURE(Stream(3));
  const std::string slots = SlotState();
  ASSERT_EQ(RunToExit(ReplayArgs(h_, {"--since", "today"}, h_.pg->ConnInfo(h_.db, kRole)), &output),
            0)
      << output;
  EXPECT_FALSE(Contains(output, "permission denied")) << output;
  ASSERT_TRUE(WaitForQuiet(*consumer_, 6, 20s)) << "got " << consumer_->Count();
  ExpectReplayed(ids);
  EXPECT_EQ(SlotState(), slots);
}

// Three rows, the second with headers that are not a JSON object.
std::string InsertWithABadRow(Harness& h) {
  EXPECT_TRUE(h.Exec(
      "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload, headers, "
      "created_at) VALUES ('order', 'k1', 'A', '{}', NULL, now() - interval '3 s'), "
      "('order', 'k2', 'B', '{}', '[1]', now() - interval '2 s'), "
      "('order', 'k3', 'C', '{}', NULL, now() - interval '1 s')"));
  return h.QueryValue("SELECT id FROM public.outbox WHERE aggregate_id = 'k2'");
}

TEST_F(ReplayTest, ABadRowStopsTheReplayUnderHalt) {
  // Streamed under skip, replayed under the default halt.
  const std::string bad = InsertWithABadRow(h_);
  std::string output;
  ASSERT_EQ(h_.RunToEnd({"--end-lsn", h_.CurrentWalLsn(), "--on-bad-row", "skip"}, 60s, &output), 0)
      << output;
  ASSERT_TRUE(WaitForQuiet(*consumer_, 2, 20s));
  ASSERT_EQ(RunToExit(ReplayArgs(h_, {"--since", "-infinity"}), &output), 1) << output;
  ExpectOneClearLine(output, {"event " + bad, "headers"});
  EXPECT_TRUE(Contains(output, "replayed 1 event from 2 rows")) << output;
  ASSERT_TRUE(WaitForQuiet(*consumer_, 3, 20s));
  EXPECT_EQ(consumer_->Count(), 3u);
}

TEST_F(ReplayTest, ABadRowIsPassedOverUnderSkip) {
  InsertWithABadRow(h_);
  std::string output;
  ASSERT_EQ(h_.RunToEnd({"--end-lsn", h_.CurrentWalLsn(), "--on-bad-row", "skip"}, 60s, &output), 0)
      << output;
  ASSERT_TRUE(WaitForQuiet(*consumer_, 2, 20s));
  ASSERT_EQ(RunToExit(ReplayArgs(h_, {"--since", "-infinity", "--on-bad-row", "skip"}), &output), 0)
      << output;
  EXPECT_TRUE(Contains(output, "replayed 2 events from 3 rows")) << output;
  EXPECT_TRUE(Contains(output, "1 bad row skipped or dead-lettered")) << output;
  ASSERT_TRUE(WaitForQuiet(*consumer_, 4, 20s));
  std::set<std::string> keys;
  for (const auto& [id, records] : ById()) {
    ASSERT_EQ(records.size(), 2u) << id;
    EXPECT_EQ(records[0], records[1]);
    keys.insert(records[0].key.value_or(""));
  }
  EXPECT_EQ(keys, (std::set<std::string>{"k1", "k3"}));
}

TEST_F(ReplayTest, ABadRowGoesToTheDeadLetterTopicUnderDlq) {
  const std::string bad = InsertWithABadRow(h_);
  std::string output;
  ASSERT_EQ(h_.RunToEnd({"--end-lsn", h_.CurrentWalLsn(), "--on-bad-row", "skip"}, 60s, &output), 0)
      << output;
  ASSERT_TRUE(WaitForQuiet(*consumer_, 2, 20s));
  h_.kafka->CreateTopic("outbox.dlq", 1);
  TopicConsumer dead_letters(h_.kafka->bootstraps(), {"outbox.dlq"});
  ASSERT_EQ(RunToExit(ReplayArgs(h_, {"--since", "-infinity", "--on-bad-row", "dlq"}), &output), 0)
      << output;
  EXPECT_TRUE(Contains(output, "replayed 2 events from 3 rows")) << output;
  ASSERT_TRUE(dead_letters.WaitForCount(1, 20s)) << output;
  const ConsumedRecord record = dead_letters.Records().at(0);
  EXPECT_EQ(record.key, "k2");
  EXPECT_EQ(record.Header("id"), bad);
  EXPECT_EQ(record.Header("table"), "public.outbox");
  EXPECT_TRUE(Contains(record.Header("error").value_or(""), "not a JSON object")) << output;
  EXPECT_FALSE(record.Header("lsn").has_value()) << "a row read from the table has no lsn";
  EXPECT_TRUE(Contains(record.value, "\"aggregate_id\":\"k2\"")) << record.value;
  EXPECT_TRUE(Contains(record.value, "\"headers\":\"[1]\"")) << record.value;
}

// The broker refuses a whole batch of the replay's good records (the answer
// librdkafka gives every record of a produce request: MSG_SIZE_TOO_LARGE
// here, once). None of them is a bad row: each is produced again alone and
// delivered, under skip as under dlq, and nothing goes to the dead-letter
// topic. One produce request in flight (the mock cluster checks sequence
// numbers only for transactional producers) and time for the rows to
// gather in one batch.
TEST_F(ReplayTest, ARefusedBatchIsProducedAgainRecordByRecord) {
  const std::set<std::string> ids = Insert("batch", 20, "1 minute");
  Stream(20);
  h_.kafka->CreateTopic("outbox.dlq", 1);
  TopicConsumer dead_letters(h_.kafka->bootstraps(), {"outbox.dlq"});
  for (const std::string action : {"skip", "dlq"}) {
    SCOPED_TRACE(action);
    const size_t before = consumer_->Count();
    h_.kafka->PushProduceErrors({RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE});
    std::string output;
    ASSERT_EQ(RunToExit(ReplayArgs(
                            h_, {"--since", "-infinity", "--on-bad-row", action, "-X",
                                 "max.in.flight.requests.per.connection=1", "-X", "linger.ms=200"}),
                        &output),
              0)
        << output;
    EXPECT_TRUE(Contains(output, "Kafka refused a batch of records")) << output;
    EXPECT_TRUE(Contains(output, "replayed 20 events from 20 rows")) << output;
    EXPECT_FALSE(Contains(output, "skipped or dead-lettered")) << output;
    ASSERT_TRUE(WaitForQuiet(*consumer_, before + 20, 20s)) << "got " << consumer_->Count();
    EXPECT_EQ(consumer_->Count(), before + 20);
  }
  std::map<std::string, size_t> copies;
  for (const auto& [id, records] : ById()) {
    copies[id] = records.size();
    for (const Published& r : records) EXPECT_EQ(r, records.front()) << id;
  }
  for (const std::string& id : ids) EXPECT_EQ(copies[id], 3u) << id;  // streamed, replayed twice
  EXPECT_FALSE(dead_letters.WaitForCount(1, 2s)) << "a good event was dead-lettered";
}

// The row reader as a recovery from the table will use it: on a replication
// connection, in the transaction that holds the snapshot a new slot exported,
// it sees the rows committed before the slot and none after.
TEST(RowReaderTest, ReadsInTheSnapshotOfANewSlot) {
  Harness h(1);
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  ASSERT_TRUE(h.Exec(
      "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload, created_at) "
      "SELECT 'order', 'k' || g, 'A', jsonb_build_object('n', g), now() + g * interval '1 s' "
      "FROM generate_series(1, 25) g"));
  // The columns from the catalog on an ordinary connection (TableColumns
  // uses parameters, which a replication connection does not take).
  auto ordinary = pg::PgConnection::Connect(h.pg->ConnInfo(h.db), pg::PgConnection::Kind::kOrdinary,
                                            "pgoutbox test");
  ASSERT_TRUE(ordinary.ok()) << ordinary.status().ToString();
  auto columns = pg::TableColumns(**ordinary, pg::TableName{});
  ASSERT_TRUE(columns.ok()) << columns.status().ToString();
  auto conn = pg::PgConnection::Connect(h.pg->ConnInfo(h.db), pg::PgConnection::Kind::kReplication,
                                        "pgoutbox test");
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE((*conn)->Query("BEGIN ISOLATION LEVEL REPEATABLE READ").ok());
  auto slot = (*conn)->Query(
      "CREATE_REPLICATION_SLOT recovery_test TEMPORARY LOGICAL pgoutput USE_SNAPSHOT");
  ASSERT_TRUE(slot.ok()) << slot.status().ToString();
  ASSERT_TRUE(
      h.Exec("INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES "
             "('order', 'after', 'A', '{}')"));

  pg::RowSelection selection;
  selection.created_at_column = "created_at";
  selection.id_column = "id";
  auto reader = pg::RowReader::Open(conn->get(), pg::TableName{}, *columns, selection, 10);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  std::vector<std::string> keys;
  std::vector<size_t> batches;
  for (;;) {
    std::vector<pg::TableRow> rows;
    ASSERT_TRUE((*reader)->Next(&rows).ok());
    if (rows.empty()) break;
    batches.push_back(rows.size());
    for (const pg::TableRow& row : rows) {
      keys.push_back(row.values[2].value_or(""));
      EXPECT_TRUE(row.created_at_unix_ms.has_value());
    }
  }
  EXPECT_EQ(batches, (std::vector<size_t>{10, 10, 5}));
  ASSERT_EQ(keys.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(keys[i], "k" + std::to_string(i + 1));
  ASSERT_TRUE((*reader)->Close().ok());
  // The transaction is still the caller's.
  EXPECT_EQ(PQtransactionStatus((*conn)->get()), PQTRANS_INTRANS);
  EXPECT_TRUE((*conn)->Query("COMMIT").ok());
}

// The rows a recovery from the table publishes: those of the transaction
// the delivered mark names and later ones (by transaction age), or created
// since a time.
class AfterMarkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h_.ok());
    h_.CreateOutboxTable();
    // No vacuum but the test's own: which rows are frozen is the test's.
    ASSERT_TRUE(h_.Exec("ALTER TABLE public.outbox SET (autovacuum_enabled = off)"));
    auto ordinary = pg::PgConnection::Connect(h_.pg->ConnInfo(h_.db),
                                              pg::PgConnection::Kind::kOrdinary, "pgoutbox test");
    ASSERT_TRUE(ordinary.ok()) << ordinary.status().ToString();
    conn_ = std::move(*ordinary);
    auto columns = pg::TableColumns(*conn_, pg::TableName{});
    ASSERT_TRUE(columns.ok()) << columns.status().ToString();
    columns_ = *columns;
  }

  // Inserts rows "<tag>-1" and "<tag>-2" (aggregate_id) created at 00:00 +
  // `hour` hours, in one transaction; returns its 32-bit xid as text.
  std::string Transaction(const std::string& tag, int hour) {
    const std::string rows = "SELECT 'order', '" + tag + "-' || g, 'A', '{}', timestamptz '" +
                             Hour(hour) + "' FROM generate_series(1, 2) g";
    return h_.QueryValue(
        "WITH ins AS (INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, "
        "payload, created_at) " +
        rows +
        " RETURNING 1) "
        "SELECT (pg_current_xact_id()::text::bigint % 4294967296)::text FROM ins LIMIT 1");
  }

  static std::string Hour(int hour) {
    return "2026-01-01 " + std::string(hour < 10 ? "0" : "") + std::to_string(hour) + ":00:00+00";
  }

  // The aggregate ids of the rows the selection picks, sorted.
  std::vector<std::string> Selected(const std::optional<pg::RowSelection::AfterMark>& mark) {
    pg::RowSelection selection;
    selection.created_at_column = "created_at";
    selection.id_column = "id";
    selection.after_mark = mark;
    auto reader = pg::RowReader::Open(conn_.get(), pg::TableName{}, columns_, selection, 3);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    if (!reader.ok()) return {};
    size_t column = 0;
    while (column < columns_.size() && columns_[column].name != "aggregate_id") ++column;
    std::vector<std::string> ids;
    for (;;) {
      std::vector<pg::TableRow> rows;
      const Status st = (*reader)->Next(&rows);
      EXPECT_TRUE(st.ok()) << st.ToString() << "\n" << (*reader)->query();
      if (!st.ok() || rows.empty()) break;
      for (const pg::TableRow& row : rows) ids.push_back(row.values.at(column).value_or("NULL"));
    }
    EXPECT_TRUE((*reader)->Close().ok());
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  static std::vector<std::string> Rows(const std::vector<std::string>& tags) {
    std::vector<std::string> ids;
    for (const std::string& tag : tags) {
      ids.push_back(tag + "-1");
      ids.push_back(tag + "-2");
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  Harness h_{1};
  std::unique_ptr<pg::PgConnection> conn_;
  std::vector<pg::ColumnInfo> columns_;
};

TEST_F(AfterMarkTest, SelectsTheMarksTransactionAndLaterOnesOrRowsCreatedSince) {
  // t1 is the oldest transaction but claims the latest creation time.
  Transaction("t1", 9);
  Transaction("t2", 2);
  const std::string mark_xid = Transaction("t3", 3);
  Transaction("t4", 4);
  Transaction("t5", 5);
  ASSERT_FALSE(mark_xid.empty());

  EXPECT_EQ(Selected(pg::RowSelection::AfterMark{mark_xid, std::nullopt}),
            Rows({"t3", "t4", "t5"}));
  EXPECT_EQ(Selected(pg::RowSelection::AfterMark{mark_xid, Hour(8)}),
            Rows({"t1", "t3", "t4", "t5"}))
      << "either the transaction or the creation time selects";
  EXPECT_EQ(Selected(pg::RowSelection::AfterMark{"", Hour(4)}), Rows({"t1", "t4", "t5"}))
      << "no transaction: only the creation time, from it on";
  EXPECT_EQ(Selected(pg::RowSelection::AfterMark{"", std::nullopt}),
            Rows({"t1", "t2", "t3", "t4", "t5"}));
  EXPECT_EQ(Selected(std::nullopt), Rows({"t1", "t2", "t3", "t4", "t5"}));
}

// Vacuum freezing the rows does not hide those of the mark's transaction
// or later ones: the xmin column still reads the inserting transaction (a
// frozen tuple keeps its raw xmin since PostgreSQL 9.4), so the age test
// keeps selecting them, and the creation time still selects on its own.
TEST_F(AfterMarkTest, FreezingTheRowsDoesNotHideThoseAfterTheMark) {
  Transaction("t1", 9);
  Transaction("t2", 2);
  const std::string mark_xid = Transaction("t3", 3);
  Transaction("t4", 4);
  ASSERT_EQ(Selected(pg::RowSelection::AfterMark{mark_xid, std::nullopt}), Rows({"t3", "t4"}));

  ASSERT_TRUE(h_.Exec("VACUUM FREEZE public.outbox"));
  // Every row is older than the table's relfrozenxid: frozen.
  ASSERT_EQ(h_.QueryValue("SELECT count(*) FROM public.outbox WHERE age(xmin) > "
                          "(SELECT age(relfrozenxid) FROM pg_class "
                          "WHERE oid = 'public.outbox'::regclass)"),
            "8")
      << "VACUUM FREEZE left rows unfrozen: the test would prove nothing";
  Transaction("t5", 1);  // after the freeze

  EXPECT_EQ(Selected(pg::RowSelection::AfterMark{mark_xid, std::nullopt}),
            Rows({"t3", "t4", "t5"}));
  EXPECT_EQ(Selected(pg::RowSelection::AfterMark{mark_xid, Hour(8)}),
            Rows({"t1", "t3", "t4", "t5"}));
  EXPECT_EQ(Selected(pg::RowSelection::AfterMark{"", Hour(8)}), Rows({"t1"}));
  EXPECT_EQ(Selected(pg::RowSelection::AfterMark{"", Hour(2)}), Rows({"t1", "t2", "t3", "t4"}));
}

}  // namespace
}  // namespace pgoutbox::testing
