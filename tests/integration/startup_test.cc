// End-to-end tests of `pgoutbox run`'s start-up and of what it tells the
// user while it runs: every name and setting is checked before anything is
// created; a stop signal ends the wait for the brokers, or for the slot's
// creation, at once; a slot created elsewhere with two_phase is refused; a
// one-shot run (--exit-when-caught-up) does not wait for ever as a hot
// standby; and
// the log says what flows (a periodic summary at info, one line per
// delivered event at debug).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/types.h"
#include "integration/harness.h"
#include "integration/output_checks.h"
#include "integration/workload.h"

namespace pgoutbox::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr char kTopic[] = "outbox.event.order";  // default template, aggregate_type 'order'

// How long one pgoutbox run may take.
constexpr auto kRunTimeout = seconds(30);

bool PublicationExists(const Harness& h, const std::string& name) {
  return h.QueryValue("SELECT count(*) FROM pg_publication WHERE pubname = '" + name + "'") != "0";
}

// A bad name or setting found after a check that passed must not leave the
// passed part created: a new publication name with a bad slot name used to
// create the publication, then fail on the slot (exit 1).
TEST(Startup, NothingCreatedWhenALaterCheckFails) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  struct Case {
    std::vector<std::string> flags;  // pairs of flag and value
    std::vector<std::string> phrases;
  };
  const std::string long_name(64, 'x');
  const std::vector<Case> cases = {
      {{"--publication", "newpub", "--slot", "Bad-Slot"}, {"--slot", "Bad-Slot"}},
      {{"--publication", "newpub", "--slot", long_name}, {"--slot", "63"}},
      {{"--publication", long_name}, {"--publication", "63"}},
      {{"--publication", "newpub", "--topic", "events.{no_such_column}"},
       {"{no_such_column}", "placeholder"}},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = h.Args();
    for (size_t i = 0; i + 1 < c.flags.size(); i += 2) {
      SetFlag(&argv, c.flags[i], c.flags[i + 1]);
    }
    std::string output;
    EXPECT_EQ(RunToExit(argv, &output, kRunTimeout), 2) << ::testing::PrintToString(c.flags) << "\n"
                                                        << output;
    ExpectOneClearLine(output, c.phrases);
    ExpectNothingCreated(h);
    EXPECT_FALSE(PublicationExists(h, "newpub")) << ::testing::PrintToString(c.flags);
  }
}

// A slot created elsewhere with two_phase would send prepared transactions
// at PREPARE, as messages pgoutbox does not decode: refused at start-up with
// one line (exit 1), the slot left as it is.
TEST(Startup, ATwoPhaseSlotIsRefused) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  ASSERT_TRUE(h.Exec("SELECT pg_create_logical_replication_slot('" + h.slot +
                     "', 'pgoutput', false, true)"));
  ASSERT_EQ(
      h.QueryValue("SELECT two_phase FROM pg_replication_slots WHERE slot_name = '" + h.slot + "'"),
      "t");
  std::string output;
  EXPECT_EQ(RunToExit(h.Args({"--exit-when-caught-up"}), &output, kRunTimeout), 1) << output;
  ExpectOneClearLine(output, {"replication slot " + h.slot, "two_phase = true"});
  EXPECT_EQ(output.find("streaming from slot"), std::string::npos) << output;
  EXPECT_EQ(h.QueryValue("SELECT count(*) FROM pg_replication_slots"), "1");
}

// A loopback socket listening on a free port, closed on destruction.
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && listen(fd_, 1) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~Listener() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// An HTTP address that cannot be served is found before anything is created,
// and before "streaming from slot" is claimed: malformed (exit 2) or taken
// by another process (exit 1).
TEST(Startup, HttpAddressCheckedBeforeChanges) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  std::string output;
  EXPECT_EQ(RunToExit(h.ArgsWith("--http-addr", "not an address"), &output, kRunTimeout), 2)
      << output;
  ExpectOneClearLine(output, {"--http-addr"});
  EXPECT_EQ(output.find("streaming from slot"), std::string::npos) << output;
  ExpectNothingCreated(h);

  Listener taken;
  ASSERT_GT(taken.port(), 0);
  EXPECT_EQ(RunToExit(h.ArgsWith("--http-addr", "127.0.0.1:" + std::to_string(taken.port())),
                      &output, kRunTimeout),
            1)
      << output;
  ExpectOneClearLine(output, {"--http-addr", std::to_string(taken.port())});
  EXPECT_EQ(output.find("streaming from slot"), std::string::npos) << output;
  ExpectNothingCreated(h);
}

