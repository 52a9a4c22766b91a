// End-to-end test that no secret ever leaves pgoutbox: runs the binary with
// known, unique secrets in every place one can be given (the password of a
// key/value conninfo, of a postgres:// URI, %-encoded or in a query
// parameter, PGPASSWORD, a --db-password-file named by a config file, -X
// sasl.password and -X ssl.key.password, also
// through PGOUTBOX_X), over runs that succeed and runs that fail (wrong
// password, unreachable database or brokers, invalid -X values, a malformed
// URI), with debug logging in text and JSON and librdkafka's debug=all, and
// scrapes /metrics, /healthz and /readyz while one streams. Every byte of
// output and every HTTP body is then searched for the secrets.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "integration/harness.h"
#include "integration/http_probe.h"
#include "integration/output_checks.h"
#include "integration/workload.h"

namespace pgoutbox::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kTopic[] = "outbox.event.order";  // default template, aggregate_type 'order'

// Every secret starts with this marker, so that a partial leak (a secret cut
// short, or differently encoded) is found too.
constexpr char kMarker[] = "s3cr3t";

// The secrets, one per place, so that a leak names its source.
const std::string kKvPassword = "s3cr3t-kv-pw-XYZ101";
const std::string kUriPassword = "s3cr3t-uri-pw-XYZ102";
const std::string kUriEncodedPassword = "s3cr3t-uri@pw/XYZ103";  // %-encoded in the URI
const std::string kEnvPassword = "s3cr3t-env-pw-XYZ104";
const std::string kSaslPassword = "s3cr3t-sasl-pw-XYZ105";
const std::string kKeyPassword = "s3cr3t-sslkey-pw-XYZ106";
const std::string kWrongPassword = "s3cr3t-wrong-pw-XYZ107";
const std::string kFilePassword = "s3cr3t-file-pw-XYZ108";  // --db-password-file

// Everything pgoutbox said or served, labelled by where it came from.
using Captured = std::vector<std::pair<std::string, std::string>>;

std::string PercentEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

// Harness::Args with --db and --brokers replaced, then `extra`.
std::vector<std::string> ArgsWithBrokers(const Harness& h, const std::string& db,
                                         const std::string& brokers,
                                         const std::vector<std::string>& extra = {}) {
  auto argv = h.ArgsWith("--db", db, extra);
  SetFlag(&argv, "--brokers", brokers);
  return argv;
}

// Runs pgoutbox to completion, records its output under `label` and returns
// its exit code (-1 on timeout).
int RunCaptured(const std::string& label, const std::vector<std::string>& argv,
                const std::vector<std::string>& env, Captured* captured,
                milliseconds timeout = seconds(60)) {
  auto child = ChildProcess::Start(argv, env);
  if (child == nullptr) return -1;
  auto code = child->Wait(timeout);
  captured->emplace_back(label, child->Output());
  if (!code) {
    ADD_FAILURE() << label << ": pgoutbox did not exit within " << timeout.count() << " ms";
    return -1;
  }
  return *code;
}

// GET `path`; the status and body, recorded under "GET <path>".
void Scrape(int port, const std::string& path, Captured* captured) {
  HttpReply reply = HttpGet(port, path);
  ASSERT_NE(reply.status, -1) << "GET " << path << " got no answer";
  captured->emplace_back("GET " + path, std::to_string(reply.status) + "\n" + reply.body);
}

// No secret, nor the marker they share, in anything captured; and something
// was captured from every source (an empty capture would pass vacuously).
void ExpectNoSecrets(const Captured& captured) {
  const std::vector<std::string> secrets = {
      kKvPassword,   kUriPassword,  kUriEncodedPassword, PercentEncode(kUriEncodedPassword),
      kEnvPassword,  kSaslPassword, kKeyPassword,        kWrongPassword,
      kFilePassword, kMarker};
  size_t total = 0;
  for (const auto& [label, text] : captured) {
    EXPECT_FALSE(text.empty()) << label << ": no output at all";
    total += text.size();
    for (const auto& secret : secrets) {
      size_t pos = text.find(secret);
      if (pos == std::string::npos) continue;
      size_t from = text.rfind('\n', pos);
      from = from == std::string::npos ? 0 : from + 1;
      size_t to = text.find('\n', pos);
      ADD_FAILURE() << label << ": \"" << secret << "\" leaked in:\n"
                    << text.substr(from, to == std::string::npos ? std::string::npos : to - from);
    }
  }
  std::cerr << "searched " << captured.size() << " outputs, " << total << " bytes\n";
}

