// End-to-end streaming of several outbox tables (`--table 'tenant_*.outbox'`):
// a real PostgreSQL, librdkafka's mock cluster and the pgoutbox binary as a
// child process. Tenant schemas hold outbox tables of two layouts (the
// canonical one with headers, topic and created_at columns and a jsonb
// payload; another without headers, topic or created_at, with a bytea
// payload, a bigint id and its columns in another order). An independent
// consumer checks that every committed event arrives exactly once, per key
// in commit order, on the topic the template renders from the row's schema,
// with a `table` header naming the row's table; that rolled-back inserts
// never arrive; and that a tenant table set up while pgoutbox runs is
// streamed from then on.
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

#include "integration/harness.h"
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
void CreateOtherLayout(Harness& h, const std::string& schema) {
  ASSERT_TRUE(h.Exec("CREATE TABLE " + schema +
                     ".outbox (payload bytea NOT NULL, note text, event_type text NOT NULL, "
                     "aggregate_id text NOT NULL, id bigserial PRIMARY KEY, "
                     "aggregate_type varchar(40) NOT NULL)"));
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

// Checks the records of `tenants`' topics: exactly the marks in `expected`
// (schema -> key -> the committed seqs, in commit order), each once, in
// order per key, with the right topic, key, table header and headers.
void CheckRecords(const std::vector<ConsumedRecord>& records, const std::vector<Tenant>& tenants,
                  const std::map<std::string, std::map<std::string, std::vector<int>>>& expected) {
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

  // Transactions over one to three tenants, some rolled back.
  std::mt19937 rng(15);
  std::map<std::string, std::map<std::string, std::vector<int>>> expected;
  std::map<std::pair<std::string, std::string>, int> next_seq;
  constexpr int kTransactions = 60;
  constexpr int kKeys = 6;
  for (int t = 0; t < kTransactions; ++t) {
    const bool rollback = t % 7 == 3;
    std::string sql = "BEGIN;";
    std::vector<std::tuple<std::string, std::string, int>> inserted;
    const int rows = 1 + static_cast<int>(rng() % 5);
    for (int i = 0; i < rows; ++i) {
      const Tenant& tenant = tenants[rng() % tenants.size()];
      const std::string key = "k" + std::to_string(rng() % kKeys);
      // A rolled-back row's seq is never reused: it must not arrive.
      const int seq = ++next_seq[{tenant.schema, key}];
      sql += InsertSql(tenant, key, seq);
      inserted.emplace_back(tenant.schema, key, seq);
    }
    ASSERT_TRUE(h.Exec(sql + (rollback ? "ROLLBACK;" : "COMMIT;")));
    if (!rollback) {
      for (const auto& [schema, key, seq] : inserted) expected[schema][key].push_back(seq);
    }
  }
  // A row of the table that is not an outbox table is not published.
  ASSERT_TRUE(h.Exec("INSERT INTO tenant_a.orders VALUES (1)"));

  size_t count = 0;
  for (const auto& [schema, keys] : expected) {
    for (const auto& [key, seqs] : keys) count += seqs.size();
  }
  ASSERT_TRUE(consumer.WaitForCount(count, kArrival))
      << "expected " << count << " records, got " << consumer.Count() << "\n"
      << child->Output();
  std::this_thread::sleep_for(kSettle);
  ASSERT_NO_FATAL_FAILURE(CheckRecords(consumer.Records(), tenants, expected));

  child->Signal(SIGTERM);
  const std::optional<int> code = child->Wait(30s);
  ASSERT_TRUE(code.has_value()) << child->Output();
  EXPECT_EQ(*code, 0) << child->Output();
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
  for (const std::string& topic : {"tenant_a.order", "tenant_d.order"}) {
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

  std::map<std::string, std::map<std::string, std::vector<int>>> expected;
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

  child->Signal(SIGTERM);
  const std::optional<int> code = child->Wait(30s);
  ASSERT_TRUE(code.has_value()) << child->Output();
  EXPECT_EQ(*code, 0) << child->Output();
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
