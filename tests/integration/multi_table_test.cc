// End-to-end streaming of several outbox tables (`--table 'tenant_*.outbox'`):
// a real PostgreSQL, librdkafka's mock cluster and the pgoutbox binary as a
// child process. Tenant schemas hold outbox tables of two layouts (the
// canonical one with headers, topic and created_at columns and a jsonb
// payload; another without headers, topic or created_at, with a bytea
// payload, a bigint id and its columns in another order). An independent
// consumer checks that every committed event arrives exactly once, per key
// in commit order, on the topic the template renders from the row's schema,
// with a `table` header naming the row's table; that rolled-back inserts
// never arrive; that a tenant table set up while pgoutbox runs is streamed
// from then on; and that the recovery from the tables (a slot dropped while
// pgoutbox was down) reads every tenant table.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "common/types.h"
#include "core/delivery_state.h"
#include "integration/harness.h"
#include "kafka/state_topic.h"
#include "support/child_process.h"
#include "support/kafka_cluster.h"
#include "support/pg_server.h"

namespace pgoutbox::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kArrival = 30s;
constexpr auto kSettle = 1500ms;
constexpr int kPartitions = 3;

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// The second layout: no headers, topic or created_at column; a bytea payload;
// a bigint id; the columns in another order, one the mapping does not use.
// With `created_at`, a created_at column last (so that cleanup can delete its
// rows).
void CreateOtherLayout(Harness& h, const std::string& schema, bool created_at = false) {
  ASSERT_TRUE(h.Exec(
      "CREATE TABLE " + schema +
      ".outbox (payload bytea NOT NULL, note text, event_type text NOT NULL, "
      "aggregate_id text NOT NULL, id bigserial PRIMARY KEY, "
      "aggregate_type varchar(40) NOT NULL" +
      std::string(created_at ? ", created_at timestamptz NOT NULL DEFAULT now()" : "") + ")"));
}

struct Tenant {
  std::string schema;
  bool canonical;  // the canonical layout (else CreateOtherLayout's)
};

// One insert into `tenant`'s outbox: aggregate `key`'s event number `seq`.
// The payload carries "<schema>/<key>/<seq>" so that a record tells which
// row it is, whatever its id.
std::string InsertSql(const Tenant& tenant, const std::string& key, int seq) {
  const std::string mark = tenant.schema + "/" + key + "/" + std::to_string(seq);
  if (tenant.canonical) {
    return "INSERT INTO " + tenant.schema +
           ".outbox (aggregate_type, aggregate_id, event_type, payload, headers) VALUES "
           "('order', " +
           Quote(key) + ", 'Updated', " + Quote(R"({"mark": ")" + mark + R"("})") + ", " +
           Quote(R"({"tenant": ")" + tenant.schema + R"("})") + ");";
  }
  return "INSERT INTO " + tenant.schema +
         ".outbox (aggregate_type, aggregate_id, event_type, payload, note) VALUES ('order', " +
         Quote(key) + ", 'Updated', convert_to(" + Quote(mark) + ", 'UTF8'), 'n');";
}

// What a record says about the row it came from: "<schema>/<key>/<seq>".
std::string MarkOf(const ConsumedRecord& r) {
  const std::string prefix = R"({"mark": ")";
  if (r.value.rfind(prefix, 0) == 0) {
    return r.value.substr(prefix.size(), r.value.size() - prefix.size() - 2);
  }
  return r.value;  // the bytea payload, as its bytes
}

// What a test expects to arrive: schema -> key -> the committed seqs, in
// commit order.
using Expected = std::map<std::string, std::map<std::string, std::vector<int>>>;

