// The delivery state (core/delivery_state.h) as `run` writes it to its
// state topic: read back by an independent reader, it names the server
// streamed from, and its delivered mark is covered by the confirmed position.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "core/delivery_state.h"
#include "integration/harness.h"
#include "integration/workload.h"
#include "kafka/state_topic.h"

namespace pgoutbox::testing {
namespace {

using std::chrono::seconds;

TEST(DeliveryStateTest, RunWritesWhereItStreamedFromAndADeliveredMark) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  auto child = h.Start({"--heartbeat-interval", "1s"});
  ASSERT_NE(child, nullptr);
  ASSERT_TRUE(WaitForOutput(*child, "streaming from slot", seconds(30))) << child->Output();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        h.Exec("INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) "
               "VALUES ('order', 'o" +
               std::to_string(i) + "', 'created', '{}')"));
  }
  const std::string after_inserts = h.CurrentWalLsn();
  ASSERT_TRUE(h.WaitForConfirmed(after_inserts, seconds(30)));

  kafka::StateTopicOptions options;
  options.kafka.brokers = h.kafka->bootstraps();
  options.topic = "pgoutbox.state";
  options.key = core::DeliveryStateKey(h.db, h.slot);
  std::optional<core::DeliveryState> state;
  const auto deadline = std::chrono::steady_clock::now() + seconds(40);
  while (std::chrono::steady_clock::now() < deadline) {
    auto record = kafka::ReadLatestState(options, seconds(10));
    ASSERT_TRUE(record.ok()) << record.status().ToString();
    if (record->has_value()) {
      auto parsed = core::DeliveryState::Parse((*record)->value);
      ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << ": " << (*record)->value;
      if (parsed->mark && parsed->mark->insert_lsn >= *Lsn::Parse(after_inserts)) {
        state = *parsed;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_TRUE(state.has_value()) << "no state with a mark past " << after_inserts << "\n"
                                 << child->Output();
  EXPECT_EQ(state->system_identifier, h.pg->SystemIdentifier());
  EXPECT_EQ(state->timeline, 1u);
  EXPECT_EQ(state->database, h.db);
  EXPECT_EQ(state->slot, h.slot);
  EXPECT_EQ(state->phase, core::DeliveryPhase::kStreaming);
  // The mark is delivered: the confirmed position it was written with
  // reaches the mark's insert position.
  EXPECT_GE(state->confirmed, state->mark->insert_lsn);
  StopCleanly(*child);
}

}  // namespace
}  // namespace pgoutbox::testing
