// A delivery that fails for good, or a fatal producer error, stops the stream
// without confirming past the failed event; a restart delivers it. So does a
// record still corrupted on the way when produced again alone.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <set>

#include "integration/harness.h"

namespace pgoutbox::testing {
namespace {

using std::chrono::seconds;

constexpr const char* kTopic = "outbox.event.order";

// `headers`: the headers column, an SQL expression of i (the row's number).
std::vector<std::string> InsertOrders(Harness& h, int n, const std::string& tag,
                                      const std::string& headers = "NULL") {
  auto rows = h.Query(
      "INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload, headers) "
      "SELECT 'order', 'order-' || i, 'created', jsonb_build_object('tag', '" +
      tag + "', 'i', i), " + headers + " FROM generate_series(1, " + std::to_string(n) +
      ") i RETURNING id");
  std::vector<std::string> ids;
  for (const auto& r : rows) ids.push_back(r.at(0));
  return ids;
}

// `headers`: the rows' headers column (see InsertOrders).
// `errors`: what the first produce requests are answered; `args`: more flags
// for the first run.
void ExpectFailureThenRecovery(const std::vector<int>& errors, const std::string& expected_phrase,
                               const std::string& headers = "NULL",
                               const std::vector<std::string>& args = {}) {
  Harness h(1);
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 1);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  ASSERT_EQ(h.RunToEnd({"--exit-when-caught-up"}), 0);  // creates the slot
  std::string before = h.ConfirmedLsn();
  ASSERT_FALSE(before.empty());

  std::vector<std::string> ids = InsertOrders(h, 3, "first", headers);
  std::vector<std::string> more = InsertOrders(h, 2, "second", headers);
  ids.insert(ids.end(), more.begin(), more.end());
  std::string end = h.CurrentWalLsn();

  // The first Produce requests fail: their events fail for good.
  h.kafka->PushProduceErrors(errors);
  std::vector<std::string> first = {"--end-lsn", end, "--shutdown-timeout", "5s"};
  first.insert(first.end(), args.begin(), args.end());
  std::string output;
  int code = h.RunToEnd(first, seconds(60), &output);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find(expected_phrase), std::string::npos) << output;
  bool names_an_event = false;
  for (const auto& id : ids) names_an_event |= output.find(id) != std::string::npos;
  EXPECT_TRUE(names_an_event) << "the error names no event id:\n" << output;
  // Nothing past the failure is confirmed: the slot stays where it was.
  EXPECT_EQ(h.ConfirmedLsn(), before) << output;

  // A restart streams the same transactions again and delivers them.
  std::string output2;
  ASSERT_EQ(h.RunToEnd({"--end-lsn", end}, seconds(60), &output2), 0) << output2;
  ASSERT_TRUE(consumer.WaitForCount(ids.size(), seconds(20)));
  std::set<std::string> arrived;
  for (const auto& r : consumer.Records()) {
    if (auto id = r.Header("id")) arrived.insert(*id);
  }
  for (const auto& id : ids) EXPECT_TRUE(arrived.count(id)) << "event " << id << " never arrived";
  EXPECT_GE(CompareLsn(h.ConfirmedLsn(), before), 0);
  // Only pgoutbox's id names an event, in the records and in the error.
  for (const auto& r : consumer.Records()) {
    int id_headers = 0;
    for (const auto& [name, value] : r.headers) id_headers += name == "id" ? 1 : 0;
    EXPECT_EQ(id_headers, 1) << r.value;
  }
  EXPECT_EQ(output.find("forged"), std::string::npos) << output;
}

TEST(DeliveryFailure, PermanentErrorStopsAndRestartDelivers) {
  // Not retriable: the delivery report carries the error.
  ExpectFailureThenRecovery({RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED}, "was not delivered");
}

TEST(DeliveryFailure, TheFailureNamesTheRowsIdNotOneFromItsHeadersColumn) {
  ExpectFailureThenRecovery({RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED}, "was not delivered",
                            "jsonb_build_object('id', 'forged-' || i, 'trace', 't' || i)");
}

// A batch that arrived corrupted (INVALID_MSG) is produced again record by
// record; a record corrupted again on its own is a delivery failure, not a
// bad row, even under skip: the stream stops, and a restart delivers it.
TEST(DeliveryFailure, ARecordCorruptedAgainAloneStopsTheStreamEvenUnderSkip) {
  ExpectFailureThenRecovery({RD_KAFKA_RESP_ERR_INVALID_MSG, RD_KAFKA_RESP_ERR_INVALID_MSG},
                            "was not delivered", "NULL",
                            {"--on-bad-row", "skip", "-X",
                             "max.in.flight.requests.per.connection=1", "-X", "linger.ms=200"});
}

}  // namespace
}  // namespace pgoutbox::testing
