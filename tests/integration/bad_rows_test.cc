// End-to-end tests of --on-bad-row against a real PostgreSQL 15 and the mock
// Kafka cluster: every kind of bad row (a NULL key, a NULL topic placeholder,
// headers that are not a flat JSON object, an invalid topic override, a 2 MB
// payload that Kafka refuses), mixed into transactions of good rows, under
// each action. halt stops before the bad row; skip and dlq go on past it,
// lose nothing, keep every key's order, confirm the whole stream, and count
// what they did in pgoutbox_bad_rows_total. dlq's records are checked field
// by field with an independent consumer.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <simdjson.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/types.h"
#include "integration/harness.h"
#include "integration/http_probe.h"
#include "integration/output_checks.h"
#include "integration/workload.h"

namespace pgoutbox::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kGoodTopic[] = "outbox.eu";
constexpr char kDeadLetterTopic[] = "outbox.dlq";
constexpr int kKeys = 3;
constexpr int kTransactions = 10;
constexpr size_t kLargePayload = 2 * 1024 * 1024;  // over message.max.bytes (1,000,000)

struct BadRow {
  std::string id;
  std::optional<std::string> key;  // nullopt: the row's key is NULL
  std::string reason;              // the pgoutbox_bad_rows_total reason label
  std::string columns;             // extra "col = value" SQL after the common ones
};

// A good row: key k<key>, sequence number `seq` in its payload.
std::string GoodRowSql(int key, int seq) {
  return "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, region, payload) "
         "VALUES ('order', 'k" +
         std::to_string(key) + "', 'Good', 'eu', '{\"seq\": " + std::to_string(seq) + "}');";
}

std::string BadRowSql(const BadRow& bad) {
  // Columns a bad row overrides: aggregate_id, region, headers, topic, payload.
  std::map<std::string, std::string> v = {{"aggregate_id", bad.key ? "'" + *bad.key + "'" : "NULL"},
                                          {"region", "'eu'"},
                                          {"headers", "NULL"},
                                          {"topic", "NULL"},
                                          {"payload", "'{\"bad\": true}'"}};
  if (!bad.columns.empty()) {
    size_t eq = bad.columns.find('=');
    v[bad.columns.substr(0, eq)] = bad.columns.substr(eq + 1);
  }
  return "INSERT INTO public.outbox (id, aggregate_type, event_type, aggregate_id, region, "
         "headers, topic, payload) VALUES ('" +
         bad.id + "', 'order', 'Bad', " + v["aggregate_id"] + ", " + v["region"] + ", " +
         v["headers"] + ", " + v["topic"] + ", " + v["payload"] + ");";
}

// Every kind of bad row. The 2 MB one appears twice: among good rows, and
// alone in a transaction (whose only event then goes to the dead-letter
// topic, or nowhere).
std::vector<BadRow> BadRows() {
  const std::string large =
      "('{\"blob\": \"' || repeat('x', " + std::to_string(kLargePayload) + ") || '\"}')::jsonb";
  return {
      {"00000000-0000-4000-8000-0000000000b1", std::nullopt, "null_column", ""},
      {"00000000-0000-4000-8000-0000000000b2", "k1", "null_column", "region=NULL"},
      {"00000000-0000-4000-8000-0000000000b3", "k2", "headers", "headers='[\"x\"]'"},
      {"00000000-0000-4000-8000-0000000000b4", "k0", "headers", "headers='{\"a\": {\"b\": 1}}'"},
      {"00000000-0000-4000-8000-0000000000b5", "k1", "topic", "topic='bad topic!'"},
      {"00000000-0000-4000-8000-0000000000b6", "k2", "too_large", "payload=" + large},
      {"00000000-0000-4000-8000-0000000000b7", "k0", "too_large", "payload=" + large},
  };
}

// Commits the workload: kTransactions transactions of one good row per key
// (sequence = transaction index); bad rows 0..5 go into transactions 1..6,
// before, between or after the good rows; bad row 6 is a transaction of its
// own after transaction 7. Returns the WAL position after everything.
std::string CommitWorkload(Harness& h, const std::vector<BadRow>& bad) {
  for (int t = 0; t < kTransactions; ++t) {
    std::string sql = "BEGIN;";
    for (int k = 0; k < kKeys; ++k) {
      if (t >= 1 && t <= 6 && (t % (kKeys + 1)) == k) sql += BadRowSql(bad[t - 1]);
      sql += GoodRowSql(k, t);
    }
    if (t >= 1 && t <= 6 && (t % (kKeys + 1)) == kKeys) sql += BadRowSql(bad[t - 1]);
    EXPECT_TRUE(h.Exec(sql + "COMMIT;")) << sql.substr(0, 400);
    if (t == 7) {
      EXPECT_TRUE(h.Exec(BadRowSql(bad[6])));
    }
  }
  return h.CurrentWalLsn();
}