// PGOUTBOX_HTTP_ADDR set but empty disables the endpoint, like --http-addr ''
// (the README says so); unset, the default address would be served.
TEST(Startup, EmptyHttpAddrVariableServesNothing) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  std::vector<std::string> argv = h.Args({"--exit-when-caught-up"});
  auto it = std::find(argv.begin(), argv.end(), "--http-addr");
  ASSERT_NE(it, argv.end());
  argv.erase(it, it + 2);
  std::string output;
  EXPECT_EQ(RunToExit(argv, &output, kRunTimeout, {"PGOUTBOX_HTTP_ADDR="}), 0) << output;
  EXPECT_NE(output.find("http_addr=off"), std::string::npos) << output;
  EXPECT_EQ(output.find("serving /metrics"), std::string::npos) << output;
}

// Ctrl-C while start-up waits for unreachable brokers stops at once (exit 0,
// stopped as asked), with nothing created.
TEST(Startup, StopSignalEndsTheWaitForBrokers) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  for (int signo : {SIGINT, SIGTERM}) {
    auto child = ChildProcess::Start(h.ArgsWith(
        "--brokers", "127.0.0.1:" + std::to_string(ClosedPort()), {"--startup-timeout", "60s"}));
    ASSERT_NE(child, nullptr);
    ASSERT_TRUE(WaitForOutput(*child, "connecting to the Kafka brokers", seconds(20)))
        << child->Output();
    std::this_thread::sleep_for(milliseconds(500));  // inside the wait
    ASSERT_TRUE(child->Running()) << child->Output();
    const auto signalled = Clock::now();
    child->Signal(signo);
    const auto code = child->Wait(seconds(10));
    const long long took = MillisSince(signalled);
    ASSERT_TRUE(code.has_value()) << "still waiting for the brokers after a stop signal\n"
                                  << child->Output();
    EXPECT_EQ(*code, 0) << child->Output();
    EXPECT_LT(took, 2000) << "the stop signal took " << took << " ms to act";
    EXPECT_NE(child->Output().find("stopped while waiting for the Kafka brokers"),
              std::string::npos)
        << child->Output();
    ExpectNothingCreated(h);
  }
}

// Creating the slot waits until the transactions running on the server end;
// a stop signal cancels that wait at once (exit 0) and leaves no slot.
TEST(Startup, StopSignalEndsTheWaitToCreateTheSlot) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  ASSERT_TRUE(h.Exec("CREATE TABLE other (v int)"));
  PgConnPtr open_txn = Connect(h);
  ASSERT_NE(open_txn, nullptr);
  // A transaction with an xid that stays open for the whole test.
  for (const char* sql : {"BEGIN", "INSERT INTO other VALUES (1)"}) {
    PGresult* res = PQexec(open_txn.get(), sql);
    ASSERT_EQ(PQresultStatus(res), PGRES_COMMAND_OK) << PQerrorMessage(open_txn.get());
    PQclear(res);
  }
  auto child = h.Start();
  ASSERT_NE(child, nullptr);
  ASSERT_TRUE(WaitForOutput(*child, "creating replication slot", seconds(20))) << child->Output();
  std::this_thread::sleep_for(milliseconds(700));  // inside the wait
  ASSERT_TRUE(child->Running()) << "the slot was created while a transaction ran:\n"
                                << child->Output();
  const auto signalled = Clock::now();
  child->Signal(SIGINT);
  const auto code = child->Wait(seconds(10));
  const long long took = MillisSince(signalled);
  ASSERT_TRUE(code.has_value()) << "still creating the slot after a stop signal\n"
                                << child->Output();
  EXPECT_EQ(*code, 0) << child->Output();
  EXPECT_LT(took, 2000) << "the stop signal took " << took << " ms to act";
  EXPECT_NE(child->Output().find("stopped while creating replication slot"), std::string::npos)
      << child->Output();
  EXPECT_EQ(h.QueryValue("SELECT count(*) FROM pg_replication_slots"), "0");
  PGresult* res = PQexec(open_txn.get(), "COMMIT");
  EXPECT_EQ(PQresultStatus(res), PGRES_COMMAND_OK);
  PQclear(res);
}

