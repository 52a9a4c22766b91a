// pgoutbox on every PostgreSQL major version that
// scripts/install-pg-versions.sh installs (kPgVersions): `pgoutbox setup`
// makes the table, publication, role and slot, then `pgoutbox run` as that
// role streams a few hundred events until it has caught up, and an
// independent consumer checks that every one arrived, once.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "integration/harness.h"
#include "support/child_process.h"
#include "support/kafka_cluster.h"
#include "support/pg_server.h"

namespace pgoutbox::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kTransactions = 30;
constexpr int kPerTransaction = 10;
constexpr int kEvents = kTransactions * kPerTransaction;
constexpr char kTopic[] = "outbox.event.order";

class PgVersionStreaming : public ::testing::TestWithParam<int> {};

TEST_P(PgVersionStreaming, SetupThenRunDeliversEveryEvent) {
  PgServerOptions options;
  options.version = GetParam();
  Harness h(/*brokers=*/1, options);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h.QueryValue("SELECT current_setting('server_version_num')::int / 10000"),
            std::to_string(GetParam()));

  std::string output;
  ASSERT_EQ(RunToExit({PgoutboxBinary(), "setup", "--db", h.pg->ConnInfo(h.db), "--publication",
                       h.publication, "--slot", h.slot},
                      &output),
            0)
      << output;
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});

  for (int t = 0; t < kTransactions; ++t) {
    ASSERT_TRUE(
        h.Exec("INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) "
               "SELECT 'order', (i % 7)::text, 'Placed', jsonb_build_object('n', i) "
               "FROM generate_series(" +
               std::to_string(t * kPerTransaction + 1) + ", " +
               std::to_string((t + 1) * kPerTransaction) + ") i"));
  }
  const std::string end = h.CurrentWalLsn();

  // As the least-privilege role setup made, which must be enough on every
  // version.
  ASSERT_EQ(RunToExit(h.ArgsWith("--db", h.pg->ConnInfo(h.db, "pgoutbox"),
                                 {"--no-create", "--exit-when-caught-up"}),
                      &output),
            0)
      << output;
  EXPECT_GE(CompareLsn(h.ConfirmedLsn(), end), 0) << h.ConfirmedLsn() << " < " << end;

  ASSERT_TRUE(consumer.WaitForCount(kEvents, 20s)) << "got " << consumer.Count();
  std::map<std::string, int> arrived;
  for (const ConsumedRecord& r : consumer.Records()) ++arrived[r.Header("id").value_or("")];
  for (const auto& row : h.Query("SELECT id FROM public.outbox")) {
    EXPECT_EQ(arrived[row[0]], 1) << "event " << row[0];
  }
  EXPECT_EQ(arrived.size(), static_cast<size_t>(kEvents));
}

INSTANTIATE_TEST_SUITE_P(Versions, PgVersionStreaming, ::testing::ValuesIn(kPgVersions),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return "pg" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace pgoutbox::testing