void PrepareHarness(Harness& h) {
  h.CreateOutboxTable();
  ASSERT_TRUE(
      h.Exec("ALTER TABLE public.outbox ALTER COLUMN aggregate_id DROP NOT NULL;"
             "ALTER TABLE public.outbox ADD COLUMN region text;"));
  h.kafka->CreateTopic(kGoodTopic, 3);
  h.kafka->CreateTopic(kDeadLetterTopic, 2);
}

std::vector<std::string> RunArgs(Harness& h, const std::string& action) {
  return h.Args({"--topic", "outbox.{region}", "--on-bad-row", action});
}

// Every good row arrived exactly once and, per key, in sequence order; no
// bad row arrived on the good topic.
void ExpectGoodRowsInOrder(const std::vector<ConsumedRecord>& records,
                           const std::vector<BadRow>& bad) {
  std::map<std::string, std::vector<int>> seqs;  // key -> sequence numbers in arrival order
  for (const ConsumedRecord& r : records) {
    if (r.topic != kGoodTopic) continue;
    const std::optional<std::string> id = r.Header("id");
    for (const BadRow& b : bad) EXPECT_NE(id.value_or(""), b.id) << "bad row published";
    ASSERT_TRUE(r.key.has_value());
    const size_t at = r.value.find("\"seq\": ");
    ASSERT_NE(at, std::string::npos) << r.value;
    seqs[*r.key].push_back(std::stoi(r.value.substr(at + 7)));
  }
  std::vector<int> expected;
  for (int t = 0; t < kTransactions; ++t) expected.push_back(t);
  for (int k = 0; k < kKeys; ++k) {
    EXPECT_EQ(seqs["k" + std::to_string(k)], expected) << "key k" << k;
  }
}

// Runs the workload under `action` (skip or dlq): pgoutbox must go past
// every bad row, confirm the end and count each bad row by reason.
struct GoOnResult {
  std::vector<ConsumedRecord> records;
  std::string output;
};
GoOnResult RunGoingOn(const std::string& action) {
  GoOnResult result;
  Harness h;
  EXPECT_TRUE(h.ok());
  if (!h.ok()) return result;
  PrepareHarness(h);
  if (::testing::Test::HasFatalFailure()) return result;
  TopicConsumer consumer(h.kafka->bootstraps(), {kGoodTopic, kDeadLetterTopic});
  std::unique_ptr<ChildProcess> child = StartStreaming(h, RunArgs(h, action));
  if (child == nullptr) return result;
  const int port = HttpPort(*child);

  const std::vector<BadRow> bad = BadRows();
  const std::string end = CommitWorkload(h, bad);
  const size_t good = kKeys * kTransactions;
  const size_t expected = good + (action == "dlq" ? bad.size() : 0);
  EXPECT_TRUE(WaitForQuiet(consumer, expected, seconds(60)))
      << "records: " << consumer.Count() << " of " << expected << "\n"
      << child->Output();
  EXPECT_TRUE(h.WaitForConfirmed(end, seconds(30)))
      << "the slot did not confirm past the bad rows: " << h.ConfirmedLsn() << " < " << end;

  const std::string metrics = Metrics(port);
  std::map<std::string, int> by_reason;
  for (const BadRow& b : bad) ++by_reason[b.reason];
  for (const auto& [reason, count] : by_reason) {
    const std::string series =
        "pgoutbox_bad_rows_total{action=\"" + action + "\",reason=\"" + reason + "\"}";
    EXPECT_EQ(MetricValue(metrics, series), count) << series << "\n" << metrics;
  }
  StopCleanly(*child);
  result.records = consumer.Records();
  result.output = child->Output();
  EXPECT_EQ(result.records.size(), expected);
  ExpectGoodRowsInOrder(result.records, bad);
  return result;
}

