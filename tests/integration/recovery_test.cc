// How `run` starts when what it remembers in its state topic
// (core/delivery_state.h) and the server disagree (app/start_plan.h), end
// to end with a real PostgreSQL and the mock Kafka cluster, which the test
// owns so that the state topic outlives every pgoutbox process:
//  - the slot was dropped while pgoutbox was down: it is recovered from the
//    table (the retained rows after the delivered mark are published, the
//    slot is created again) and nothing is lost;
//  - the delivered mark is older than --retention: refused with one line,
//    nothing created, until --accept-gap;
//  - another cluster answers the conninfo: refused with one line, nothing
//    created on it;
//  - a recovery that was interrupted (phase "recovering") is done again
//    although the slot exists;
//  - one transaction's rows of a key keep their order through a recovery;
//  - a lost slot (its WAL removed) is dropped and recovered;
//  - a slot dropped under a running stream is recovered in the process.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/types.h"
#include "core/delivery_state.h"
#include "integration/harness.h"
#include "integration/output_checks.h"
#include "integration/workload.h"
#include "kafka/state_topic.h"

namespace pgoutbox::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr char kTopic[] = "outbox.event.order";   // default template, aggregate_type 'order'
constexpr char kStateTopic[] = "pgoutbox.state";  // run's default --state-topic

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The newest state record of the harness's deployment, read independently
// of pgoutbox; nullopt (with a gtest failure for an unreadable one) if none.
std::optional<core::DeliveryState> ReadState(const Harness& h) {
  kafka::StateTopicOptions options;
  options.kafka.brokers = h.kafka->bootstraps();
  options.topic = kStateTopic;
  options.key = core::DeliveryStateKey(h.db, h.slot);
  auto record = kafka::ReadLatestState(options, seconds(10));
  EXPECT_TRUE(record.ok()) << record.status().ToString();
  if (!record.ok() || !record->has_value()) return std::nullopt;
  auto parsed = core::DeliveryState::Parse((*record)->value);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString() << ": " << (*record)->value;
  if (!parsed.ok()) return std::nullopt;
  return *parsed;
}

// Commits a transaction of 10 rows every 300 ms on `conn` (numbered from
// *tx on) while pgoutbox streams, until the state topic holds a record with
// a delivered mark taken after the first of those transactions; nullopt
// after `timeout`.
std::optional<core::DeliveryState> StreamUntilAMarkIsRemembered(const Harness& h, PGconn* conn,
                                                                int* tx, seconds timeout) {
  const std::string first = InsertTransaction(conn, (*tx)++, 10);
  if (first.empty()) return std::nullopt;
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (InsertTransaction(conn, (*tx)++, 10).empty()) return std::nullopt;
    auto state = ReadState(h);
    if (state && state->mark && CompareLsn(state->mark->insert_lsn.ToString(), first) >= 0) {
      return state;
    }
    std::this_thread::sleep_for(milliseconds(300));
  }
  return std::nullopt;
}

// The SQL condition of the rows a recovery from `mark` must publish, as
// core/delivery_state.h states it: inserted by transaction mark.xmin or
// later, or created at or after mark.taken_at. Written independently of
// pg/row_reader (xid8 comparison of the row's 32-bit xmin widened with the
// current epoch; the test's transaction ids never wrap).
std::string AfterMark(const pg::DeliveredMark& mark) {
  return "(xmin::text::bigint >= " + std::to_string(mark.xmin & 0xffffffffu) +
         " OR created_at >= '" + mark.taken_at + "'::timestamptz)";
}

// "recovered N events from the table" in `output`: N, or -1 if absent.
long RecoveredEvents(const std::string& output) {
  std::smatch m;
  static const std::regex re("recovered ([0-9]+) events? from the table");
  if (!std::regex_search(output, m, re)) return -1;
  return std::stol(m[1]);
}

// How pgoutbox went through it, for the reader of the test's output: its
// lines that mention one of `words`.
void PrintLines(const std::string& output, const std::vector<std::string>& words) {
  for (const auto& line : Lines(output)) {
    for (const auto& word : words) {
      if (Contains(line, word)) {
        std::cerr << "  pgoutbox: " << line << "\n";
        break;
      }
    }
  }
}