// Expects `text` to contain `what` (proof that the output searched is the one
// that would show a leak).
void ExpectContains(const Captured& captured, const std::string& what) {
  ASSERT_FALSE(captured.empty());
  EXPECT_NE(captured.back().second.find(what), std::string::npos)
      << captured.back().first << ": \"" << what << "\" not found in:\n"
      << captured.back().second.substr(0, 4000);
}

// Runs that work: streaming with debug logs (JSON), librdkafka's debug=all,
// and the HTTP endpoints scraped mid-run; then the URI and PGPASSWORD forms.
TEST(Secrets, NeverInOutputOfWorkingRunsOrHttp) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});
  h.pg->CreatePasswordUser(kKvPassword);
  const std::string port = std::to_string(h.pg->port());
  const std::string kv_db = h.pg->ConnInfo(h.db, "pwuser") + " password=" + kKvPassword;
  Captured captured;
  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);

  {
    auto child = ChildProcess::Start(h.ArgsWith(
        "--db", kv_db,
        {"--log-level", "debug", "--log-format", "json", "-X", "debug=all", "-X",
         "sasl.password=" + kSaslPassword, "-X", "ssl.key.password=" + kKeyPassword,
         "--heartbeat-interval", "500ms", "--retention", "1h", "--cleanup-interval", "1s"}));
    ASSERT_NE(child, nullptr);
    const int http = HttpPort(*child);
    ASSERT_GT(http, 0) << child->Output();
    ASSERT_TRUE(WaitForSlotActive(h, true, seconds(20))) << child->Output();
    for (int tx = 0; tx < 5; ++tx) ASSERT_NE(InsertTransaction(conn.get(), tx, 10), "");
    ASSERT_TRUE(consumer.WaitForCount(50, seconds(20))) << consumer.Count();
    std::this_thread::sleep_for(milliseconds(1500));  // heartbeats, a cleanup pass
    for (const char* path : {"/metrics", "/healthz", "/readyz", "/nope"}) {
      Scrape(http, path, &captured);
    }
    ExpectContains(captured, "404");
    Scrape(http, "/metrics", &captured);
    ExpectContains(captured, "pgoutbox_events_published_total");
    StopCleanly(*child);
    captured.emplace_back("streaming run (kv password, debug, json, -X debug=all)",
                          child->Output());
    // The start-up line and librdkafka's configuration dump were searched.
    ExpectContains(captured, "password=***");
    ExpectContains(captured, "sasl.password = [redacted]");
    ExpectContains(captured, "ssl.key.password = [redacted]");
  }

  // A postgres:// URI, its password %-encoded, in text with debug logs.
  ASSERT_TRUE(h.Exec("ALTER ROLE pwuser PASSWORD '" + kUriEncodedPassword + "'"));
  for (int tx = 5; tx < 7; ++tx) ASSERT_NE(InsertTransaction(conn.get(), tx, 10), "");
  EXPECT_EQ(RunCaptured("URI run (%-encoded password, debug)",
                        h.ArgsWith("--db",
                                   "postgresql://pwuser:" + PercentEncode(kUriEncodedPassword) +
                                       "@127.0.0.1:" + port + "/" + h.db,
                                   {"--exit-when-caught-up", "--log-level", "debug"}),
                        {}, &captured),
            0)
      << captured.back().second;
  ExpectContains(captured, "pwuser:***@");

  // The password as a URI query parameter.
  ASSERT_TRUE(h.Exec("ALTER ROLE pwuser PASSWORD '" + kUriPassword + "'"));
  EXPECT_EQ(RunCaptured("URI run (?password=)",
                        h.ArgsWith("--db",
                                   "postgresql://pwuser@127.0.0.1:" + port + "/" + h.db +
                                       "?password=" + kUriPassword + "&application_name=x",
                                   {"--exit-when-caught-up", "--log-level", "debug"}),
                        {}, &captured),
            0)
      << captured.back().second;
  ExpectContains(captured, "password=***");

  // PGPASSWORD, and the -X secrets through PGOUTBOX_X.
  ASSERT_TRUE(h.Exec("ALTER ROLE pwuser PASSWORD '" + kEnvPassword + "'"));
  for (int tx = 7; tx < 9; ++tx) ASSERT_NE(InsertTransaction(conn.get(), tx, 10), "");
  EXPECT_EQ(RunCaptured("PGPASSWORD run (PGOUTBOX_X, debug)",
                        h.ArgsWith("--db", h.pg->ConnInfo(h.db, "pwuser"),
                                   {"--exit-when-caught-up", "--log-level", "debug"}),
                        {"PGPASSWORD=" + kEnvPassword, "PGOUTBOX_X=sasl.password=" + kSaslPassword +
                                                           ";ssl.key.password=" + kKeyPassword},
                        &captured),
            0)
      << captured.back().second;
  ExpectContains(captured, "-X sasl.password=***");

  // A config file names the database and the password file, which holds
  // the only copy of the password.
  ASSERT_TRUE(h.Exec("ALTER ROLE pwuser PASSWORD '" + kFilePassword + "'"));
  for (int tx = 9; tx < 11; ++tx) ASSERT_NE(InsertTransaction(conn.get(), tx, 10), "");
  {
    char dir_template[] = "/tmp/pgoutbox-secrets-XXXXXX";
    const std::string dir = mkdtemp(dir_template);
    const std::string password_file = dir + "/db.password";
    const std::string config_file = dir + "/pgoutbox.conf";
    std::ofstream(password_file) << kFilePassword << "\n";
    ASSERT_EQ(chmod(password_file.c_str(), 0640), 0);
    std::ofstream(config_file) << "db = \"" << h.pg->ConnInfo(h.db, "pwuser") << "\"\n"
                               << "db-password-file = \"" << password_file << "\"\n"
                               << "log-level = debug\n";
    std::vector<std::string> argv = h.ArgsWith("--db", "", {"--exit-when-caught-up"});
    for (size_t i = 0; i + 1 < argv.size(); ++i) {
      if (argv[i] == "--db") argv.erase(argv.begin() + i, argv.begin() + i + 2);
    }
    argv.insert(argv.end(), {"--config", config_file});
    EXPECT_EQ(RunCaptured("config file run (--db-password-file, debug)", argv, {}, &captured), 0)
        << captured.back().second;
    ExpectContains(captured, "password=***");
    std::filesystem::remove_all(dir);
  }

  // `pgoutbox status` with the password in the conninfo.
  EXPECT_EQ(RunCaptured("status",
                        {PgoutboxBinary(), "status", "--db",
                         h.pg->ConnInfo(h.db, "pwuser") + " password=" + kFilePassword, "--slot",
                         h.slot, "--log-level", "debug"},
                        {}, &captured),
            0)
      << captured.back().second;

  ASSERT_TRUE(WaitForQuiet(consumer, 110, seconds(20))) << consumer.Count();
  ExpectAllArrivedExactlyOnce(consumer.Records(), OutboxRows(h));
  ExpectNoSecrets(captured);
}