TEST(BadRows, SkipGoesOnWithOneWarningPerRow) {
  GoOnResult r = RunGoingOn("skip");
  for (const ConsumedRecord& rec : r.records) EXPECT_EQ(rec.topic, kGoodTopic);
  // One warning line per bad row, naming its id (the row with a NULL key is
  // named too) and its reason.
  for (const BadRow& b : BadRows()) {
    int lines = 0;
    for (const std::string& line : Lines(r.output)) {
      if (line.find(b.id) != std::string::npos && line.find("skipped") != std::string::npos &&
          line.find(b.reason) != std::string::npos) {
        ++lines;
      }
    }
    EXPECT_EQ(lines, 1) << "warning lines for " << b.id << ":\n" << r.output;
  }
}

TEST(BadRows, DeadLetterTopicGetsEveryBadRow) {
  GoOnResult r = RunGoingOn("dlq");
  std::map<std::string, const ConsumedRecord*> dead;
  for (const ConsumedRecord& rec : r.records) {
    if (rec.topic == kDeadLetterTopic) dead[rec.Header("id").value_or("?")] = &rec;
  }
  simdjson::dom::parser parser;
  for (const BadRow& b : BadRows()) {
    SCOPED_TRACE(b.id);
    auto it = dead.find(b.id);
    ASSERT_NE(it, dead.end()) << "no dead-letter record";
    const ConsumedRecord& rec = *it->second;
    EXPECT_EQ(rec.key, b.key);
    EXPECT_EQ(rec.Header("table"), "public.outbox");
    EXPECT_TRUE(Lsn::Parse(rec.Header("lsn").value_or("")).has_value()) << "lsn header";
    EXPECT_NE(rec.Header("error").value_or("").find(b.id), std::string::npos)
        << rec.Header("error").value_or("(none)");
    // The value is a JSON object of all the row's columns.
    simdjson::dom::object row;
    ASSERT_EQ(parser.parse(rec.value).get(row), simdjson::SUCCESS) << rec.value.substr(0, 300);
    std::string_view id;
    EXPECT_EQ(row["id"].get(id), simdjson::SUCCESS);
    EXPECT_EQ(id, b.id);
    for (const char* column : {"aggregate_type", "aggregate_id", "event_type", "region", "headers",
                               "topic", "created_at"}) {
      EXPECT_EQ(row[column].error(), simdjson::SUCCESS) << "no column " << column;
    }
    if (b.reason == "too_large") {
      // Without the payload, with its size instead.
      EXPECT_EQ(row["payload"].error(), simdjson::NO_SUCH_FIELD);
      uint64_t size = 0;
      EXPECT_EQ(row["payload_size"].get(size), simdjson::SUCCESS);
      EXPECT_GT(size, kLargePayload);
      EXPECT_LT(rec.value.size(), 2000u);
      EXPECT_NE(rec.Header("error").value_or("").find("too large"), std::string::npos);
    } else {
      std::string_view payload;
      EXPECT_EQ(row["payload"].get(payload), simdjson::SUCCESS);
      EXPECT_EQ(payload, "{\"bad\": true}");
    }
    if (!b.key) {
      EXPECT_TRUE(row["aggregate_id"].is_null());
    }
  }
  EXPECT_EQ(dead.size(), BadRows().size());
}

// halt (the default), for each kind of bad row: pgoutbox stops at it with
// one line naming the event and the reason; the good transaction before it
// is confirmed, nothing from the bad row's transaction on.
class HaltTest : public ::testing::TestWithParam<int> {};

std::string HaltCaseName(const ::testing::TestParamInfo<int>& info) {
  return "row" + std::to_string(info.param) + "_" + BadRows()[info.param].reason;
}

INSTANTIATE_TEST_SUITE_P(BadRows, HaltTest, ::testing::Range(0, 6), HaltCaseName);

// Words of the error line that say what is wrong with each bad row.
const std::vector<std::string>& HaltWords(int i) {
  static const std::vector<std::vector<std::string>> words = {
      {"aggregate_id", "NULL"}, {"{region}", "NULL"},    {"headers", "not a JSON object"},
      {"headers", "object"},    {"topic", "bad topic!"}, {"too large"}};
  return words[i];
}