bool SlotExists(const Harness& h) {
  return h.QueryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + h.slot +
                      "'") == "1";
}

// Produces `state` as the deployment's newest state record, with a producer
// of the test's own (librdkafka, not pgoutbox's publisher).
void WriteState(const Harness& h, const core::DeliveryState& state) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  ASSERT_EQ(
      rd_kafka_conf_set(conf, "bootstrap.servers", h.kafka->bootstraps().c_str(), err, sizeof err),
      RD_KAFKA_CONF_OK)
      << err;
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ASSERT_NE(producer, nullptr) << err;
  const std::string key = core::DeliveryStateKey(state.database, state.slot);
  const std::string value = state.ToJson();
  rd_kafka_resp_err_t produced =
      rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(kStateTopic),
                        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  EXPECT_EQ(produced, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(produced);
  EXPECT_EQ(rd_kafka_flush(producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(rd_kafka_outq_len(producer), 0);
  rd_kafka_destroy(producer);
}

// Waits until the slot is confirmed past everything committed, then until
// the consumer has at least every row of `rows` and is quiet, and checks:
// every row arrived at least once, with its key, first arrivals in order
// per aggregate. Prints the figures under `label`.
void ExpectEveryRowDelivered(const Harness& h, ChildProcess& child, TopicConsumer& consumer,
                             const std::map<std::string, Row>& rows, const std::string& label) {
  const std::string end = h.CurrentWalLsn();
  ASSERT_TRUE(h.WaitForConfirmed(end, seconds(30)))
      << "confirmed " << h.ConfirmedLsn() << " never reached " << end << "\n"
      << child.Output();
  ASSERT_TRUE(WaitForQuiet(consumer, rows.size(), seconds(30)))
      << consumer.Count() << " of " << rows.size() << "\n"
      << child.Output();
  const auto records = consumer.Records();
  const auto seen = CountIds(records, rows);
  const int duplicated = ExpectAllArrivedAtLeastOnce(rows, seen);
  size_t lost = 0;
  for (const auto& [id, row] : rows) lost += seen.count(id) == 0 ? 1 : 0;
  ExpectFirstArrivalsInOrder(records, rows);
  std::cerr << label << ": " << rows.size() << " events committed, " << records.size()
            << " records delivered, " << lost << " lost, " << duplicated << " ids duplicated\n";
  EXPECT_EQ(lost, 0u);
}

// Runs pgoutbox on `h` (outbox table made) while transactions commit on
// `conn` (numbered from *tx on), until its state topic holds a delivered
// mark; then stops it cleanly. `open` (if not null) gets a transaction left
// open across the stop (one row, aggregate "open-0", payload tx 100000),
// begun before any mark is taken.
struct Streamed {
  std::optional<core::DeliveryState> state;  // the newest record after the stop
  std::string output;                        // the first pgoutbox's
};
Streamed StreamThenStop(Harness& h, PGconn* conn, int* tx, PGconn* open) {
  Streamed result;
  auto child = StartStreaming(h, h.Args({"--heartbeat-interval", "1s"}));
  EXPECT_NE(child, nullptr);
  if (child == nullptr) return result;
  if (open != nullptr) {
    PGresult* res = PQexec(
        open,
        "BEGIN; INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) "
        "VALUES ('order', 'open-0', 'OrderPlaced', jsonb_build_object('tx', 100000, 'row', 0))");
    EXPECT_EQ(PQresultStatus(res), PGRES_COMMAND_OK) << PQresultErrorMessage(res);
    PQclear(res);
  }
  const auto start = Clock::now();
  auto state = StreamUntilAMarkIsRemembered(h, conn, tx, seconds(30));
  EXPECT_TRUE(state.has_value()) << "no state record with a delivered mark\n" << child->Output();
  std::cerr << "a delivered mark was remembered after " << MillisSince(start) << " ms\n";
  StopCleanly(*child);
  result.output = child->Output();
  result.state = ReadState(h);
  return result;
}

// --- A slot dropped while pgoutbox was down -------------------------------------

TEST(RecoveryTest, ASlotDroppedWhileDownIsRecoveredFromTheTable) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  PgConnPtr conn = Connect(h), open = Connect(h);
  ASSERT_NE(conn, nullptr);
  ASSERT_NE(open, nullptr);
  int tx = 0;
  const Streamed first = StreamThenStop(h, conn.get(), &tx, open.get());
  ASSERT_TRUE(first.state.has_value() && first.state->mark.has_value()) << first.output;
  EXPECT_EQ(first.state->phase, core::DeliveryPhase::kStreaming);
  const int streamed_tx = tx;

  // While pgoutbox is down: more rows, the open transaction commits, the
  // slot is dropped by hand, more rows.
  for (int i = 0; i < 5; ++i) ASSERT_NE(InsertTransaction(conn.get(), tx++, 10), "");
  PGresult* res = PQexec(open.get(), "COMMIT");
  ASSERT_EQ(PQresultStatus(res), PGRES_COMMAND_OK) << PQresultErrorMessage(res);
  PQclear(res);
  ASSERT_EQ(h.QueryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + h.slot +
                         "' AND NOT active"),
            "1");
  ASSERT_TRUE(h.Exec("SELECT pg_drop_replication_slot('" + h.slot + "')"));
  for (int i = 0; i < 5; ++i) ASSERT_NE(InsertTransaction(conn.get(), tx++, 10), "");

  // What the recovery must publish: every retained row after the mark of
  // the newest state record (among them the transaction open at the stop).
  const pg::DeliveredMark mark = *first.state->mark;
  const long after_mark =
      std::stol(h.QueryValue("SELECT count(*) FROM public.outbox WHERE " + AfterMark(mark)));
  const long down_rows = (tx - streamed_tx) * 10 + 1;
  EXPECT_EQ(h.QueryValue("SELECT count(*) FROM public.outbox WHERE " + AfterMark(mark) +
                         " AND aggregate_id = 'open-0'"),
            "1")
      << "the transaction open across the stop began before the mark";

  auto child = StartStreaming(h, h.Args({"--heartbeat-interval", "1s"}));
  ASSERT_NE(child, nullptr);
  const std::string out = child->Output();
  EXPECT_TRUE(Contains(out, "recovering from the table")) << out;
  EXPECT_TRUE(Contains(out, "slot " + h.slot + " does not exist")) << out;
  const long recovered = RecoveredEvents(out);
  EXPECT_EQ(recovered, after_mark) << out;
  EXPECT_GE(recovered, down_rows) << out;
  EXPECT_TRUE(SlotExists(h));

  // The stream goes on from the slot created again.
  for (int i = 0; i < 5; ++i) ASSERT_NE(InsertTransaction(conn.get(), tx++, 10), "");
  const auto rows = OutboxRows(h);
  ASSERT_EQ(rows.size(), static_cast<size_t>(tx * 10 + 1));
  std::cerr << "mark xmin " << mark.xmin << " taken at " << mark.taken_at << "; " << down_rows
            << " rows committed while down, " << after_mark << " after the mark, " << recovered
            << " recovered\n";
  PrintLines(out, {"recover", "slot", "warn", "error"});
  ExpectEveryRowDelivered(h, *child, consumer, rows, "slot dropped while down");
  EXPECT_TRUE(SlotExists(h));
  // The state names the stream again.
  const auto state = ReadState(h);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->phase, core::DeliveryPhase::kStreaming);
  StopCleanly(*child);
}

