// End-to-end streaming: a real PostgreSQL 15, librdkafka's mock cluster and
// the pgoutbox binary as a child process. Each test inserts outbox rows,
// lets pgoutbox stream them (usually with --end-lsn, so the run ends
// deterministically), and reads back what reached Kafka with an independent
// consumer: which records, where, with which key, value, headers and
// timestamp, in which order, and how far the slot was confirmed.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "integration/harness.h"
#include "support/child_process.h"
#include "support/kafka_cluster.h"
#include "support/pg_server.h"

namespace pgoutbox::testing {
namespace {

using namespace std::chrono_literals;

// How long records may take to show up, and how long to keep watching for
// records that should not come.
constexpr auto kArrival = 20s;
constexpr auto kSettle = 1500ms;

struct PgConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;

struct PgResultDeleter {
  void operator()(PGresult* res) const { PQclear(res); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

// An ordinary connection of our own, for transactions that must stay open
// across statements (interleaving, savepoints, LSNs taken inside them).
PgConnPtr Connect(const Harness& h) {
  PgConnPtr conn(PQconnectdb(h.pg->ConnInfo(h.db).c_str()));
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  return conn;
}

// Runs `sql` (one or more statements) on `conn`; a test failure with the
// server's message on error. Returns the first value of the last result
// ("" if it has no rows).
std::string Sql(PGconn* conn, const std::string& sql) {
  PgResultPtr res(PQexec(conn, sql.c_str()));
  const ExecStatusType status = PQresultStatus(res.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    ADD_FAILURE() << "SQL failed: " << PQerrorMessage(conn) << "in: " << sql.substr(0, 500);
    return "";
  }
  if (PQntuples(res.get()) == 0 || PQnfields(res.get()) == 0) return "";
  return PQgetvalue(res.get(), 0, 0);
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Runs pgoutbox once until it has caught up, which creates the publication
// and the slot: the slot only sees WAL written after this.
void CreatePublicationAndSlot(Harness& h, const std::vector<std::string>& extra = {}) {
  std::string output;
  const int code = h.RunToEnd(Concat(extra, {"--exit-when-caught-up"}), 30s, &output);
  ASSERT_EQ(code, 0) << output;
  ASSERT_NE(h.ConfirmedLsn(), "") << "no slot " << h.slot << " after the first run:\n" << output;
}

// Streams everything committed so far (--end-lsn at the current WAL
// position) and expects a clean exit.
void StreamToNow(Harness& h, const std::vector<std::string>& extra = {}) {
  const std::string end = h.CurrentWalLsn();
  std::string output;
  const int code = h.RunToEnd(Concat(extra, {"--end-lsn", end}), 30s, &output);
  EXPECT_EQ(code, 0) << output;
}

// Waits for `count` records, then watches a moment longer and expects no
// more than that.
void ExpectExactly(TopicConsumer& consumer, size_t count) {
  ASSERT_TRUE(consumer.WaitForCount(count, kArrival))
      << "expected " << count << " records, got " << consumer.Count();
  std::this_thread::sleep_for(kSettle);
  ASSERT_EQ(consumer.Count(), count) << "records beyond the expected ones arrived";
}

// Records by their `id` header; an id seen twice fails the test.
std::map<std::string, ConsumedRecord> ById(const std::vector<ConsumedRecord>& records) {
  std::map<std::string, ConsumedRecord> by_id;
  for (const ConsumedRecord& r : records) {
    const std::optional<std::string> id = r.Header("id");
    if (!id) {
      ADD_FAILURE() << "record without an id header on " << r.topic << "/" << r.partition << "@"
                    << r.offset;
      continue;
    }
    EXPECT_TRUE(by_id.emplace(*id, r).second) << "event " << *id << " arrived more than once";
  }
  return by_id;
}

// How many times each id arrived.
std::map<std::string, int> IdCounts(const std::vector<ConsumedRecord>& records) {
  std::map<std::string, int> counts;
  for (const ConsumedRecord& r : records) ++counts[r.Header("id").value_or("<none>")];
  return counts;
}

std::vector<std::string> HeaderNames(const ConsumedRecord& r) {
  std::vector<std::string> names;
  for (const auto& [name, value] : r.headers) names.push_back(name);
  return names;
}

// A row as the database has it, to compare a record with.
struct Row {
  std::string id, aggregate_type, aggregate_id, event_type, topic, payload_text;
  int64_t created_ms = 0;
  int seq = 0;
};

// Every row of `table`, by id. payload as PostgreSQL's text output.
std::map<std::string, Row> RowsById(const Harness& h, const std::string& table = "public.outbox",
                                    bool has_seq = false) {
  std::map<std::string, Row> rows;
  for (const auto& r :
       h.Query("SELECT id, aggregate_type, aggregate_id, event_type, coalesce(topic, ''), "
               "payload::text, (extract(epoch FROM created_at) * 1000)::bigint, " +
               std::string(has_seq ? "(payload->>'seq')::int" : "0") + " FROM " + table)) {
    Row row{r[0], r[1], r[2], r[3], r[4], r[5], std::stoll(r[6]), std::stoi(r[7])};
    rows.emplace(row.id, row);
  }
  return rows;
}

// Checks the parts of a record every test cares about against its row:
// topic (`topic`), key, value, the three fixed headers, and the partition
// from the Java client's murmur2 of the key.
void ExpectRecordMatches(const ConsumedRecord& r, const Row& row, const std::string& topic,
                         int partitions) {
  SCOPED_TRACE("event " + row.id);
  EXPECT_EQ(r.topic, topic);
  ASSERT_TRUE(r.key.has_value());
  EXPECT_EQ(*r.key, row.aggregate_id);
  EXPECT_EQ(r.value, row.payload_text);
  ASSERT_GE(r.headers.size(), 3u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::optional<std::string>>("id", row.id)));
  EXPECT_EQ(r.headers[1],
            (std::pair<std::string, std::optional<std::string>>("event_type", row.event_type)));
  EXPECT_EQ(r.headers[2], (std::pair<std::string, std::optional<std::string>>("aggregate_type",
                                                                              row.aggregate_type)));
  EXPECT_EQ(r.partition, JavaPartitionForKey(row.aggregate_id, partitions));
}

// ---------------------------------------------------------------------------

TEST(Streaming, ThousandEventsArriveOnceInOrder) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  const std::map<std::string, int> partitions = {{"outbox.event.order", 4},
                                                 {"outbox.event.customer", 6}};
  for (const auto& [topic, n] : partitions) h.kafka->CreateTopic(topic, n);
  ASSERT_NO_FATAL_FAILURE(CreatePublicationAndSlot(h));
  TopicConsumer consumer(h.kafka->bootstraps(), {"outbox.event.order", "outbox.event.customer"});

  // A header value with every kind of JSON escape, and one PostgreSQL turns
  // into UTF-8 (\u00e9). jsonb rejects \u0000, so \u0001 is the control char.
  const std::string note_json = R"(say \"hi\" \\path\tend\n \u00e9 é ☃ \/ \u0001)";
  const std::string note_value = "say \"hi\" \\path\tend\n é é ☃ / \x01";

  constexpr int kTransactions = 100;
  constexpr int kPerTransaction = 10;
  constexpr int kAggregates = 50;
  std::mt19937 rng(20240601);
  std::vector<int> next_seq(kAggregates, 1);
  std::map<std::string, std::string> traceparent_by_seq;  // "agg/seq" -> traceparent
  PgConnPtr conn = Connect(h);
  std::string last_pre_commit;
  int event = 0;
  for (int t = 0; t < kTransactions; ++t) {
    std::string sql = "BEGIN;";
    for (int i = 0; i < kPerTransaction; ++i, ++event) {
      const int agg = static_cast<int>(rng() % kAggregates);
      const int seq = next_seq[agg]++;
      const std::string aggregate_id = "agg-" + std::to_string(agg);
      const std::string type = agg % 2 == 0 ? "order" : "customer";
      char trace[80];
      std::snprintf(trace, sizeof(trace), "00-%032x-%016x-01", event + 1, agg + 1);
      traceparent_by_seq[aggregate_id + "/" + std::to_string(seq)] = trace;
      // Not normalised as written: jsonb reorders keys and drops the spaces.
      const std::string payload = R"({"seq": )" + std::to_string(seq) + R"(, "aggregate":  ")" +
                                  aggregate_id +
                                  R"(", "data": {"z": [1, 2.50, "x"], "a": "ü\"q"},)" +
                                  R"( "big": 12345678901234567890123})";
      // Every fifth event has no headers column value.
      const std::string headers =
          event % 5 == 4 ? "NULL"
                         : Quote(R"({"traceparent": ")" + std::string(trace) + R"(", "note": ")" +
                                 note_json + R"(", "retries": 3, "tenant": null})");
      sql +=
          "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload, "
          "headers) VALUES (" +
          Quote(type) + ", " + Quote(aggregate_id) + ", " +
          Quote(seq == 1 ? "Created" : "Updated") + ", " + Quote(payload) + ", " + headers + ");";
    }
    if (t + 1 < kTransactions) {
      Sql(conn.get(), sql + "COMMIT;");
    } else {
      // Inside the last transaction, after its inserts: its commit record
      // starts after this position.
      last_pre_commit = Sql(conn.get(), sql + "SELECT pg_current_wal_insert_lsn();");
      Sql(conn.get(), "COMMIT");
    }
  }
  ASSERT_FALSE(last_pre_commit.empty());

  StreamToNow(h);
  ASSERT_NO_FATAL_FAILURE(ExpectExactly(consumer, kTransactions * kPerTransaction));

  const std::map<std::string, Row> rows = RowsById(h, "public.outbox", /*has_seq=*/true);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kTransactions * kPerTransaction));
  const std::vector<ConsumedRecord> records = consumer.Records();
  const std::map<std::string, ConsumedRecord> by_id = ById(records);
  EXPECT_EQ(by_id.size(), rows.size());

  for (const auto& [id, row] : rows) {
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      ADD_FAILURE() << "event " << id << " never arrived";
      continue;
    }
    const ConsumedRecord& r = it->second;
    const std::string topic = "outbox.event." + row.aggregate_type;
    ExpectRecordMatches(r, row, topic, partitions.at(topic));
    SCOPED_TRACE("event " + id);
    const std::string traceparent =
        traceparent_by_seq.at(row.aggregate_id + "/" + std::to_string(row.seq));
    // Which events had headers is recorded by their traceparent's event
    // number (the first %032x field).
    const int event_number = std::stoi(traceparent.substr(3, 32), nullptr, 16) - 1;
    if (event_number % 5 == 4) {
      EXPECT_EQ(HeaderNames(r),
                (std::vector<std::string>{"id", "event_type", "aggregate_type", "table"}));
    } else {
      const std::vector<std::string> names = HeaderNames(r);
      std::vector<std::string> extra(names.begin() + std::min<size_t>(4, names.size()),
                                     names.end());
      std::sort(extra.begin(), extra.end());
      EXPECT_EQ(extra, (std::vector<std::string>{"note", "retries", "tenant", "traceparent"}));
      EXPECT_EQ(r.Header("traceparent"), traceparent);
      EXPECT_EQ(r.Header("note"), note_value);
      EXPECT_EQ(r.Header("retries"), "3");
      // A JSON null is a header with a null value.
      bool tenant_is_null_header = false;
      for (const auto& [name, value] : r.headers) {
        if (name == "tenant") tenant_is_null_header = !value.has_value();
      }
      EXPECT_TRUE(tenant_is_null_header);
    }
    // The record timestamp is the commit time: not before the transaction
    // started (created_at = now()), and soon after.
    EXPECT_GE(r.timestamp_ms, row.created_ms - 1);
    EXPECT_LE(r.timestamp_ms, row.created_ms + 5000);
  }

  // Per-aggregate order: each aggregate lives on one partition, where its
  // events must appear in insert order (seq 1, 2, 3, ...).
  std::map<std::pair<std::string, int32_t>, std::vector<const ConsumedRecord*>> by_partition;
  for (const ConsumedRecord& r : records) by_partition[{r.topic, r.partition}].push_back(&r);
  std::map<std::string, std::vector<int>> seqs_by_aggregate;
  std::map<std::string, std::set<std::pair<std::string, int32_t>>> partitions_by_aggregate;
  for (const auto& [tp, list] : by_partition) {
    for (size_t i = 1; i < list.size(); ++i) {
      EXPECT_LT(list[i - 1]->offset, list[i]->offset) << tp.first << "/" << tp.second;
    }
    for (const ConsumedRecord* r : list) {
      const auto row = rows.find(r->Header("id").value_or(""));
      if (row == rows.end()) continue;
      seqs_by_aggregate[row->second.aggregate_id].push_back(row->second.seq);
      partitions_by_aggregate[row->second.aggregate_id].insert(tp);
    }
  }
  EXPECT_EQ(seqs_by_aggregate.size(), static_cast<size_t>(kAggregates));
  for (const auto& [aggregate, seqs] : seqs_by_aggregate) {
    EXPECT_EQ(partitions_by_aggregate[aggregate].size(), 1u) << aggregate;
    std::vector<int> expected(seqs.size());
    for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<int>(i) + 1;
    EXPECT_EQ(seqs, expected) << "events of " << aggregate << " out of insert order";
  }

  // The slot moved past the last transaction...
  const std::string confirmed = h.ConfirmedLsn();
  EXPECT_GT(CompareLsn(confirmed, last_pre_commit), 0)
      << "confirmed_flush_lsn " << confirmed << " is not past the last commit (which starts after "
      << last_pre_commit << ")";
  // ...so a second run has nothing to send again.
  std::string output;
  EXPECT_EQ(h.RunToEnd({"--exit-when-caught-up"}, 30s, &output), 0) << output;
  std::this_thread::sleep_for(kSettle);
  EXPECT_EQ(consumer.Count(), static_cast<size_t>(kTransactions * kPerTransaction))
      << "a second run sent confirmed events again";
}

