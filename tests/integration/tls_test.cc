// End-to-end tests of the secure connections: pgoutbox streams from a
// PostgreSQL server that requires TLS with sslmode=verify-full (key/value
// conninfo and URI), and refuses, with one clear line and before creating
// anything, a server whose certificate it cannot verify (wrong CA, host name
// not in the certificate) or that does not speak TLS at all. Kafka's TLS and
// SASL settings pass through -X; the mock cluster has no TLS listener, so they
// are checked up to the point of connecting.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "integration/harness.h"
#include "integration/output_checks.h"
#include "integration/workload.h"

namespace pgoutbox::testing {
namespace {

using std::chrono::seconds;

// How long one pgoutbox run may take.
constexpr auto kRunTimeout = seconds(30);

constexpr char kTopic[] = "outbox.event.order";  // default template, aggregate_type 'order'

PgServerOptions TlsOptions() {
  PgServerOptions options;
  options.tls = true;
  return options;
}

// Key/value conninfo of the harness database with sslmode=verify-full;
// `host` is the host part ("host=127.0.0.1", or a name plus hostaddr).
std::string VerifyFullConnInfo(const Harness& h, const std::string& ca,
                               const std::string& host = "host=127.0.0.1") {
  return host + " port=" + std::to_string(h.pg->port()) + " dbname=" + h.db +
         " user=postgres sslmode=verify-full sslrootcert=" + ca;
}

// The TLS state of the walsender that holds the harness slot: {ssl, version},
// empty if no process holds it.
std::vector<std::string> SlotHolderTls(const Harness& h) {
  auto rows = h.Query(
      "SELECT s.ssl, coalesce(s.version, '') FROM pg_replication_slots sl "
      "JOIN pg_stat_replication r ON r.pid = sl.active_pid "
      "JOIN pg_stat_ssl s ON s.pid = r.pid WHERE sl.slot_name = '" +
      h.slot + "'");
  return rows.empty() ? std::vector<std::string>{} : rows[0];
}

TEST(Tls, StreamsThroughVerifyFull) {
  Harness h(3, TlsOptions());
  ASSERT_TRUE(h.ok());
  ASSERT_FALSE(h.pg->tls_ca_file().empty());
  h.CreateOutboxTable();
  h.kafka->CreateTopic(kTopic, 3);
  TopicConsumer consumer(h.kafka->bootstraps(), {kTopic});

  // The server's pg_hba.conf has only hostssl lines: connecting at all over
  // TCP proves TLS, and pg_stat_ssl says so for the walsender too.
  auto child = StartStreaming(h, h.ArgsWith("--db", VerifyFullConnInfo(h, h.pg->tls_ca_file())));
  ASSERT_NE(child, nullptr);
  auto tls = SlotHolderTls(h);
  ASSERT_EQ(tls.size(), 2u) << "no walsender holds the slot";
  EXPECT_EQ(tls[0], "t") << "the replication connection is not TLS";
  EXPECT_EQ(tls[1].rfind("TLSv1.", 0), 0u) << tls[1];
  std::cerr << "replication connection: ssl=" << tls[0] << " version=" << tls[1] << "\n";

  PgConnPtr conn = Connect(h);
  ASSERT_NE(conn, nullptr);
  for (int tx = 0; tx < 5; ++tx) ASSERT_NE(InsertTransaction(conn.get(), tx, 20), "");
  ASSERT_TRUE(consumer.WaitForCount(100, seconds(20))) << consumer.Count() << "\n"
                                                       << child->Output();
  StopCleanly(*child);

  // The URI form, by host name (the certificate's DNS:localhost), to the end.
  for (int tx = 5; tx < 8; ++tx) ASSERT_NE(InsertTransaction(conn.get(), tx, 20), "");
  const std::string uri = "postgresql://postgres@localhost:" + std::to_string(h.pg->port()) + "/" +
                          h.db + "?sslmode=verify-full&sslrootcert=" + h.pg->tls_ca_file();
  std::string output;
  EXPECT_EQ(RunToExit(h.ArgsWith("--db", uri, {"--exit-when-caught-up"}), &output, kRunTimeout), 0)
      << output;
  ASSERT_TRUE(WaitForQuiet(consumer, 160, seconds(20))) << consumer.Count();
  ExpectAllArrivedExactlyOnce(consumer.Records(), OutboxRows(h));
}

TEST(Tls, WrongCaFailsWithOneClearLine) {
  Harness h(3, TlsOptions());
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  std::string output;
  EXPECT_EQ(RunToExit(h.ArgsWith("--db", VerifyFullConnInfo(h, h.pg->tls_other_ca_file())), &output,
                      kRunTimeout),
            1)
      << output;
  ExpectOneClearLine(output, {"cannot connect to the database", "certificate verify failed",
                              "sslrootcert " + h.pg->tls_other_ca_file()});
  ExpectNothingCreated(h);

  // verify-ca checks the CA alone, and fails the same way.
  std::string db = VerifyFullConnInfo(h, h.pg->tls_other_ca_file());
  db.replace(db.find("verify-full"), 11, "verify-ca");
  EXPECT_EQ(RunToExit(h.ArgsWith("--db", db), &output, kRunTimeout), 1) << output;
  ExpectOneClearLine(output, {"certificate verify failed"});
  ExpectNothingCreated(h);
}

TEST(Tls, WrongHostNameFailsWithOneClearLine) {
  Harness h(3, TlsOptions());
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  // The right server (hostaddr), checked against a name its certificate
  // does not carry.
  std::string output;
  EXPECT_EQ(
      RunToExit(h.ArgsWith("--db", VerifyFullConnInfo(h, h.pg->tls_ca_file(),
                                                      "host=wrong.example hostaddr=127.0.0.1")),
                &output, kRunTimeout),
      1)
      << output;
  ExpectOneClearLine(
      output, {"cannot connect to the database", "does not match host name", "\"wrong.example\""});
  ExpectNothingCreated(h);
}

TEST(Tls, MissingRootCertificateFailsWithOneClearLine) {
  Harness h(3, TlsOptions());
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  // libpq's message has two lines here; pgoutbox prints one.
  std::string output;
  EXPECT_EQ(RunToExit(h.ArgsWith("--db", VerifyFullConnInfo(h, "/nonexistent/root.crt")), &output,
                      kRunTimeout),
            1)
      << output;
  ExpectOneClearLine(output,
                     {"root certificate file \"/nonexistent/root.crt\" does not exist", "sslmode"});
  ExpectNothingCreated(h);
}

TEST(Tls, RequireAgainstServerWithoutTlsFailsWithOneClearLine) {
  Harness h;  // no TLS
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  std::string output;
  EXPECT_EQ(RunToExit(h.ArgsWith("--db", h.pg->ConnInfo(h.db) + " sslmode=require"), &output,
                      kRunTimeout),
            1)
      << output;
  ExpectOneClearLine(output, {"cannot connect to the database", "server does not support SSL"});
  ExpectNothingCreated(h);
}

// -X security.protocol=SASL_SSL and friends are accepted: pgoutbox gets as
// far as connecting to the brokers, which fails only because the mock
// cluster speaks neither TLS nor SASL (exit 1, not a usage error).
TEST(KafkaSecurity, SaslSslSettingsPassThrough) {
  Harness h(1, TlsOptions());
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  std::string output;
  EXPECT_EQ(RunToExit(h.Args({"--startup-timeout", "2s", "-X", "security.protocol=SASL_SSL", "-X",
                              "sasl.mechanisms=PLAIN", "-X", "sasl.username=pgoutbox", "-X",
                              "sasl.password=Sasl-Pw-5150", "-X",
                              "ssl.ca.location=" + h.pg->tls_ca_file(), "-X",
                              "ssl.endpoint.identification.algorithm=https"}),
                      &output, kRunTimeout),
            1)
      << output;
  ExpectOneClearLine(output, {"cannot reach the Kafka brokers"});
  EXPECT_NE(output.find("-X security.protocol=SASL_SSL"), std::string::npos) << output;
  EXPECT_EQ(output.find("Sasl-Pw-5150"), std::string::npos) << "password printed:\n" << output;
  ExpectNothingCreated(h);
}

TEST(KafkaSecurity, BadSecuritySettingsAreUsageErrors) {
  Harness h(1);
  ASSERT_TRUE(h.ok());
  h.CreateOutboxTable();
  std::string output;

  EXPECT_EQ(RunToExit(h.Args({"-X", "security.protocol=bogus"}), &output, kRunTimeout), 2)
      << output;
  ExpectOneClearLine(output, {"security.protocol", "bogus"});
  ExpectNothingCreated(h);

  // librdkafka reads the CA file when the producer is made, after the
  // database checks but before anything is created.
  EXPECT_EQ(RunToExit(h.Args({"-X", "security.protocol=SSL", "-X",
                              "ssl.ca.location=/nonexistent/ca.pem"}),
                      &output, kRunTimeout),
            2)
      << output;
  ExpectOneClearLine(output, {"ssl.ca.location"});
  ExpectNothingCreated(h);

  EXPECT_EQ(
      RunToExit(h.Args({"-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=BOGUS"}),
                &output, kRunTimeout),
      2)
      << output;
  ExpectOneClearLine(output, {"BOGUS"});
  ExpectNothingCreated(h);
}

}  // namespace
}  // namespace pgoutbox::testing