// Checks the records of `tenants`' topics: exactly the marks in `expected`
// (schema -> key -> the committed seqs, in commit order), each once, in
// order per key, with the right topic, key, table header and headers.
void CheckRecords(const std::vector<ConsumedRecord>& records, const std::vector<Tenant>& tenants,
                  const Expected& expected) {
  std::map<std::string, bool> canonical;
  for (const Tenant& t : tenants) canonical[t.schema] = t.canonical;
  // (schema, key) -> seqs in the order they arrived (offset order within
  // the key's partition, which the consumer keeps).
  std::map<std::pair<std::string, std::string>, std::vector<int>> arrived;
  std::set<std::string> marks;
  for (const ConsumedRecord& r : records) {
    const std::string mark = MarkOf(r);
    SCOPED_TRACE("record " + mark + " on " + r.topic);
    EXPECT_TRUE(marks.insert(mark).second) << "arrived more than once";
    const size_t slash = mark.find('/');
    const size_t last = mark.rfind('/');
    ASSERT_NE(slash, std::string::npos);
    ASSERT_NE(last, slash);
    const std::string schema = mark.substr(0, slash);
    const std::string key = mark.substr(slash + 1, last - slash - 1);
    const int seq = std::stoi(mark.substr(last + 1));
    EXPECT_EQ(r.topic, schema + ".order");
    EXPECT_EQ(r.key, key);
    EXPECT_EQ(r.partition, JavaPartitionForKey(key, kPartitions));
    EXPECT_EQ(r.Header("table"), schema + ".outbox");
    ASSERT_GE(r.headers.size(), 4u);
    EXPECT_EQ(r.headers[0].first, "id");
    EXPECT_EQ(r.headers[1].first, "event_type");
    EXPECT_EQ(r.headers[2].first, "aggregate_type");
    EXPECT_EQ(r.headers[3].first, "table");
    if (canonical[schema]) {
      EXPECT_EQ(r.headers.size(), 5u);
      EXPECT_EQ(r.Header("tenant"), schema);
    } else {
      EXPECT_EQ(r.headers.size(), 4u);  // no headers column
    }
    arrived[{schema, key}].push_back(seq);
  }
  size_t total = 0;
  for (const auto& [schema, keys] : expected) {
    for (const auto& [key, seqs] : keys) {
      total += seqs.size();
      EXPECT_EQ(arrived[std::make_pair(schema, key)], seqs) << schema << " key " << key;
    }
  }
  EXPECT_EQ(records.size(), total);
}

// Writes `transactions` transactions of one to `max_rows` inserts into
// random tenants and keys (of `keys`), every `rollback_every`-th one (from
// the offset `rollback_at`) rolled back, and records the committed rows in
// *expected. A rolled-back row's seq is never reused: it must not arrive.
struct TransactionWriter {
  explicit TransactionWriter(unsigned seed, int keys = 6, int max_rows = 5, int rollback_every = 7,
                             int rollback_at = 3)
      : rng(seed),
        keys(keys),
        max_rows(max_rows),
        rollback_every(rollback_every),
        rollback_at(rollback_at) {}

  std::mt19937 rng;
  int keys, max_rows, rollback_every, rollback_at;
  std::map<std::pair<std::string, std::string>, int> next_seq;

  void Write(Harness& h, const std::vector<Tenant>& tenants, int transactions, Expected* expected) {
    for (int t = 0; t < transactions; ++t) {
      const bool rollback = t % rollback_every == rollback_at;
      std::string sql = "BEGIN;";
      std::vector<std::tuple<std::string, std::string, int>> inserted;
      const int rows = 1 + static_cast<int>(rng() % max_rows);
      for (int i = 0; i < rows; ++i) {
        const Tenant& tenant = tenants[rng() % tenants.size()];
        const std::string key = "k" + std::to_string(rng() % keys);
        const int seq = ++next_seq[{tenant.schema, key}];
        sql += InsertSql(tenant, key, seq);
        inserted.emplace_back(tenant.schema, key, seq);
      }
      ASSERT_TRUE(h.Exec(sql + (rollback ? "ROLLBACK;" : "COMMIT;")));
      if (!rollback) {
        for (const auto& [schema, key, seq] : inserted) (*expected)[schema][key].push_back(seq);
      }
    }
  }
};

// How many records `expected` holds.
size_t CountOf(const Expected& expected) {
  size_t count = 0;
  for (const auto& [schema, keys] : expected) {
    for (const auto& [key, seqs] : keys) count += seqs.size();
  }
  return count;
}

// Waits for every record of `expected`, lets a moment pass for extra ones,
// then checks them all (CheckRecords).
void ExpectArrived(TopicConsumer& consumer, ChildProcess& child, const std::vector<Tenant>& tenants,
                   const Expected& expected) {
  const size_t count = CountOf(expected);
  ASSERT_TRUE(consumer.WaitForCount(count, kArrival))
      << "expected " << count << " records, got " << consumer.Count() << "\n"
      << child.Output();
  std::this_thread::sleep_for(kSettle);
  ASSERT_NO_FATAL_FAILURE(CheckRecords(consumer.Records(), tenants, expected));
}

// SIGTERM, then exit 0 within 30 s.
void StopCleanly(ChildProcess& child) {
  child.Signal(SIGTERM);
  const std::optional<int> code = child.Wait(30s);
  ASSERT_TRUE(code.has_value()) << child.Output();
  EXPECT_EQ(*code, 0) << child.Output();
}