TEST(Streaming, RollbacksPublishNothingAndCommitOrderHolds) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic("outbox.event.seq", 1);
  ASSERT_NO_FATAL_FAILURE(CreatePublicationAndSlot(h));
  TopicConsumer consumer(h.kafka->bootstraps(), {"outbox.event.seq"});

  // Every row goes to the single-partition topic; event_type names it.
  auto insert = [](const std::string& label) {
    return "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES "
           "('seq', 'agg-" +
           label + "', '" + label + "', '{\"label\": \"" + label + "\"}');";
  };
  PgConnPtr a = Connect(h);
  PgConnPtr b = Connect(h);
  Sql(a.get(), "BEGIN;" + insert("C1") + insert("C2") + "COMMIT;");
  Sql(a.get(), "BEGIN;" + insert("R1") + insert("R2") + "ROLLBACK;");
  Sql(a.get(), "BEGIN;" + insert("K1") + "SAVEPOINT s;" + insert("S1") + insert("S2") +
                   "ROLLBACK TO SAVEPOINT s;" + insert("K2") + "SAVEPOINT t;" + insert("K3") +
                   "RELEASE SAVEPOINT t;" + "SAVEPOINT u;" + insert("S3") + "SAVEPOINT v;" +
                   insert("S4") + "ROLLBACK TO SAVEPOINT u;" + "COMMIT;");
  // A transaction whose only insert is rolled back to a savepoint: empty.
  Sql(a.get(), "BEGIN; SAVEPOINT s;" + insert("S5") + "ROLLBACK TO SAVEPOINT s; COMMIT;");

  // Interleaved: B commits first, so its event comes first.
  Sql(a.get(), "BEGIN");
  Sql(b.get(), "BEGIN");
  Sql(a.get(), insert("A1"));
  Sql(b.get(), insert("B1"));
  Sql(a.get(), insert("A2"));
  Sql(b.get(), "COMMIT");
  Sql(a.get(), insert("A3"));
  Sql(a.get(), "COMMIT");

  StreamToNow(h);
  const std::vector<std::string> expected = {"C1", "C2", "K1", "K2", "K3", "B1", "A1", "A2", "A3"};
  ASSERT_NO_FATAL_FAILURE(ExpectExactly(consumer, expected.size()));

  const std::vector<ConsumedRecord> records = consumer.Records();
  std::vector<std::string> order;
  for (const ConsumedRecord& r : records) {
    EXPECT_EQ(r.partition, 0);
    order.push_back(r.Header("event_type").value_or("<none>"));
  }
  EXPECT_EQ(order, expected);
  const std::map<std::string, Row> rows = RowsById(h);
  for (const auto& [id, r] : ById(records)) {
    ASSERT_EQ(rows.count(id), 1u) << "event " << id << " is not in the table";
    ExpectRecordMatches(r, rows.at(id), "outbox.event.seq", 1);
  }
}