// Runs that fail, each with every kind of secret given.
TEST(Secrets, NeverInOutputOfFailingRuns) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  h.pg->CreatePasswordUser(kKvPassword);
  const std::string port = std::to_string(h.pg->port());
  const std::string kv_db = h.pg->ConnInfo(h.db, "pwuser") + " password=" + kKvPassword;
  const std::vector<std::string> x_secrets = {"-X", "sasl.password=" + kSaslPassword, "-X",
                                              "ssl.key.password=" + kKeyPassword};
  auto with_secrets = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), x_secrets.begin(), x_secrets.end());
    extra.insert(extra.end(), {"--log-level", "debug"});
    return extra;
  };
  const std::vector<std::string> env = {"PGPASSWORD=" + kEnvPassword};
  Captured captured;

  EXPECT_EQ(
      RunCaptured("wrong password (kv)",
                  h.ArgsWith("--db", h.pg->ConnInfo(h.db, "pwuser") + " password=" + kWrongPassword,
                             with_secrets({})),
                  env, &captured),
      1);
  ExpectContains(captured, "password authentication failed");

  EXPECT_EQ(RunCaptured("wrong password (URI, json)",
                        h.ArgsWith("--db",
                                   "postgresql://pwuser:" + kWrongPassword + "@127.0.0.1:" + port +
                                       "/" + h.db,
                                   with_secrets({"--log-format", "json"})),
                        env, &captured),
            1);
  ExpectContains(captured, "password authentication failed");

  EXPECT_EQ(RunCaptured("wrong PGPASSWORD",
                        h.ArgsWith("--db", h.pg->ConnInfo(h.db, "pwuser"), with_secrets({})),
                        {"PGPASSWORD=" + kWrongPassword}, &captured),
            1);
  ExpectContains(captured, "password authentication failed");

  EXPECT_EQ(RunCaptured("unreachable database",
                        h.ArgsWith("--db",
                                   "host=127.0.0.1 port=" + std::to_string(ClosedPort()) +
                                       " dbname=app user=pwuser password=" + kKvPassword,
                                   with_secrets({})),
                        env, &captured),
            1);
  ExpectContains(captured, "cannot connect");

  // libpq quotes the bad token of a malformed URI: here, the password.
  EXPECT_EQ(RunCaptured("malformed URI",
                        h.ArgsWith("--db",
                                   "postgresql://pwuser:" + kUriPassword + "%zz@127.0.0.1:" + port +
                                       "/" + h.db,
                                   with_secrets({})),
                        env, &captured),
            2);
  ExpectContains(captured, "percent-encoded");

  EXPECT_EQ(
      RunCaptured("unreachable brokers, -X debug=all",
                  ArgsWithBrokers(h, kv_db, "127.0.0.1:1",
                                  with_secrets({"--startup-timeout", "2s", "-X", "debug=all"})),
                  env, &captured),
      1);
  ExpectContains(captured, "cannot reach");
  ExpectContains(captured, "sasl.password = [redacted]");

  EXPECT_EQ(
      RunCaptured("invalid -X value", h.ArgsWith("--db", kv_db, with_secrets({"-X", "acks=bogus"})),
                  env, &captured),
      2);
  ExpectContains(captured, "acks");

  EXPECT_EQ(RunCaptured(
                "invalid -X security.protocol, json",
                h.ArgsWith("--db", kv_db,
                           with_secrets({"-X", "security.protocol=bogus", "--log-format", "json"})),
                env, &captured),
            2);
  ExpectContains(captured, "security.protocol");

  EXPECT_EQ(RunCaptured("missing CA file",
                        h.ArgsWith("--db", kv_db,
                                   with_secrets({"-X", "security.protocol=SSL", "-X",
                                                 "ssl.ca.location=/nonexistent/ca.pem"})),
                        env, &captured),
            2);
  ExpectContains(captured, "ssl.ca.location");

  EXPECT_EQ(RunCaptured("status, wrong password",
                        {PgoutboxBinary(), "status", "--db",
                         h.pg->ConnInfo(h.db, "pwuser") + " password=" + kWrongPassword},
                        env, &captured),
            1);
  ExpectContains(captured, "password authentication failed");

  ExpectNoSecrets(captured);
}

// -X properties librdkafka rejects, whose value is still a secret: one it
// does not support (sasl.jaas.config, a Java client setting) and a mistyped
// password key. Neither the start-up line nor the error message may repeat
// their values.
TEST(Secrets, NeverInRejectedKafkaProperties) {
  Harness h;
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  Captured captured;
  EXPECT_EQ(RunCaptured("-X sasl.jaas.config", h.Args({"-X", "sasl.jaas.config=" + kSaslPassword}),
                        {}, &captured),
            2);
  ExpectContains(captured, "sasl.jaas.config");
  EXPECT_EQ(RunCaptured("-X sasl.pasword (mistyped)",
                        h.Args({"-X", "sasl.pasword=" + kSaslPassword}), {}, &captured),
            2);
  ExpectContains(captured, "sasl.pasword");
  ExpectNoSecrets(captured);
}

}  // namespace
}  // namespace pgoutbox::testing