TEST(MultiTable, TenantTablesOfTwoLayoutsStreamOnceInOrder) {
  Harness h;
  ASSERT_TRUE(h.ok());
  const std::vector<Tenant> tenants = {{"tenant_a", true}, {"tenant_b", false}, {"tenant_c", true}};
  std::vector<std::string> topics;
  for (const Tenant& t : tenants) topics.push_back(t.schema + ".order");
  for (const std::string& topic : topics) h.kafka->CreateTopic(topic, kPartitions);
  for (const Tenant& t : tenants) {
    ASSERT_TRUE(h.Exec("CREATE SCHEMA " + t.schema));
    if (t.canonical) {
      ASSERT_NO_FATAL_FAILURE(h.CreateOutboxTable(t.schema + ".outbox"));
    } else {
      ASSERT_NO_FATAL_FAILURE(CreateOtherLayout(h, t.schema));
    }
  }
  // Not an outbox table: another table in a tenant schema.
  ASSERT_TRUE(h.Exec("CREATE TABLE tenant_a.orders (id int PRIMARY KEY)"));
  TopicConsumer consumer(h.kafka->bootstraps(), topics);

  std::unique_ptr<ChildProcess> child =
      h.Start({"--table", "tenant_*.outbox", "--topic", "{schema}.{aggregate_type}"});
  ASSERT_TRUE(WaitForOutput(*child, "streaming from slot", 30s)) << child->Output();
  const std::string started = child->Output();
  EXPECT_NE(started.find("created publication " + h.publication +
                         " for tables tenant_a.outbox, tenant_b.outbox, tenant_c.outbox"),
            std::string::npos)
      << started;
  EXPECT_NE(started.find("table tenant_b.outbox has no column headers"), std::string::npos)
      << started;
  // The periodic cleanup covers the tables with created_at only.
  EXPECT_NE(started.find("deleting rows of tenant_a.outbox, tenant_c.outbox whose created_at"),
            std::string::npos)
      << started;
  EXPECT_NE(started.find("table tenant_b.outbox has no column created_at"), std::string::npos)
      << started;

  // Transactions over one to three tenants, some rolled back.
  Expected expected;
  TransactionWriter writer(15);
  ASSERT_NO_FATAL_FAILURE(writer.Write(h, tenants, 60, &expected));
  // A row of the table that is not an outbox table is not published.
  ASSERT_TRUE(h.Exec("INSERT INTO tenant_a.orders VALUES (1)"));

  ASSERT_NO_FATAL_FAILURE(ExpectArrived(consumer, *child, tenants, expected));

  ASSERT_NO_FATAL_FAILURE(StopCleanly(*child));
}

// Starts pgoutbox on `tenants` (created, each of its layout) with the
// {schema} topic template and waits until it streams.
std::unique_ptr<ChildProcess> StartOn(Harness& h, const std::vector<Tenant>& tenants) {
  for (const Tenant& t : tenants) {
    EXPECT_TRUE(h.Exec("CREATE SCHEMA " + t.schema));
    if (t.canonical) {
      h.CreateOutboxTable(t.schema + ".outbox");
    } else {
      CreateOtherLayout(h, t.schema);
    }
  }
  std::unique_ptr<ChildProcess> child =
      h.Start({"--table", "tenant_*.outbox", "--topic", "{schema}.{aggregate_type}"});
  EXPECT_TRUE(WaitForOutput(*child, "streaming from slot", 30s)) << child->Output();
  return child;
}