TEST_P(HaltTest, StopsAtTheBadRow) {
  Harness h;
  ASSERT_TRUE(h.ok());
  ASSERT_NO_FATAL_FAILURE(PrepareHarness(h));
  TopicConsumer consumer(h.kafka->bootstraps(), {kGoodTopic, kDeadLetterTopic});
  const BadRow bad = BadRows()[GetParam()];
  std::unique_ptr<ChildProcess> child = StartStreaming(h, RunArgs(h, "halt"));
  ASSERT_NE(child, nullptr);
  const std::string before_good = h.CurrentWalLsn();
  ASSERT_TRUE(h.Exec("BEGIN;" + GoodRowSql(0, 0) + GoodRowSql(1, 0) + "COMMIT;"));
  ASSERT_TRUE(h.Exec("BEGIN;" + GoodRowSql(0, 1) + BadRowSql(bad) + "COMMIT;"));
  ASSERT_TRUE(h.Exec(GoodRowSql(2, 2)));
  const std::string end = h.CurrentWalLsn();

  const std::optional<int> code = child->Wait(seconds(60));
  const std::string output = child->Output();
  ASSERT_TRUE(code.has_value()) << "pgoutbox did not stop at the bad row:\n" << output;
  EXPECT_EQ(*code, 1) << output;  // exit 1: fix the row, then restart
  bool named = false;
  for (const std::string& line : Lines(output)) {
    bool all = line.find(bad.id) != std::string::npos;
    for (const std::string& word : HaltWords(GetParam())) {
      all = all && line.find(word) != std::string::npos;
    }
    named = named || all;
  }
  EXPECT_TRUE(named) << "no line names " << bad.id << " and "
                     << ::testing::PrintToString(HaltWords(GetParam())) << ":\n"
                     << output;
  ASSERT_TRUE(WaitForQuiet(consumer, 2, seconds(20)));
  for (const ConsumedRecord& rec : consumer.Records()) {
    EXPECT_EQ(rec.topic, kGoodTopic);
    EXPECT_NE(rec.Header("id").value_or(""), bad.id);
    EXPECT_EQ(rec.value.find("\"seq\": 2"), std::string::npos) << "a row after the bad one";
  }
  EXPECT_GT(CompareLsn(h.ConfirmedLsn(), before_good), 0)
      << "the good transaction was not confirmed";
  EXPECT_LT(CompareLsn(h.ConfirmedLsn(), end), 0) << "confirmed past the bad row";
}

// A record the broker itself refuses for good (its message.max.bytes is
// smaller than the producer's): the delivery report says so after later
// events may already be on their way, and the record is refused again when
// produced alone (a refusal of its batch alone is no proof: see
// BatchRefusal.IsRetriedRecordByRecord). Under dlq the refused event's record
// goes to the dead-letter topic with what the delivery report knows (topic,
// key, headers, payload size), its transaction is confirmed only after that
// record is acked, and the events after it still arrive in order.
TEST(BadRows, BrokerRefusalGoesToDeadLetterTopic) {
  Harness h;
  ASSERT_TRUE(h.ok());
  ASSERT_NO_FATAL_FAILURE(PrepareHarness(h));
  TopicConsumer consumer(h.kafka->bootstraps(), {kGoodTopic, kDeadLetterTopic});
  std::unique_ptr<ChildProcess> child = StartStreaming(h, RunArgs(h, "dlq"));
  ASSERT_NE(child, nullptr);
  const int port = HttpPort(*child);

  // Its batch, then the record alone.
  h.kafka->PushProduceErrors(
      {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE});
  ASSERT_TRUE(h.Exec(GoodRowSql(0, 0)));
  ASSERT_TRUE(WaitForQuiet(consumer, 1, seconds(20))) << child->Output();
  for (int t = 1; t < kTransactions; ++t) ASSERT_TRUE(h.Exec(GoodRowSql(0, t)));
  const std::string end = h.CurrentWalLsn();
  ASSERT_TRUE(WaitForQuiet(consumer, kTransactions, seconds(30))) << child->Output();
  EXPECT_TRUE(h.WaitForConfirmed(end, seconds(30))) << h.ConfirmedLsn() << " < " << end;

  std::vector<int> good_seqs;
  int dead = 0;
  for (const ConsumedRecord& rec : consumer.Records()) {
    if (rec.topic == kDeadLetterTopic) {
      ++dead;
      EXPECT_EQ(rec.key, "k0");
      EXPECT_NE(rec.Header("error").value_or("").find("too large"), std::string::npos);
      EXPECT_EQ(rec.Header("table"), "public.outbox");
      EXPECT_NE(rec.value.find("\"topic\":\"outbox.eu\""), std::string::npos) << rec.value;
      // {"seq": 0} as jsonb's text: 10 bytes.
      EXPECT_NE(rec.value.find("\"payload_size\":10"), std::string::npos) << rec.value;
      continue;
    }
    good_seqs.push_back(std::stoi(rec.value.substr(rec.value.find("\"seq\": ") + 7)));
  }
  EXPECT_EQ(dead, 1);
  std::vector<int> expected;
  for (int t = 1; t < kTransactions; ++t) expected.push_back(t);
  EXPECT_EQ(good_seqs, expected);
  EXPECT_EQ(
      MetricValue(Metrics(port), "pgoutbox_bad_rows_total{action=\"dlq\",reason=\"too_large\"}"),
      1);
  StopCleanly(*child);
}