TEST(Streaming, LargeTransactionSpilledToDiskArrivesWhole) {
  // A transaction far beyond logical_decoding_work_mem: the server spills it
  // to disk and sends it at commit; it must arrive whole and in order.
  PgServerOptions options;
  options.extra_settings = {"logical_decoding_work_mem = '64kB'"};
  Harness h(3, options);
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic("outbox.event.order", 3);
  ASSERT_NO_FATAL_FAILURE(CreatePublicationAndSlot(h));
  TopicConsumer consumer(h.kafka->bootstraps(), {"outbox.event.order"});

  constexpr int kLarge = 5000;
  auto rows = [](int first, int last) {
    return "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) "
           "SELECT 'order', 'agg-' || (i % 7), 'E', jsonb_build_object('i', i, 'pad', "
           "repeat('x', 100)) FROM generate_series(" +
           std::to_string(first) + ", " + std::to_string(last) + ") AS i;";
  };
  ASSERT_TRUE(h.Exec(rows(1, 1)));
  ASSERT_TRUE(h.Exec("BEGIN;" + rows(2, kLarge + 1) + "COMMIT;"));
  ASSERT_TRUE(h.Exec(rows(kLarge + 2, kLarge + 2)));
  StreamToNow(h);
  ASSERT_NO_FATAL_FAILURE(ExpectExactly(consumer, kLarge + 2));

  const std::string spilled = h.QueryValue(
      "SELECT spill_txns FROM pg_stat_replication_slots WHERE slot_name = " + Quote(h.slot));
  EXPECT_GT(std::stoll(spilled.empty() ? "0" : spilled), 0)
      << "the large transaction was not spilled: the test does not test what it says";
  const std::vector<ConsumedRecord> records = consumer.Records();
  EXPECT_EQ(ById(records).size(), static_cast<size_t>(kLarge + 2));
  std::map<std::string, std::vector<int>> by_key;
  for (const ConsumedRecord& r : records) {
    const size_t at = r.value.find("\"i\": ");
    ASSERT_NE(at, std::string::npos) << r.value;
    by_key[r.key.value_or("")].push_back(std::stoi(r.value.substr(at + 5)));
    EXPECT_EQ(r.partition, JavaPartitionForKey(r.key.value_or(""), 3));
  }
  ASSERT_EQ(by_key.size(), 7u);
  for (const auto& [key, numbers] : by_key) {
    EXPECT_TRUE(std::is_sorted(numbers.begin(), numbers.end())) << key << " out of order";
    const int k = std::stoi(key.substr(4));
    EXPECT_EQ(numbers.size(), static_cast<size_t>((kLarge + 2 - k) / 7 + (k == 0 ? 0 : 1))) << key;
  }
}