// --- The delivered mark is older than the retention ------------------------------

TEST(RecoveryTest, RefusesWhenRetentionIsShorterThanTheGap) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);
  int tx = 0;
  const Streamed first = StreamThenStop(h, conn.get(), &tx, nullptr);
  ASSERT_TRUE(first.state.has_value() && first.state->mark.has_value()) << first.output;

  for (int i = 0; i < 5; ++i) ASSERT_NE(InsertTransaction(conn.get(), tx++, 10), "");
  ASSERT_TRUE(h.Exec("SELECT pg_drop_replication_slot('" + h.slot + "')"));
  // The mark is now older than a retention of 2 s.
  std::this_thread::sleep_for(seconds(4));
  ASSERT_EQ(h.QueryValue("SELECT ('" + first.state->mark->taken_at +
                         "'::timestamptz < now() - interval '2 s')::text"),
            "true");

  std::string output;
  EXPECT_EQ(h.RunToEnd({"--retention", "2s"}, seconds(30), &output), 1) << output;
  ExpectOneClearLine(output, {"refusing to start", "--accept-gap", "--retention 2s"});
  EXPECT_FALSE(SlotExists(h)) << "a slot was created by a refused start";
  EXPECT_FALSE(Contains(output, "recovering from the table")) << output;

  // Accepting the gap: whatever the table still holds is recovered. (Cleanup
  // starts once the recovery is done, and deletes what is older than 2 s:
  // the rows to check are those in the table now, and those inserted later.)
  std::map<std::string, Row> rows = OutboxRows(h);
  const pg::DeliveredMark mark = *first.state->mark;
  const long after_mark =
      std::stol(h.QueryValue("SELECT count(*) FROM public.outbox WHERE " + AfterMark(mark)));
  auto child =
      StartStreaming(h, h.Args({"--retention", "2s", "--cleanup-interval", "1h", "--accept-gap"}));
  ASSERT_NE(child, nullptr);
  const std::string out = child->Output();
  EXPECT_TRUE(Contains(out, "recovering from the table")) << out;
  EXPECT_TRUE(Contains(out, "--accept-gap")) << out;
  EXPECT_FALSE(Contains(out, "refusing")) << out;
  const long recovered = RecoveredEvents(out);
  EXPECT_EQ(recovered, after_mark) << out;
  EXPECT_TRUE(SlotExists(h));
  for (int i = 0; i < 5; ++i) ASSERT_NE(InsertTransaction(conn.get(), tx++, 10), "");
  for (const auto& [id, row] : OutboxRows(h)) rows.emplace(id, row);
  std::cerr << "accepting the gap: " << after_mark << " rows after the mark, " << recovered
            << " recovered\n";
  ExpectEveryRowDelivered(h, *child, consumer, rows, "accepting the gap");
  StopCleanly(*child);
}