// A tenant whose table `pgoutbox setup` adds to the publication while
// pgoutbox runs is streamed from then on. A row inserted before the table
// is in the publication is not streamed: pgoutput publishes a change only
// if the publication covers its table when the change is decoded, and
// pgoutbox does not read the table for it.
TEST(MultiTable, ATenantSetUpWhileRunningIsStreamedFromThen) {
  Harness h;
  ASSERT_TRUE(h.ok());
  const std::vector<Tenant> tenants = {{"tenant_a", true}};
  const Tenant late = {"tenant_d", false};
  for (const char* topic : {"tenant_a.order", "tenant_d.order"}) {
    h.kafka->CreateTopic(topic, kPartitions);
  }
  TopicConsumer consumer(h.kafka->bootstraps(), {"tenant_a.order", "tenant_d.order"});
  std::unique_ptr<ChildProcess> child = StartOn(h, tenants);
  ASSERT_FALSE(::testing::Test::HasFailure());

  ASSERT_TRUE(h.Exec("CREATE SCHEMA " + late.schema));
  ASSERT_NO_FATAL_FAILURE(CreateOtherLayout(h, late.schema));
  ASSERT_TRUE(h.Exec(InsertSql(late, "k0", 1)));  // before setup: not streamed
  std::string setup_output;
  const int setup_code =
      RunToExit({PgoutboxBinary(), "setup", "--db", h.pg->ConnInfo(h.db), "--table",
                 "tenant_*.outbox", "--publication", h.publication, "--slot", h.slot},
                &setup_output, 60s);
  ASSERT_EQ(setup_code, 0) << setup_output;

  Expected expected;
  for (int seq = 1; seq <= 3; ++seq) {
    ASSERT_TRUE(h.Exec("BEGIN;" + InsertSql(late, "k1", seq) + InsertSql(tenants[0], "k1", seq) +
                       "COMMIT;"));
    expected[late.schema]["k1"].push_back(seq);
    expected[tenants[0].schema]["k1"].push_back(seq);
  }
  ASSERT_TRUE(consumer.WaitForCount(6, kArrival)) << "got " << consumer.Count() << "\n"
                                                  << child->Output();
  std::this_thread::sleep_for(kSettle);
  ASSERT_NO_FATAL_FAILURE(CheckRecords(consumer.Records(), {tenants[0], late}, expected));
  EXPECT_NE(child->Output().find("streaming outbox table tenant_d.outbox (new)"), std::string::npos)
      << child->Output();

  // Cleanup covers every tenant table with created_at and skips the others.
  std::this_thread::sleep_for(1100ms);
  std::string cleanup_output;
  const int cleanup_code = RunToExit({PgoutboxBinary(), "cleanup", "--db", h.pg->ConnInfo(h.db),
                                      "--table", "tenant_*.outbox", "--retention", "1s"},
                                     &cleanup_output, 60s);
  EXPECT_EQ(cleanup_code, 0) << cleanup_output;
  EXPECT_EQ(h.QueryValue("SELECT count(*) FROM tenant_a.outbox"), "0") << cleanup_output;
  EXPECT_EQ(h.QueryValue("SELECT count(*) FROM tenant_d.outbox"), "4") << cleanup_output;
  EXPECT_NE(cleanup_output.find("tenant_d.outbox has no column created_at"), std::string::npos)
      << cleanup_output;

  ASSERT_NO_FATAL_FAILURE(StopCleanly(*child));
}