TEST(Streaming, TopicColumnOverridesTemplate) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic("outbox.event.order", 2);
  h.kafka->CreateTopic("outbox.event.user", 3);
  h.kafka->CreateTopic("audit.log", 5);
  h.kafka->CreateTopic("Audit_2024-x", 1);
  ASSERT_NO_FATAL_FAILURE(CreatePublicationAndSlot(h));
  TopicConsumer consumer(h.kafka->bootstraps(),
                         {"outbox.event.order", "outbox.event.user", "audit.log", "Audit_2024-x"});

  ASSERT_TRUE(h.Exec(
      "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, topic, payload) VALUES "
      "('order', 'o-1', 'Created', NULL, '{\"n\": 1}'),"
      "('order', 'o-2', 'Created', 'audit.log', '{\"n\": 2}'),"
      "('user', 'u-1', 'Registered', 'audit.log', '{\"n\": 3}'),"
      "('user', 'u-2', 'Registered', NULL, '{\"n\": 4}'),"
      "('user', 'u-3', 'Renamed', 'Audit_2024-x', '{\"n\": 5}')"));
  StreamToNow(h);
  ASSERT_NO_FATAL_FAILURE(ExpectExactly(consumer, 5));

  const std::map<std::string, int> partitions = {
      {"outbox.event.order", 2}, {"outbox.event.user", 3}, {"audit.log", 5}, {"Audit_2024-x", 1}};
  const std::map<std::string, Row> rows = RowsById(h);
  const std::map<std::string, ConsumedRecord> by_id = ById(consumer.Records());
  ASSERT_EQ(by_id.size(), 5u);
  for (const auto& [id, row] : rows) {
    ASSERT_EQ(by_id.count(id), 1u)
        << "event " << id << " (" << row.aggregate_id << ") never arrived";
    const std::string topic = row.topic.empty() ? "outbox.event." + row.aggregate_type : row.topic;
    ExpectRecordMatches(by_id.at(id), row, topic, partitions.at(topic));
  }
}

TEST(Streaming, CustomTopicTemplate) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  const std::map<std::string, int> partitions = {
      {"events.order.Created", 2},   {"events.order.Shipped", 3},
      {"events.user.Registered", 1}, {"audit.log", 2},
      {"outbox.event.order", 1},     {"outbox.event.user", 1}};
  std::vector<std::string> topics;
  for (const auto& [topic, n] : partitions) {
    h.kafka->CreateTopic(topic, n);
    topics.push_back(topic);
  }
  const std::vector<std::string> flags = {"--topic", "events.{aggregate_type}.{event_type}"};
  ASSERT_NO_FATAL_FAILURE(CreatePublicationAndSlot(h, flags));
  TopicConsumer consumer(h.kafka->bootstraps(), topics);

  ASSERT_TRUE(h.Exec(
      "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, topic, payload) VALUES "
      "('order', 'o-1', 'Created', NULL, '{\"n\": 1}'),"
      "('order', 'o-1', 'Shipped', NULL, '{\"n\": 2}'),"
      "('order', 'o-2', 'Created', NULL, '{\"n\": 3}'),"
      "('user', 'u-1', 'Registered', NULL, '{\"n\": 4}'),"
      "('user', 'u-1', 'Registered', 'audit.log', '{\"n\": 5}')"));
  StreamToNow(h, flags);
  ASSERT_NO_FATAL_FAILURE(ExpectExactly(consumer, 5));

  const std::map<std::string, Row> rows = RowsById(h);
  const std::map<std::string, ConsumedRecord> by_id = ById(consumer.Records());
  ASSERT_EQ(by_id.size(), 5u);
  for (const auto& [id, row] : rows) {
    ASSERT_EQ(by_id.count(id), 1u) << "event " << id << " never arrived";
    const std::string topic =
        row.topic.empty() ? "events." + row.aggregate_type + "." + row.event_type : row.topic;
    ExpectRecordMatches(by_id.at(id), row, topic, partitions.at(topic));
  }
}