// --- Another cluster under the same conninfo ---------------------------------------

TEST(RecoveryTest, RefusesAnotherCluster) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);
  {
    auto child = StartStreaming(h, h.Args());
    ASSERT_NE(child, nullptr);
    std::optional<core::DeliveryState> state;
    int tx = 0;
    for (const auto deadline = Clock::now() + seconds(30);
         !state.has_value() && Clock::now() < deadline;) {
      ASSERT_NE(InsertTransaction(conn.get(), tx++, 10), "");
      std::this_thread::sleep_for(milliseconds(300));
      state = ReadState(h);
    }
    ASSERT_TRUE(state.has_value()) << "no state record\n" << child->Output();
    EXPECT_EQ(state->system_identifier, h.pg->SystemIdentifier());
    StopCleanly(*child);
  }
  conn.reset();

  // Server B: a cluster of its own (own initdb) with the same database and
  // outbox table, answering in A's place.
  PgServerOptions options;
  options.own_initdb = true;
  std::unique_ptr<PgServer> b = PgServer::Start(options);
  ASSERT_NE(b, nullptr);
  b->CreateDatabase(h.db);
  const std::string a_id = h.pg->SystemIdentifier();
  std::swap(h.pg, b);  // h now works on B
  ASSERT_NE(h.pg->SystemIdentifier(), a_id);
  h.CreateOutboxTable();

  std::string output;
  EXPECT_EQ(h.RunToEnd({}, seconds(30), &output), 1) << output;
  ExpectOneClearLine(output, {"refusing to start", "another cluster", a_id,
                              h.pg->SystemIdentifier(), "--state-topic"});
  ExpectNothingCreated(h);
}

// --- A recovery that was interrupted ------------------------------------------------