// A headers column holding its own "id" field (and an "event_type"): every
// record carries pgoutbox's id header only, and what names an event in a
// failure (the warning, the dead-letter record of a delivery the broker
// refused, the counts) names the row's real id, never the forged one.
TEST(BadRows, AHeadersColumnWithAnIdNeverRenamesTheEvent) {
  Harness h;
  ASSERT_TRUE(h.ok());
  ASSERT_NO_FATAL_FAILURE(PrepareHarness(h));
  TopicConsumer consumer(h.kafka->bootstraps(), {kGoodTopic, kDeadLetterTopic});
  std::unique_ptr<ChildProcess> child = StartStreaming(h, RunArgs(h, "dlq"));
  ASSERT_NE(child, nullptr);
  const int port = HttpPort(*child);

  const std::vector<std::string> ids = {"00000000-0000-4000-8000-0000000000c1",
                                        "00000000-0000-4000-8000-0000000000c2",
                                        "00000000-0000-4000-8000-0000000000c3"};
  auto insert = [&](int i) {
    const std::string n = std::to_string(i);
    return h.Exec(
        "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, region, "
        "headers, payload) VALUES ('" +
        ids[i] + "', 'order', 'k0', 'Good', 'eu', '{\"id\": \"forged-" + n +
        "\", \"event_type\": \"Forged\", \"trace\": \"t" + n + "\"}', '{\"seq\": " + n + "}')");
  };
  ASSERT_TRUE(insert(0));
  ASSERT_TRUE(WaitForQuiet(consumer, 1, seconds(20))) << child->Output();
  // The broker refuses the next record in its delivery report, in its
  // batch and again alone: the dead-letter record is made from the report.
  h.kafka->PushProduceErrors(
      {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE});
  ASSERT_TRUE(insert(1));
  ASSERT_TRUE(WaitForQuiet(consumer, 2, seconds(20))) << child->Output();
  ASSERT_TRUE(insert(2));
  const std::string end = h.CurrentWalLsn();
  ASSERT_TRUE(WaitForQuiet(consumer, 3, seconds(30))) << child->Output();
  EXPECT_TRUE(h.WaitForConfirmed(end, seconds(30))) << h.ConfirmedLsn() << " < " << end;
  const std::string metrics = Metrics(port);
  EXPECT_EQ(MetricValue(metrics, "pgoutbox_bad_rows_total{action=\"dlq\",reason=\"too_large\"}"), 1)
      << metrics;
  EXPECT_EQ(MetricValue(metrics, "pgoutbox_publish_errors_total{reason=\"bad_row\"}"), 1)
      << metrics;
  StopCleanly(*child);
  const std::string output = child->Output();

  std::vector<std::string> good_ids;
  int dead = 0;
  for (const ConsumedRecord& rec : consumer.Records()) {
    int id_headers = 0;
    for (const auto& [name, value] : rec.headers) id_headers += name == "id" ? 1 : 0;
    EXPECT_EQ(id_headers, 1) << rec.topic << " offset " << rec.offset;
    EXPECT_EQ(rec.value.find("forged"), std::string::npos) << rec.value;
    if (rec.topic == kGoodTopic) {
      good_ids.push_back(rec.Header("id").value_or("(none)"));
      EXPECT_EQ(rec.Header("event_type"), "Good");
      EXPECT_TRUE(rec.Header("trace").has_value());
      continue;
    }
    ++dead;
    EXPECT_EQ(rec.Header("id"), ids[1]);
    EXPECT_EQ(rec.Header("error").value_or("").rfind("event " + ids[1] + ": ", 0), 0u)
        << rec.Header("error").value_or("(none)");
    // The refused record's headers, as its delivery report gave them.
    EXPECT_NE(rec.value.find("\"headers\":{\"id\":\"" + ids[1] + "\",\"event_type\":\"Good\","),
              std::string::npos)
        << rec.value;
  }
  EXPECT_EQ(good_ids, (std::vector<std::string>{ids[0], ids[2]}));
  EXPECT_EQ(dead, 1);
  bool sent = false;
  int warnings = 0;
  for (const std::string& line : Lines(output)) {
    sent = sent ||
           line.find("sending event " + ids[1] + " to " + kDeadLetterTopic) != std::string::npos;
    if (line.find("dropped field \"id\"") != std::string::npos) {
      ++warnings;
      EXPECT_NE(line.find(ids[0]), std::string::npos) << line;
    }
  }
  EXPECT_TRUE(sent) << output;
  EXPECT_EQ(warnings, 1) << output;  // once, not for every row
  EXPECT_EQ(output.find("forged"), std::string::npos) << output;
}