TEST(Streaming, DebeziumPresetStreamsTheSameWay) {
  Harness h;
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(h.Exec(
      "CREATE TABLE public.outbox_dbz (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL, "
      "aggregateid varchar(255) NOT NULL, type varchar(255) NOT NULL, payload jsonb)"));
  h.kafka->CreateTopic("outbox.event.Order", 3);
  h.kafka->CreateTopic("outbox.event.Customer", 2);
  const std::vector<std::string> flags = {"--table", "public.outbox_dbz", "--preset", "debezium"};
  ASSERT_NO_FATAL_FAILURE(CreatePublicationAndSlot(h, flags));
  TopicConsumer consumer(h.kafka->bootstraps(), {"outbox.event.Order", "outbox.event.Customer"});

  ASSERT_TRUE(h.Exec(
      "INSERT INTO public.outbox_dbz (id, aggregatetype, aggregateid, type, payload) VALUES "
      "(gen_random_uuid(), 'Order', '1001', 'OrderCreated', '{\"total\": 12.50, \"lines\": [1]}'),"
      "(gen_random_uuid(), 'Order', '1002', 'OrderCreated', '{\"total\": 3}'),"
      "(gen_random_uuid(), 'Customer', 'c-7', 'CustomerRegistered', '{\"name\": \"Zoë\"}');"
      "INSERT INTO public.outbox_dbz (id, aggregatetype, aggregateid, type, payload) VALUES "
      "(gen_random_uuid(), 'Order', '1001', 'OrderShipped', '{\"b\": 1, \"a\": 2}')"));
  StreamToNow(h, flags);
  ASSERT_NO_FATAL_FAILURE(ExpectExactly(consumer, 4));

  const std::map<std::string, int> partitions = {{"outbox.event.Order", 3},
                                                 {"outbox.event.Customer", 2}};
  std::map<std::string, Row> rows;
  for (const auto& r : h.Query("SELECT id, aggregatetype, aggregateid, type, payload::text "
                               "FROM public.outbox_dbz")) {
    rows.emplace(r[0], Row{r[0], r[1], r[2], r[3], "", r[4]});
  }
  ASSERT_EQ(rows.size(), 4u);
  const std::vector<ConsumedRecord> records = consumer.Records();
  const std::map<std::string, ConsumedRecord> by_id = ById(records);
  for (const auto& [id, row] : rows) {
    ASSERT_EQ(by_id.count(id), 1u) << "event " << id << " never arrived";
    const ConsumedRecord& r = by_id.at(id);
    const std::string topic = "outbox.event." + row.aggregate_type;
    ExpectRecordMatches(r, row, topic, partitions.at(topic));
    EXPECT_EQ(HeaderNames(r),
              (std::vector<std::string>{"id", "event_type", "aggregate_type", "table"}));
  }
  // Aggregate 1001's two events in insert order.
  std::vector<std::string> order_1001;
  for (const ConsumedRecord& r : records) {
    if (r.key == "1001") order_1001.push_back(r.Header("event_type").value_or(""));
  }
  EXPECT_EQ(order_1001, (std::vector<std::string>{"OrderCreated", "OrderShipped"}));
}

TEST(Streaming, AlterTableMidStream) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic("outbox.event.order", 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {"outbox.event.order"});

  std::unique_ptr<ChildProcess> child = h.Start();
  ASSERT_NE(child, nullptr);
  // The slot exists (and sees every later insert) once pgoutbox created it.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (h.ConfirmedLsn().empty() && child->Running() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_NE(h.ConfirmedLsn(), "") << child->Output();

  auto insert = [](int n, const std::string& extra_columns = "",
                   const std::string& extra_values = "") {
    return "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload" +
           extra_columns + ") VALUES ('order', 'o-" + std::to_string(n % 4) + "', 'E" +
           std::to_string(n) + "', '{\"n\": " + std::to_string(n) + "}'" + extra_values + ");";
  };
  ASSERT_TRUE(h.Exec("BEGIN;" + insert(1) + insert(2) + insert(3) + "COMMIT;"));
  ASSERT_TRUE(consumer.WaitForCount(3, kArrival)) << child->Output();

  ASSERT_TRUE(h.Exec("ALTER TABLE public.outbox ADD COLUMN extra text"));
  ASSERT_TRUE(h.Exec("BEGIN;" + insert(4, ", extra", ", 'x'") + insert(5) +
                     insert(6, ", extra", ", 'y'") + "COMMIT;"));
  // DDL and inserts in one transaction: the new layout arrives mid-transaction.
  ASSERT_TRUE(h.Exec("BEGIN;" + insert(7) +
                     "ALTER TABLE public.outbox ADD COLUMN extra2 int NOT NULL DEFAULT 7;" +
                     insert(8, ", extra2", ", 8") + "COMMIT;"));
  ASSERT_TRUE(h.Exec("ALTER TABLE public.outbox DROP COLUMN created_at"));
  ASSERT_TRUE(h.Exec("BEGIN;" + insert(9) + insert(10, ", extra", ", 'z'") + "COMMIT;"));
  // A type change of a mapped column (rewrites the table).
  ASSERT_TRUE(h.Exec("ALTER TABLE public.outbox ALTER COLUMN event_type TYPE varchar(64)"));
  PgConnPtr conn = Connect(h);
  const std::string last_pre_commit =
      Sql(conn.get(), "BEGIN;" + insert(11) + insert(12) + "SELECT pg_current_wal_insert_lsn();");
  Sql(conn.get(), "COMMIT");

  ASSERT_TRUE(consumer.WaitForCount(12, kArrival)) << "got " << consumer.Count() << " of 12:\n"
                                                   << child->Output();
  std::this_thread::sleep_for(kSettle);
  EXPECT_EQ(consumer.Count(), 12u);
  EXPECT_TRUE(child->Running()) << child->Output();

  std::map<std::string, Row> rows;
  for (const auto& r : h.Query("SELECT id, aggregate_type, aggregate_id, event_type, payload::text "
                               "FROM public.outbox")) {
    rows.emplace(r[0], Row{r[0], r[1], r[2], r[3], "", r[4]});
  }
  ASSERT_EQ(rows.size(), 12u);
  const std::vector<ConsumedRecord> records = consumer.Records();
  const std::map<std::string, ConsumedRecord> by_id = ById(records);
  for (const auto& [id, row] : rows) {
    ASSERT_EQ(by_id.count(id), 1u) << "event " << row.event_type << " never arrived";
    ExpectRecordMatches(by_id.at(id), row, "outbox.event.order", 3);
  }
  // Per key, the events keep their insert order across the layout changes.
  std::map<std::string, std::vector<int>> by_key;
  for (const ConsumedRecord& r : records) {
    by_key[r.key.value_or("")].push_back(
        std::stoi(r.Header("event_type").value_or("E0").substr(1)));
  }
  for (const auto& [key, numbers] : by_key) {
    EXPECT_TRUE(std::is_sorted(numbers.begin(), numbers.end())) << key;
  }

  EXPECT_TRUE(h.WaitForConfirmed(last_pre_commit, 10s))
      << "confirmed_flush_lsn " << h.ConfirmedLsn() << " never passed " << last_pre_commit;
  EXPECT_GT(CompareLsn(h.ConfirmedLsn(), last_pre_commit), 0);
  child->Signal(SIGTERM);
  const std::optional<int> code = child->Wait(20s);
  ASSERT_TRUE(code.has_value()) << "pgoutbox did not stop on SIGTERM:\n" << child->Output();
  EXPECT_EQ(*code, 0) << child->Output();
}