// The newest state says a recovery was under way (pgoutbox died while
// publishing the retained rows): although the slot exists, the rows after
// the mark are published again before streaming, since the slot was
// created after some of them were committed.
TEST(RecoveryTest, AnInterruptedRecoveryIsDoneAgain) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);
  int tx = 0;
  const Streamed first = StreamThenStop(h, conn.get(), &tx, nullptr);
  ASSERT_TRUE(first.state.has_value() && first.state->mark.has_value()) << first.output;
  ASSERT_TRUE(SlotExists(h));

  core::DeliveryState interrupted = *first.state;
  interrupted.phase = core::DeliveryPhase::kRecovering;
  WriteState(h, interrupted);
  const auto read_back = ReadState(h);
  ASSERT_TRUE(read_back.has_value());
  ASSERT_EQ(*read_back, interrupted);

  for (int i = 0; i < 3; ++i) ASSERT_NE(InsertTransaction(conn.get(), tx++, 10), "");
  const pg::DeliveredMark mark = *interrupted.mark;
  const long after_mark =
      std::stol(h.QueryValue("SELECT count(*) FROM public.outbox WHERE " + AfterMark(mark)));
  ASSERT_GT(after_mark, 0);
  const size_t before = consumer.Count();

  auto child = StartStreaming(h, h.Args());
  ASSERT_NE(child, nullptr);
  const std::string out = child->Output();
  EXPECT_TRUE(Contains(out, "a recovery from the table was interrupted")) << out;
  EXPECT_TRUE(Contains(out, "recovering from the table")) << out;
  EXPECT_TRUE(Contains(out, "replication slot " + h.slot + " exists at")) << out;
  const long recovered = RecoveredEvents(out);
  EXPECT_EQ(recovered, after_mark) << out;
  for (int i = 0; i < 3; ++i) ASSERT_NE(InsertTransaction(conn.get(), tx++, 10), "");
  const auto rows = OutboxRows(h);
  std::cerr << "interrupted recovery: " << after_mark << " rows after the mark, " << recovered
            << " recovered, " << before << " records before the start\n";
  ExpectEveryRowDelivered(h, *child, consumer, rows, "interrupted recovery");
  // The recovered rows were published again: at least one record per row
  // after the mark beyond what the consumer had before, plus the new rows.
  EXPECT_GE(consumer.Count(), before + static_cast<size_t>(after_mark) + 30);
  const auto state = ReadState(h);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->phase, core::DeliveryPhase::kStreaming);
  StopCleanly(*child);
}

// A hot standby that takes the slot over from a process that died in the
// middle of a recovery from the table (its last state record says
// "recovering") finishes that recovery before it streams: streaming first
// would confirm past rows that only the table holds.
TEST(RecoveryTest, AHotStandbyFinishesARecoveryItsPredecessorLeft) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);
  int tx = 0;
  auto a = StartStreaming(h, h.Args({"--heartbeat-interval", "1s"}));
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(StreamUntilAMarkIsRemembered(h, conn.get(), &tx, seconds(30)).has_value())
      << a->Output();
  auto b = ChildProcess::Start(h.ArgsWith("--standby-retry-interval", "200ms"));
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(WaitForOutput(*b, "waiting as a hot standby", seconds(20))) << b->Output();

  // A freezes (it still holds the slot), its last record says it was
  // recovering, and it dies.
  a->Signal(SIGSTOP);
  auto last = ReadState(h);
  ASSERT_TRUE(last.has_value() && last->mark.has_value());
  core::DeliveryState interrupted = *last;
  interrupted.phase = core::DeliveryPhase::kRecovering;
  WriteState(h, interrupted);
  for (int i = 0; i < 3; ++i) ASSERT_NE(InsertTransaction(conn.get(), tx++, 10), "");
  const long after_mark = std::stol(
      h.QueryValue("SELECT count(*) FROM public.outbox WHERE " + AfterMark(*interrupted.mark)));
  a->Signal(SIGKILL);
  a->Wait(seconds(10));

  ASSERT_TRUE(WaitForOutput(*b, "recovered ", seconds(30))) << b->Output();
  const std::string out = b->Output();
  EXPECT_TRUE(Contains(out, "took over replication slot " + h.slot)) << out;
  EXPECT_TRUE(Contains(out, "a recovery from the table was interrupted")) << out;
  EXPECT_EQ(RecoveredEvents(out), after_mark) << out;
  for (int i = 0; i < 3; ++i) ASSERT_NE(InsertTransaction(conn.get(), tx++, 10), "");
  const auto rows = OutboxRows(h);
  std::cerr << "takeover after an interrupted recovery: " << after_mark << " rows after the mark, "
            << RecoveredEvents(out) << " recovered\n";
  ExpectEveryRowDelivered(h, *b, consumer, rows, "hot standby after an interrupted recovery");
  const auto state = ReadState(h);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->phase, core::DeliveryPhase::kStreaming);
  StopCleanly(*b);
}