// Three tenant tables of two layouts and a fourth created and set up while
// pgoutbox runs, in one run; every committed
// event of every table arrives once, per key in commit order, with the right
// topic and table header; the daemon's cleanup takes the new table on, and
// `pgoutbox cleanup` deletes the old rows of all four.
TEST(MultiTable, ThreeTenantsAndAFourthSetUpWhileRunningThenCleanedUp) {
  Harness h;
  ASSERT_TRUE(h.ok());
  std::vector<Tenant> tenants = {{"tenant_a", true}, {"tenant_b", false}, {"tenant_c", true}};
  const Tenant late = {"tenant_d", false};
  std::vector<std::string> topics;
  for (const char* schema : {"tenant_a", "tenant_b", "tenant_c", "tenant_d"}) {
    topics.push_back(std::string(schema) + ".order");
    h.kafka->CreateTopic(topics.back(), kPartitions);
  }
  for (const Tenant& t : tenants) {
    ASSERT_TRUE(h.Exec("CREATE SCHEMA " + t.schema));
    if (t.canonical) {
      ASSERT_NO_FATAL_FAILURE(h.CreateOutboxTable(t.schema + ".outbox"));
    } else {
      ASSERT_NO_FATAL_FAILURE(CreateOtherLayout(h, t.schema, /*created_at=*/true));
    }
  }
  TopicConsumer consumer(h.kafka->bootstraps(), topics);
  // A short retention: the daemon's own cleanup runs while it streams (the
  // WAL, not the table, is what it streams from).
  std::unique_ptr<ChildProcess> child =
      h.Start({"--table", "tenant_*.outbox", "--topic", "{schema}.{aggregate_type}", "--retention",
               "2s", "--cleanup-interval", "300ms"});
  ASSERT_TRUE(WaitForOutput(*child, "streaming from slot", 30s)) << child->Output();

  Expected expected;
  TransactionWriter writer(1515, 5, 4, 5, 2);
  ASSERT_NO_FATAL_FAILURE(writer.Write(h, tenants, 30, &expected));

  // The fourth tenant appears; `setup` adds it while pgoutbox runs.
  ASSERT_TRUE(h.Exec("CREATE SCHEMA " + late.schema));
  ASSERT_NO_FATAL_FAILURE(CreateOtherLayout(h, late.schema, /*created_at=*/true));
  std::string setup_output;
  ASSERT_EQ(RunToExit({PgoutboxBinary(), "setup", "--db", h.pg->ConnInfo(h.db), "--table",
                       "tenant_*.outbox", "--publication", h.publication, "--slot", h.slot},
                      &setup_output, 60s),
            0)
      << setup_output;
  EXPECT_NE(setup_output.find("table tenant_d.outbox: added"), std::string::npos) << setup_output;
  tenants.push_back(late);
  ASSERT_NO_FATAL_FAILURE(writer.Write(h, tenants, 40, &expected));

  ASSERT_GT(expected[late.schema].size(), 0u);
  ASSERT_NO_FATAL_FAILURE(ExpectArrived(consumer, *child, tenants, expected));
  EXPECT_NE(child->Output().find("streaming outbox table tenant_d.outbox (new)"), std::string::npos)
      << child->Output();

  // The running daemon's cleanup took the new table on, and deletes its rows
  // once they are older than the retention.
  EXPECT_TRUE(WaitForOutput(
      *child, "outbox cleanup: table tenant_d.outbox matches --table tenant_*.outbox", 30s))
      << child->Output();
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (h.QueryValue("SELECT count(*) FROM tenant_d.outbox") != "0" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(h.QueryValue("SELECT count(*) FROM tenant_d.outbox"), "0") << child->Output();

  // And `pgoutbox cleanup` leaves no old row in any of the four tables.
  std::this_thread::sleep_for(1100ms);
  std::string cleanup_output;
  EXPECT_EQ(RunToExit({PgoutboxBinary(), "cleanup", "--db", h.pg->ConnInfo(h.db), "--table",
                       "tenant_*.outbox", "--retention", "1s"},
                      &cleanup_output, 60s),
            0)
      << cleanup_output;
  for (const Tenant& t : tenants) {
    EXPECT_EQ(h.QueryValue("SELECT count(*) FROM " + t.schema + ".outbox"), "0") << t.schema << "\n"
                                                                                 << cleanup_output;
  }

  ASSERT_NO_FATAL_FAILURE(StopCleanly(*child));
}

// A table that already holds rows when setup adds it to the publication:
// setup says they are not streamed and how to publish them.
TEST(MultiTable, SetupSaysWhenAnAddedTableAlreadyHoldsRows) {
  Harness h;
  ASSERT_TRUE(h.ok());
  const Tenant a = {"tenant_a", true};
  const Tenant late = {"tenant_b", false};
  ASSERT_TRUE(h.Exec("CREATE SCHEMA " + a.schema));
  ASSERT_NO_FATAL_FAILURE(h.CreateOutboxTable(a.schema + ".outbox"));
  auto setup = [&](std::string* output) {
    return RunToExit({PgoutboxBinary(), "setup", "--db", h.pg->ConnInfo(h.db), "--table",
                      "tenant_*.outbox", "--publication", h.publication, "--slot", h.slot},
                     output, 60s);
  };
  std::string output;
  ASSERT_EQ(setup(&output), 0) << output;
  ASSERT_TRUE(h.Exec("CREATE SCHEMA " + late.schema));
  ASSERT_NO_FATAL_FAILURE(CreateOtherLayout(h, late.schema, /*created_at=*/true));
  ASSERT_TRUE(h.Exec(InsertSql(late, "k0", 1) + InsertSql(late, "k0", 2)));
  output.clear();
  ASSERT_EQ(setup(&output), 0) << output;
  EXPECT_NE(output.find("table tenant_b.outbox: added (it already holds 2 rows, inserted before "
                        "it was in the publication: they are not streamed; publish them with "
                        "pgoutbox replay --table tenant_b.outbox --until '"),
            std::string::npos)
      << output;
}

// The newest state record of the harness's deployment with a delivered mark
// whose insert position is at or after `lsn`; false if none.
bool MarkRemembered(const Harness& h, const std::string& lsn) {
  kafka::StateTopicOptions options;
  options.kafka.brokers = h.kafka->bootstraps();
  options.topic = "pgoutbox.state";
  options.key = core::DeliveryStateKey(h.db, h.slot);
  auto record = kafka::ReadLatestState(options, 10s);
  if (!record.ok() || !record->has_value()) return false;
  auto state = core::DeliveryState::Parse((*record)->value);
  if (!state.ok() || !state->mark) return false;
  const std::optional<Lsn> wanted = Lsn::Parse(lsn);
  return wanted.has_value() && state->mark->insert_lsn >= *wanted;
}

// The slot dropped while pgoutbox was down: the rows after the delivered
// mark are recovered from every tenant table, whatever its layout (one
// without created_at is read by transaction id alone), and nothing is lost.
TEST(MultiTable, ARecoveryReadsEveryTenantTable) {
  Harness h;
  ASSERT_TRUE(h.ok());
  const std::vector<Tenant> tenants = {{"tenant_a", true}, {"tenant_b", false}};
  for (const char* topic : {"tenant_a.order", "tenant_b.order"}) {
    h.kafka->CreateTopic(topic, kPartitions);
  }
  TopicConsumer consumer(h.kafka->bootstraps(), {"tenant_a.order", "tenant_b.order"});
  Expected expected;
  int seq = 0;
  auto insert_both = [&](const std::string& key) {
    ++seq;
    for (const Tenant& t : tenants) expected[t.schema][key].push_back(seq);
    return h.Exec("BEGIN;" + InsertSql(tenants[0], key, seq) + InsertSql(tenants[1], key, seq) +
                  "COMMIT;");
  };
  {
    std::unique_ptr<ChildProcess> child = StartOn(h, tenants);
    ASSERT_FALSE(::testing::Test::HasFailure());
    ASSERT_TRUE(insert_both("k0"));
    const std::string after_first = h.CurrentWalLsn();
    bool remembered = false;
    for (int i = 0; i < 100 && !remembered; ++i) {
      ASSERT_TRUE(insert_both("k" + std::to_string(i % 3)));
      std::this_thread::sleep_for(300ms);
      remembered = MarkRemembered(h, after_first);
    }
    ASSERT_TRUE(remembered) << "no delivered mark was remembered\n" << child->Output();
    child->Signal(SIGTERM);
    ASSERT_EQ(child->Wait(30s), std::optional<int>(0)) << child->Output();
  }
  // While pgoutbox is down: rows in both tables, the slot dropped, more rows.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(insert_both("k" + std::to_string(i % 3)));
  ASSERT_TRUE(h.Exec("SELECT pg_drop_replication_slot('" + h.slot + "')"));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(insert_both("k" + std::to_string(i % 3)));

  std::unique_ptr<ChildProcess> child =
      h.Start({"--table", "tenant_*.outbox", "--topic", "{schema}.{aggregate_type}"});
  ASSERT_TRUE(WaitForOutput(*child, "streaming from slot", 60s)) << child->Output();
  const std::string out = child->Output();
  for (const Tenant& t : tenants) {
    EXPECT_NE(out.find("publishing the retained rows of " + t.schema + ".outbox"),
              std::string::npos)
        << out;
  }
  // And the stream goes on.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(insert_both("k" + std::to_string(i % 3)));

  // Every row at least once (a recovery may publish some again), each
  // record naming its table; per table and key, the last copy of each row
  // in order.
  size_t rows = 0;
  std::set<std::string> wanted;
  for (const auto& [schema, keys] : expected) {
    for (const auto& [key, seqs] : keys) {
      rows += seqs.size();
      for (int n : seqs) wanted.insert(schema + "/" + key + "/" + std::to_string(n));
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + kArrival;
  std::set<std::string> seen;
  while (std::chrono::steady_clock::now() < deadline) {
    seen.clear();
    for (const ConsumedRecord& r : consumer.Records()) {
      seen.insert(MarkOf(r));
      EXPECT_EQ(r.Header("table"), MarkOf(r).substr(0, MarkOf(r).find('/')) + ".outbox");
    }
    if (seen.size() >= wanted.size()) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(seen, wanted) << child->Output();
  EXPECT_GE(consumer.Count(), rows);
  child->Signal(SIGTERM);
  ASSERT_EQ(child->Wait(30s), std::optional<int>(0)) << child->Output();
}

TEST(MultiTable, NoMatchingTableIsRefused) {
  Harness h;
  ASSERT_TRUE(h.ok());
  std::string output;
  const int code =
      h.RunToEnd({"--table", "tenant_*.outbox", "--exit-when-caught-up"}, 30s, &output);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("no table matches --table tenant_*.outbox"), std::string::npos) << output;
}

}  // namespace
}  // namespace pgoutbox::testing
