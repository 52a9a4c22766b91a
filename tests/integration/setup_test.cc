// `pgoutbox setup`, then `pgoutbox run` and `pgoutbox status` as the
// least-privilege role it created: the role can stream the outbox to Kafka
// (with --no-create: the admin made the publication and slot) and read the
// status, with nothing but LOGIN REPLICATION, USAGE on the schema and
// SELECT, DELETE on the table.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "integration/harness.h"
#include "support/child_process.h"
#include "support/kafka_cluster.h"
#include "support/pg_server.h"

namespace pgoutbox::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kRole[] = "pgoutbox";

// `pgoutbox run` arguments of the harness, connecting as `user`.
std::vector<std::string> RunArgsAs(const Harness& h, const std::string& user,
                                   const std::vector<std::string>& extra) {
  return h.ArgsWith("--db", h.pg->ConnInfo(h.db, user), extra);
}

// `pgoutbox setup` as the admin, creating the least-privilege role kRole.
int SetupAsAdmin(const Harness& h, std::string* output) {
  return RunToExit({PgoutboxBinary(), "setup", "--db", h.pg->ConnInfo(h.db), "--publication",
                    h.publication, "--slot", h.slot, "--role", kRole},
                   output);
}

TEST(SetupRole, LeastPrivilegeRoleStreamsTheOutbox) {
  Harness h;
  ASSERT_TRUE(h.ok());
  std::string output;
  ASSERT_EQ(SetupAsAdmin(h, &output), 0) << output;
  EXPECT_NE(output.find("role pgoutbox: created"), std::string::npos) << output;
  h.kafka->CreateTopic("outbox.event.order", 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {"outbox.event.order"});

  // The application (here the admin) writes events after the slot exists.
  constexpr int kEvents = 25;
  ASSERT_TRUE(
      h.Exec("INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, "
             "payload) SELECT 'order', (i % 5)::text, 'Placed', "
             "jsonb_build_object('n', i) FROM generate_series(1, " +
             std::to_string(kEvents) + ") i"));
  const std::string end = h.CurrentWalLsn();

  auto child = ChildProcess::Start(RunArgsAs(h, kRole, {"--no-create", "--end-lsn", end}));
  ASSERT_NE(child, nullptr);
  auto code = child->Wait(60s);
  ASSERT_TRUE(code.has_value()) << child->Output();
  ASSERT_EQ(*code, 0) << child->Output();

  ASSERT_TRUE(consumer.WaitForCount(kEvents, 20s)) << "got " << consumer.Count();
  std::set<std::string> ids;
  for (const ConsumedRecord& r : consumer.Records()) ids.insert(r.Header("id").value_or(""));
  EXPECT_EQ(ids.size(), static_cast<size_t>(kEvents));
  EXPECT_GE(CompareLsn(h.ConfirmedLsn(), end), 0) << h.ConfirmedLsn() << " < " << end;

  // The role reads the status (SELECT on the outbox for the row count).
  ASSERT_EQ(RunToExit({PgoutboxBinary(), "--log-level", "warn", "status", "--db",
                       h.pg->ConnInfo(h.db, kRole), "--slot", h.slot, "--max-lag", "100MB"},
                      &output),
            0)
      << output;
  EXPECT_NE(output.find("rows:                25\n"), std::string::npos) << output;
  EXPECT_NE(output.find("\nhealthy\n"), std::string::npos) << output;
}

TEST(SetupRole, WithoutNoCreateTheRoleStillFindsWhatSetupMade) {
  // Without --no-create, run only inspects (publication and slot exist), so
  // the role needs no ownership either.
  Harness h;
  ASSERT_TRUE(h.ok());
  std::string output;
  ASSERT_EQ(SetupAsAdmin(h, &output), 0) << output;
  ASSERT_TRUE(
      h.Exec("INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, "
             "payload) VALUES ('order', '1', 'Placed', '{}')"));
  h.kafka->CreateTopic("outbox.event.order", 1);
  TopicConsumer consumer(h.kafka->bootstraps(), {"outbox.event.order"});
  auto child = ChildProcess::Start(RunArgsAs(h, kRole, {"--exit-when-caught-up"}));
  ASSERT_NE(child, nullptr);
  auto code = child->Wait(60s);
  ASSERT_TRUE(code.has_value()) << child->Output();
  EXPECT_EQ(*code, 0) << child->Output();
  EXPECT_TRUE(consumer.WaitForCount(1, 20s));
}

TEST(SetupRole, TheRoleCannotCreateThePublicationItself) {
  // Why setup creates the publication as the admin: the role does not own
  // the table, so `run` cannot create it and says so.
  Harness h;
  ASSERT_TRUE(h.ok());
  std::string output;
  ASSERT_EQ(SetupAsAdmin(h, &output), 0) << output;
  ASSERT_TRUE(h.Exec("DROP PUBLICATION " + h.publication));
  auto child = ChildProcess::Start(RunArgsAs(h, kRole, {"--exit-when-caught-up"}));
  ASSERT_NE(child, nullptr);
  auto code = child->Wait(60s);
  ASSERT_TRUE(code.has_value()) << child->Output();
  EXPECT_EQ(*code, 1) << child->Output();
  EXPECT_NE(child->Output().find("cannot create publication"), std::string::npos)
      << child->Output();
}

}  // namespace
}  // namespace pgoutbox::testing