// A good transaction, then one whose second row cannot become a record
// (`bad_row_sql`, with {id} standing for its id), then another good one.
// pgoutbox must stop at the bad row with an output line naming the event and
// every word of `must_mention`, having delivered and confirmed the first
// transaction and nothing after it.
void ExpectBadRowStops(Harness& h, const std::string& bad_row_sql,
                       const std::vector<std::string>& must_mention) {
  h.kafka->CreateTopic("outbox.event.order", 2);
  ASSERT_NO_FATAL_FAILURE(CreatePublicationAndSlot(h));
  TopicConsumer consumer(h.kafka->bootstraps(), {"outbox.event.order"});

  auto good = [](const std::string& id) {
    return "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload) "
           "VALUES ('" +
           id + "', 'order', 'o-1', 'Good', '{\"ok\": true}');";
  };
  const std::string good1 = "00000000-0000-4000-8000-000000000001";
  const std::string good2 = "00000000-0000-4000-8000-000000000002";
  const std::string same_txn = "00000000-0000-4000-8000-000000000003";
  const std::string bad = "00000000-0000-4000-8000-0000000000bd";
  const std::string after = "00000000-0000-4000-8000-000000000004";

  PgConnPtr conn = Connect(h);
  const std::string good_pre_commit =
      Sql(conn.get(), "BEGIN;" + good(good1) + good(good2) + "SELECT pg_current_wal_insert_lsn();");
  Sql(conn.get(), "COMMIT");
  const std::string before_bad = h.CurrentWalLsn();
  const std::string bad_pre_commit =
      Sql(conn.get(), "BEGIN;" + good(same_txn) + bad_row_sql.substr(0, bad_row_sql.find("{id}")) +
                          bad + bad_row_sql.substr(bad_row_sql.find("{id}") + 4) +
                          ";SELECT pg_current_wal_insert_lsn();");
  Sql(conn.get(), "COMMIT");
  Sql(conn.get(), good(after));

  const std::string end = h.CurrentWalLsn();
  std::string output;
  const int code = h.RunToEnd({"--end-lsn", end}, 30s, &output);
  EXPECT_EQ(code, 1) << output;  // a bad row is not a usage error
  EXPECT_NE(code, -1) << "pgoutbox hung instead of stopping";
  // One line names the event and the column.
  bool named = false;
  for (size_t start = 0; start < output.size();) {
    size_t stop = output.find('\n', start);
    if (stop == std::string::npos) stop = output.size();
    const std::string line = output.substr(start, stop - start);
    bool all = line.find(bad) != std::string::npos;
    for (const std::string& word : must_mention) all = all && line.find(word) != std::string::npos;
    named = named || all;
    start = stop + 1;
  }
  EXPECT_TRUE(named) << "no output line names event " << bad << " and "
                     << ::testing::PrintToString(must_mention) << ":\n"
                     << output;

  // The good transaction arrived; the row after the bad one did not (pgoutbox
  // stops there). The good row of the bad transaction may have been sent.
  ASSERT_TRUE(consumer.WaitForCount(2, kArrival)) << output;
  std::this_thread::sleep_for(kSettle);
  std::map<std::string, int> counts = IdCounts(consumer.Records());
  EXPECT_EQ(counts[good1], 1);
  EXPECT_EQ(counts[good2], 1);
  EXPECT_EQ(counts[bad], 0);
  EXPECT_EQ(counts[after], 0);
  EXPECT_LE(counts[same_txn], 1);

  // The slot confirmed the good transaction, and nothing from the bad one on.
  std::string confirmed = h.ConfirmedLsn();
  EXPECT_GT(CompareLsn(confirmed, good_pre_commit), 0)
      << "the good transaction (commit after " << good_pre_commit
      << ") was not confirmed: " << confirmed;
  EXPECT_LE(CompareLsn(confirmed, bad_pre_commit), 0)
      << "confirmed_flush_lsn " << confirmed << " is past the bad transaction's commit (after "
      << bad_pre_commit << "; LSN before it: " << before_bad << ")";

  // A restart stops at the same row again, without re-sending the confirmed
  // good transaction.
  const int again = h.RunToEnd({"--end-lsn", end}, 30s, &output);
  EXPECT_EQ(again, 1) << output;
  EXPECT_NE(output.find(bad), std::string::npos) << output;
  std::this_thread::sleep_for(kSettle);
  counts = IdCounts(consumer.Records());
  EXPECT_EQ(counts[good1], 1) << "the confirmed good transaction was sent again";
  EXPECT_EQ(counts[good2], 1);
  EXPECT_EQ(counts[bad], 0);
  EXPECT_EQ(counts[after], 0);
  EXPECT_LE(CompareLsn(h.ConfirmedLsn(), bad_pre_commit), 0) << h.ConfirmedLsn();
}