// --- The order of one transaction's rows -------------------------------------------

// Commits one transaction of `rows` outbox rows, one INSERT each (as an
// application writes its events), alternating between two aggregates of
// its own; payload tx and row as InsertTransaction's.
void InsertOneByOne(const Harness& h, int tx, int rows) {
  std::string sql = "BEGIN;";
  for (int r = 0; r < rows; ++r) {
    sql +=
        " INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) "
        "VALUES ('order', 'one-by-one-" +
        std::to_string(r % 2) + "', 'OrderPlaced', jsonb_build_object('tx', " + std::to_string(tx) +
        ", 'row', " + std::to_string(r) + "));";
  }
  ASSERT_TRUE(h.Exec(sql + " COMMIT"));
}

// Rows of one aggregate written by one transaction share a created_at, and
// the canonical table's ids are random UUIDs: the recovery still publishes
// them in the order they were inserted, as the stream does.
TEST(RecoveryTest, KeepsTheOrderOfOneTransactionsRowsPerKey) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);
  int tx = 0;
  const Streamed first = StreamThenStop(h, conn.get(), &tx, nullptr);
  ASSERT_TRUE(first.state.has_value() && first.state->mark.has_value()) << first.output;
  ASSERT_TRUE(h.Exec("SELECT pg_drop_replication_slot('" + h.slot + "')"));
  for (int i = 0; i < 10; ++i) InsertOneByOne(h, tx++, 20);

  auto child = StartStreaming(h, h.Args());
  ASSERT_NE(child, nullptr);
  EXPECT_GE(RecoveredEvents(child->Output()), 200) << child->Output();
  ExpectEveryRowDelivered(h, *child, consumer, OutboxRows(h), "one transaction's rows per key");
  StopCleanly(*child);
}

// --- A lost slot ------------------------------------------------------------------