// A run with an end position cannot wait as a hot standby behind another
// pgoutbox for ever: it exits 1 with one line naming the holder.
TEST(Startup, ExitWhenCaughtUpDoesNotWaitAsStandby) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  auto holder = StartStreaming(h, h.Args());
  ASSERT_NE(holder, nullptr);

  std::string output;
  EXPECT_EQ(RunToExit(h.Args({"--exit-when-caught-up"}), &output, kRunTimeout), 1) << output;
  ExpectOneClearLine(output, {"is in use by application_name 'pgoutbox' from 127.0.0.1:",
                              "--exit-when-caught-up", "hot standby"});
  EXPECT_EQ(output.find("streaming from slot"), std::string::npos) << output;

  EXPECT_EQ(RunToExit(h.Args({"--end-lsn", h.CurrentWalLsn()}), &output, kRunTimeout), 1) << output;
  ExpectOneClearLine(output, {"is in use by", "--end-lsn"});
  StopCleanly(*holder);
}

// While events flow, an info line sums them up every --log-summary-interval
// (and none while nothing happens); at debug, one line per delivered event
// names its topic, partition, offset, key and id.
TEST(Startup, LogSaysWhatFlows) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  auto child =
      StartStreaming(h, h.Args({"--log-summary-interval", "500ms", "--log-level", "debug"}));
  ASSERT_NE(child, nullptr);
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);
  std::string last_commit;
  for (int tx = 0; tx < 3; ++tx) {
    last_commit = InsertTransaction(conn.get(), tx, 4);
    ASSERT_NE(last_commit, "");
  }
  ASSERT_TRUE(consumer.WaitForCount(12, seconds(20))) << consumer.Count();
  ASSERT_TRUE(h.WaitForConfirmed(last_commit, seconds(10)));
  // The summary lines add up to what was published (the events may fall
  // into more than one interval).
  auto totals = [&] {
    static const std::regex line(
        R"(info published (\d+) events? in (\d+) transactions? in the last [0-9.]+ s; confirmed )");
    std::pair<int, int> sum{0, 0};
    const std::string out = child->Output();
    for (std::sregex_iterator it(out.begin(), out.end(), line), end; it != end; ++it) {
      sum.first += std::stoi((*it)[1]);
      sum.second += std::stoi((*it)[2]);
    }
    return sum;
  };
  for (const auto deadline = Clock::now() + seconds(10);
       totals() != std::pair<int, int>{12, 3} && Clock::now() < deadline;) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(totals(), (std::pair<int, int>{12, 3})) << child->Output();
  // The last summary shows the confirmed position reached.
  {
    static const std::regex confirmed_re(R"(info published .*; confirmed ([0-9A-F]+/[0-9A-F]+) )");
    const std::string out = child->Output();
    std::optional<Lsn> last;
    for (std::sregex_iterator it(out.begin(), out.end(), confirmed_re), end; it != end; ++it) {
      last = Lsn::Parse((*it)[1].str());
    }
    ASSERT_TRUE(last.has_value()) << out;
    EXPECT_GE(*last, *Lsn::Parse(last_commit)) << out;
  }

  // Nothing changes: no more summary lines.
  std::this_thread::sleep_for(seconds(2));
  auto count = [&](const std::string& text) {
    const std::string out = child->Output();
    size_t n = 0;
    for (size_t pos = 0; (pos = out.find(text, pos)) != std::string::npos; ++pos) ++n;
    return n;
  };
  const size_t summaries = count("info published ");
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(count("info published "), summaries) << child->Output();

  for (const ConsumedRecord& rec : consumer.Records()) {
    const std::string line = "delivered event " + rec.Header("id").value_or("?") + " to " +
                             rec.topic + " partition " + std::to_string(rec.partition) +
                             " offset " + std::to_string(rec.offset) + " key " +
                             rec.key.value_or("(null)");
    EXPECT_NE(child->Output().find(line), std::string::npos) << line << "\n" << child->Output();
  }
  StopCleanly(*child);
}

}  // namespace
}  // namespace pgoutbox::testing