// The broker refuses a whole batch of good records (the answer librdkafka
// gives every record of a produce request: MSG_SIZE_TOO_LARGE here, once),
// or the batch arrived corrupted (INVALID_MSG, once). None of them is a bad
// row: each is produced again alone, and delivered. Under skip and dlq no
// event is acknowledged without being stored, nothing goes to the
// dead-letter topic, and the consumer finds every event.
struct Refusal {
  std::string action;
  rd_kafka_resp_err_t error;
};

class BatchRefusal : public ::testing::TestWithParam<Refusal> {};

TEST_P(BatchRefusal, IsRetriedRecordByRecord) {
  const std::string action = GetParam().action;
  Harness h;
  ASSERT_TRUE(h.ok());
  ASSERT_NO_FATAL_FAILURE(PrepareHarness(h));
  TopicConsumer consumer(h.kafka->bootstraps(), {kGoodTopic, kDeadLetterTopic});
  // One produce request in flight (the mock cluster checks sequence numbers
  // only for transactional producers), and time for a transaction's events
  // to gather in one batch.
  std::vector<std::string> args = RunArgs(h, action);
  for (const char* x : {"max.in.flight.requests.per.connection=1", "linger.ms=200"}) {
    args.push_back("-X");
    args.push_back(x);
  }
  std::unique_ptr<ChildProcess> child = StartStreaming(h, args);
  ASSERT_NE(child, nullptr);
  const int port = HttpPort(*child);
  ASSERT_TRUE(h.Exec(GoodRowSql(0, 0)));
  ASSERT_TRUE(WaitForQuiet(consumer, 1, seconds(20))) << child->Output();

  // One transaction of 20 events of one key: one batch, refused once.
  h.kafka->PushProduceErrors({GetParam().error});
  std::string sql = "BEGIN;";
  for (int seq = 1; seq <= 20; ++seq) sql += GoodRowSql(0, seq);
  ASSERT_TRUE(h.Exec(sql + "COMMIT;"));
  for (int seq = 21; seq <= 25; ++seq) ASSERT_TRUE(h.Exec(GoodRowSql(0, seq)));
  const std::string end = h.CurrentWalLsn();
  ASSERT_TRUE(WaitForQuiet(consumer, 26, seconds(30))) << child->Output();
  EXPECT_TRUE(h.WaitForConfirmed(end, seconds(30))) << h.ConfirmedLsn() << " < " << end;
  EXPECT_NE(child->Output().find("Kafka refused a batch of records"), std::string::npos)
      << child->Output();

  std::map<int, int> seen;
  for (const ConsumedRecord& rec : consumer.Records()) {
    EXPECT_EQ(rec.topic, kGoodTopic) << "a good event went to " << rec.topic;
    if (rec.topic != kGoodTopic) continue;
    ++seen[std::stoi(rec.value.substr(rec.value.find("\"seq\": ") + 7))];
  }
  for (int seq = 0; seq <= 25; ++seq) EXPECT_EQ(seen[seq], 1) << "seq " << seq;
  const std::string metrics = Metrics(port);
  for (const char* reason : {"too_large", "rejected", "corrupted"}) {
    EXPECT_EQ(MetricValue(metrics, "pgoutbox_bad_rows_total{action=\"" + action + "\",reason=\"" +
                                       reason + "\"}")
                  .value_or(0),
              0)
        << "a good event counted as a bad row (" << reason << ")";
  }
  StopCleanly(*child);
}

INSTANTIATE_TEST_SUITE_P(Actions, BatchRefusal,
                         ::testing::Values(Refusal{"skip", RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE},
                                           Refusal{"dlq", RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE},
                                           Refusal{"skip", RD_KAFKA_RESP_ERR_INVALID_MSG}),
                         [](const ::testing::TestParamInfo<Refusal>& info) {
                           return info.param.action +
                                  (info.param.error == RD_KAFKA_RESP_ERR_INVALID_MSG ? "_corrupted"
                                                                                     : "");
                         });

}  // namespace
}  // namespace pgoutbox::testing