// The slot's WAL was removed while pgoutbox was down (max_slot_wal_keep_size):
// the slot is lost. pgoutbox drops it and recovers from the table.
TEST(RecoveryTest, ALostSlotIsDroppedAndRecoveredFromTheTable) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);
  int tx = 0;
  const Streamed first = StreamThenStop(h, conn.get(), &tx, nullptr);
  ASSERT_TRUE(first.state.has_value() && first.state->mark.has_value()) << first.output;

  // While down: rows, and WAL past a keep size of 1 MB, then a checkpoint
  // that removes the slot's WAL.
  ASSERT_TRUE(h.pg->Exec("postgres", "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'"));
  ASSERT_TRUE(h.pg->Exec("postgres", "SELECT pg_reload_conf()"));
  for (int i = 0; i < 4; ++i) {
    ASSERT_NE(InsertTransaction(conn.get(), tx++, 10), "");
    ASSERT_TRUE(h.Exec("SELECT pg_switch_wal()"));
  }
  ASSERT_TRUE(h.Exec("CHECKPOINT"));
  ASSERT_EQ(h.QueryValue("SELECT wal_status FROM pg_replication_slots WHERE slot_name = '" +
                         h.slot + "'"),
            "lost");
  ASSERT_TRUE(h.pg->Exec("postgres", "ALTER SYSTEM RESET max_slot_wal_keep_size"));
  ASSERT_TRUE(h.pg->Exec("postgres", "SELECT pg_reload_conf()"));
  const pg::DeliveredMark mark = *first.state->mark;
  const long after_mark =
      std::stol(h.QueryValue("SELECT count(*) FROM public.outbox WHERE " + AfterMark(mark)));

  auto child = StartStreaming(h, h.Args());
  ASSERT_NE(child, nullptr);
  const std::string out = child->Output();
  EXPECT_TRUE(Contains(out, "is lost")) << out;
  EXPECT_TRUE(Contains(out, "dropped replication slot " + h.slot)) << out;
  EXPECT_TRUE(Contains(out, "recovering from the table")) << out;
  const long recovered = RecoveredEvents(out);
  EXPECT_EQ(recovered, after_mark) << out;
  EXPECT_GE(recovered, 40) << out;
  EXPECT_EQ(h.QueryValue("SELECT wal_status FROM pg_replication_slots WHERE slot_name = '" +
                         h.slot + "'"),
            "reserved");
  for (int i = 0; i < 3; ++i) ASSERT_NE(InsertTransaction(conn.get(), tx++, 10), "");
  std::cerr << "lost slot: " << after_mark << " rows after the mark, " << recovered
            << " recovered\n";
  PrintLines(out, {"recover", "slot", "warn", "error"});
  ExpectEveryRowDelivered(h, *child, consumer, OutboxRows(h), "lost slot");
  StopCleanly(*child);
}

// --- The slot vanishes under the stream ---------------------------------------------

// The slot is dropped while pgoutbox streams under a steady workload (its
// walsender terminated, then the slot dropped before pgoutbox reconnects):
// pgoutbox waits for what is in flight and recovers from the table in the
// same process, from what it knows was delivered; nothing is lost.
TEST(RecoveryTest, ASlotDroppedUnderTheStreamIsRecoveredInTheProcess) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  auto child = StartStreaming(h, h.Args({"--heartbeat-interval", "1s"}));
  ASSERT_NE(child, nullptr);

  std::atomic<bool> stop{false};
  std::atomic<int> committed{0};
  std::thread inserter([&] {
    PgConnPtr conn = Connect(h);
    if (conn == nullptr) return;
    for (int tx = 0; !stop; ++tx) {
      if (InsertTransaction(conn.get(), tx, 5).empty()) return;
      ++committed;
      std::this_thread::sleep_for(milliseconds(20));
    }
  });
  std::this_thread::sleep_for(seconds(7));  // a delivered mark is remembered by now
  const int before_drop = committed;
  const std::string drop =
      "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '" +
      h.slot + "' AND active_pid IS NOT NULL; SELECT pg_drop_replication_slot('" + h.slot + "')";
  bool dropped = false;
  for (const auto deadline = Clock::now() + seconds(10); !dropped && Clock::now() < deadline;) {
    PGresult* res = PQexec(Connect(h).get(), drop.c_str());
    dropped = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    if (!dropped) std::this_thread::sleep_for(milliseconds(10));
  }
  const bool recovered_in_time = WaitForOutput(*child, "recovered ", seconds(30));
  std::this_thread::sleep_for(seconds(2));
  stop = true;
  inserter.join();
  ASSERT_TRUE(dropped) << child->Output();
  ASSERT_TRUE(recovered_in_time) << child->Output();
  ASSERT_TRUE(child->Running()) << child->Output();
  const std::string out = child->Output();
  EXPECT_TRUE(Contains(out, "recovering from the table")) << out;
  EXPECT_TRUE(SlotExists(h));
  const auto rows = OutboxRows(h);
  ASSERT_EQ(rows.size(), static_cast<size_t>(committed) * 5);
  std::cerr << "dropped under the stream after " << before_drop << " transactions; "
            << RecoveredEvents(out) << " recovered, " << committed << " transactions in all\n";
  PrintLines(out, {"recover", "slot", "warn", "error"});
  ExpectEveryRowDelivered(h, *child, consumer, rows, "slot dropped under the stream");
  StopCleanly(*child);
}

}  // namespace
}  // namespace pgoutbox::testing