TEST(Streaming, BadRowStopsWithClearError) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  ASSERT_TRUE(h.Exec("ALTER TABLE public.outbox ALTER COLUMN aggregate_id DROP NOT NULL"));
  ExpectBadRowStops(h,
                    "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, "
                    "payload) VALUES ('{id}', 'order', NULL, 'Bad', '{}')",
                    {"aggregate_id"});
}

TEST(Streaming, HeadersArrayStopsWithClearError) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  ExpectBadRowStops(h,
                    "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, "
                    "payload, headers) VALUES ('{id}', 'order', 'o-1', 'Bad', '{}', "
                    "'[\"traceparent\", \"x\"]')",
                    {"headers"});
}

TEST(Streaming, InvalidTopicOverrideStopsWithClearError) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  ExpectBadRowStops(h,
                    "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, "
                    "payload, topic) VALUES ('{id}', 'order', 'o-1', 'Bad', '{}', 'bad topic!')",
                    {"topic", "bad topic!"});
}

TEST(Streaming, BytesPayloadIsRaw) {
  Harness h;
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(
      h.Exec("CREATE TABLE public.outbox (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
             "aggregate_type text NOT NULL, aggregate_id text NOT NULL, event_type text NOT NULL, "
             "payload bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"));
  h.kafka->CreateTopic("outbox.event.blob", 3);
  ASSERT_NO_FATAL_FAILURE(CreatePublicationAndSlot(h));
  TopicConsumer consumer(h.kafka->bootstraps(), {"outbox.event.blob"});

  static constexpr char kHex[] = "0123456789abcdef";
  auto hex = [](const std::string& bytes) {
    std::string out = "\\x";
    for (unsigned char c : bytes) {
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
    return out;
  };
  std::vector<std::string> payloads;
  payloads.push_back(
      std::string("\x00\xff\x80"
                  "A\x7f\n\r\\\x00",
                  9));
  payloads.push_back("");
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(255 - i));
  payloads.push_back(all_bytes);
  std::string large(100000, '\0');
  std::mt19937 rng(7);
  for (char& c : large) c = static_cast<char>(rng() & 0xff);
  payloads.push_back(large);
  payloads.push_back("{\"looks\": \"like json\"}");

  // key -> expected value
  std::map<std::string, std::string> expected;
  auto insert = [&](size_t first, size_t count, const std::string& prefix) {
    std::string sql = "BEGIN;";
    for (size_t i = first; i < first + count; ++i) {
      const std::string key = prefix + std::to_string(i);
      expected[key] = payloads[i % payloads.size()];
      sql +=
          "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) "
          "VALUES ('blob', " +
          Quote(key) + ", 'Stored', " + Quote(hex(payloads[i % payloads.size()])) + "::bytea);";
    }
    ASSERT_TRUE(h.Exec(sql + "COMMIT;"));
  };
  ASSERT_NO_FATAL_FAILURE(insert(0, payloads.size(), "hex-"));
  StreamToNow(h);
  ASSERT_NO_FATAL_FAILURE(ExpectExactly(consumer, payloads.size()));

  // The same with the server sending bytea in the escape format.
  ASSERT_TRUE(h.Exec("ALTER DATABASE app SET bytea_output = 'escape'"));
  {
    // The walsender of a replication=database connection applies the
    // database's settings, so pgoutput now sends "\ooo" escapes.
    PgConnPtr replication(PQconnectdb((h.pg->ConnInfo(h.db) + " replication=database").c_str()));
    ASSERT_EQ(PQstatus(replication.get()), CONNECTION_OK) << PQerrorMessage(replication.get());
    ASSERT_EQ(Sql(replication.get(), "SHOW bytea_output"), "escape");
  }
  ASSERT_NO_FATAL_FAILURE(insert(0, payloads.size(), "escape-"));
  StreamToNow(h);
  ASSERT_NO_FATAL_FAILURE(ExpectExactly(consumer, 2 * payloads.size()));

  const std::vector<ConsumedRecord> records = consumer.Records();
  std::set<std::string> seen;
  for (const ConsumedRecord& r : records) {
    ASSERT_TRUE(r.key.has_value());
    SCOPED_TRACE("key " + *r.key);
    ASSERT_EQ(expected.count(*r.key), 1u);
    EXPECT_TRUE(seen.insert(*r.key).second) << "arrived twice";
    EXPECT_EQ(r.value.size(), expected[*r.key].size());
    EXPECT_TRUE(r.value == expected[*r.key]) << "value differs: got " << hex(r.value).substr(0, 80)
                                             << " expected " << hex(expected[*r.key]).substr(0, 80);
    EXPECT_EQ(r.partition, JavaPartitionForKey(*r.key, 3));
    EXPECT_EQ(HeaderNames(r),
              (std::vector<std::string>{"id", "event_type", "aggregate_type", "table"}));
  }
  EXPECT_EQ(seen.size(), expected.size());
}

}  // namespace
// Events written with pg_logical_emit_message(true, 'pgoutbox', ...) travel
// with the table's rows of their transaction: in commit order, never from a
// transaction or savepoint rolled back. A non-transactional message with
// the prefix is a bad row by policy (here dlq): on the dead-letter topic,
// never on an event topic; other prefixes and the heartbeat are not events.
TEST(Streaming, MessageEventsMixWithRowsInCommitOrder) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic("outbox.event.seq", 1);
  const std::vector<std::string> flags = {"--on-bad-row", "dlq", "--heartbeat-interval", "100ms"};
  ASSERT_NO_FATAL_FAILURE(CreatePublicationAndSlot(h, flags));
  TopicConsumer consumer(h.kafka->bootstraps(), {"outbox.event.seq"});
  TopicConsumer dead_letters(h.kafka->bootstraps(), {"outbox.dlq"});

  auto insert = [](const std::string& label) {
    return "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES "
           "('seq', 'agg-" +
           label + "', '" + label + "', '{\"label\": \"" + label + "\"}');";
  };
  auto message_content = [](const std::string& label) {
    return R"({"aggregate_type": "seq", "aggregate_id": "agg-)" + label + R"(", "event_type": ")" +
           label + R"(", "payload": {"label": ")" + label +
           R"("}, "headers": {"source": "message"}})";
  };
  auto message = [&](const std::string& label, bool transactional = true) {
    return std::string("SELECT pg_logical_emit_message(") + (transactional ? "true" : "false") +
           ", 'pgoutbox', " + Quote(message_content(label)) + ");";
  };
  PgConnPtr a = Connect(h);
  PgConnPtr b = Connect(h);
  Sql(a.get(), "BEGIN;" + insert("C1") + message("M1") + insert("C2") + "COMMIT;");
  Sql(a.get(), "BEGIN;" + message("M2") + "COMMIT;");  // a transaction of messages only
  Sql(a.get(), "BEGIN;" + insert("R1") + message("RM1") + "ROLLBACK;");
  Sql(a.get(), "BEGIN;" + message("K1") + "SAVEPOINT s;" + message("SM1") + insert("S1") +
                   "ROLLBACK TO SAVEPOINT s;" + insert("K2") + "SAVEPOINT t;" + message("K3") +
                   "RELEASE SAVEPOINT t; COMMIT;");
  // Not events: another prefix, in and out of a transaction.
  Sql(a.get(), "BEGIN; SELECT pg_logical_emit_message(true, 'other', " +
                   Quote(message_content("O1")) + ");" + insert("K4") + "COMMIT;");
  Sql(a.get(), "SELECT pg_logical_emit_message(false, 'pgoutbox.other', 'x');");
  // A non-transactional message with the prefix, in a transaction that then
  // rolls back: the server sends it all the same.
  Sql(a.get(), "BEGIN;" + insert("R2") + message("NT1", false) + "ROLLBACK;");
  // Interleaved: B commits first, so its events come first.
  Sql(a.get(), "BEGIN");
  Sql(b.get(), "BEGIN");
  Sql(a.get(), message("A1"));
  Sql(b.get(), insert("B1"));
  Sql(a.get(), insert("A2"));
  Sql(b.get(), message("B2"));
  Sql(b.get(), "COMMIT");
  Sql(a.get(), message("A3"));
  Sql(a.get(), "COMMIT");

  StreamToNow(h, flags);
  const std::vector<std::string> expected = {"C1", "M1", "C2", "M2", "K1", "K2", "K3",
                                             "K4", "B1", "B2", "A1", "A2", "A3"};
  ASSERT_NO_FATAL_FAILURE(ExpectExactly(consumer, expected.size()));
  const std::vector<ConsumedRecord> records = consumer.Records();
  std::vector<std::string> order;
  for (const ConsumedRecord& r : records) order.push_back(r.Header("event_type").value_or("?"));
  EXPECT_EQ(order, expected);
  const std::map<std::string, Row> rows = RowsById(h);
  for (const auto& [id, r] : ById(records)) {
    const std::string label = r.Header("event_type").value_or("?");
    SCOPED_TRACE(label);
    if (rows.count(id) == 1) {
      ExpectRecordMatches(r, rows.at(id), "outbox.event.seq", 1);
      EXPECT_FALSE(r.Header("source").has_value());
      continue;
    }
    // A message event: its id is its WAL position; key, value and headers
    // from its content.
    EXPECT_TRUE(label == "M1" || label == "M2" || label == "K1" || label == "K3" || label == "B2" ||
                label == "A1" || label == "A3")
        << "event " << id << " is neither a row nor a message";
    EXPECT_NE(id.find('/'), std::string::npos) << id;
    EXPECT_EQ(r.key, "agg-" + label);
    EXPECT_EQ(r.value, R"({"label": ")" + label + R"("})");
    EXPECT_EQ(r.Header("aggregate_type"), "seq");
    EXPECT_EQ(r.Header("source"), "message");
  }

  // The non-transactional one went to the dead-letter topic, as written.
  ASSERT_NO_FATAL_FAILURE(ExpectExactly(dead_letters, 1));
  const ConsumedRecord dead = dead_letters.Records().front();
  EXPECT_EQ(dead.value, message_content("NT1"));
  EXPECT_EQ(dead.Header("message_prefix"), "pgoutbox");
  EXPECT_NE(dead.Header("error").value_or("").find("not transactional"), std::string::npos);
}

// Under the default policy (halt) a non-transactional message with the
// prefix stops pgoutbox before it, with a line that says why; with
// --message-prefix '' messages are not events at all.
TEST(Streaming, NonTransactionalMessageHaltsByDefaultAndPrefixCanBeOff) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  ASSERT_NO_FATAL_FAILURE(CreatePublicationAndSlot(h));
  const std::string before = h.ConfirmedLsn();
  ASSERT_TRUE(h.Exec(
      R"(SELECT pg_logical_emit_message(false, 'pgoutbox', '{"aggregate_type": "a", "aggregate_id": "k", "event_type": "t", "payload": {}}'))"));
  // A committed row after it (its commit also flushes the message's WAL).
  ASSERT_TRUE(
      h.Exec("INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES "
             "('after', 'k', 't', '{}')"));
  TopicConsumer consumer(h.kafka->bootstraps(), {"outbox.event.after"});
  std::string output;
  EXPECT_EQ(h.RunToEnd({"--end-lsn", h.CurrentWalLsn()}, 30s, &output), 1) << output;
  EXPECT_NE(output.find("is not transactional"), std::string::npos) << output;
  EXPECT_EQ(h.ConfirmedLsn(), before) << "nothing past the bad message is confirmed";
  EXPECT_EQ(consumer.Count(), 0u) << "the row after the bad message is not published";

  output.clear();
  EXPECT_EQ(h.RunToEnd({"--end-lsn", h.CurrentWalLsn(), "--message-prefix", ""}, 30s, &output), 0)
      << output;
  EXPECT_NE(h.ConfirmedLsn(), before);
  ASSERT_NO_FATAL_FAILURE(ExpectExactly(consumer, 1));
}

}  // namespace pgoutbox::testing
