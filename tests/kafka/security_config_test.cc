// Kafka's TLS and SASL settings, given as -X properties, at the configuration
// level: the mock cluster has no TLS or SASL listener, so these tests stop
// short of connecting. They check that the librdkafka pgoutbox links has TLS
// and SASL built in, that a SASL_SSL configuration with a real CA file makes a
// producer, and that bad values are InvalidArgument (exit 2) naming the
// property, without repeating a password.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "kafka/publisher.h"

namespace pgoutbox::kafka {
namespace {

constexpr char kSaslPassword[] = "Sasl-Unit-Pw-8841";
constexpr char kKeyPassword[] = "Key-Unit-Pw-8842";

class NullHandler : public DeliveryHandler {
 public:
  void OnDelivered(uint64_t, std::string_view, std::chrono::microseconds) override {}
  void OnFailed(uint64_t, std::string_view, const Status&) override {}
};

// A throwaway CA certificate made with the openssl command in a temp dir
// removed at the end; path() is "" (and the test has failed) if it could
// not be made.
class TempCa {
 public:
  TempCa() {
    char dir[] = "/tmp/pgoutbox-kafka-ca-XXXXXX";
    if (mkdtemp(dir) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
      return;
    }
    dir_ = dir;
    const std::string cmd =
        "openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout " +
        dir_ + "/ca.key -out " + dir_ +
        "/ca.crt -days 2 -subj '/CN=pgoutbox kafka test CA' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      ADD_FAILURE() << "openssl failed: " << cmd;
      return;
    }
    path_ = dir_ + "/ca.crt";
  }
  ~TempCa() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

PublisherOptions SaslSsl(const std::string& ca_file) {
  return {"127.0.0.1:1",
          {{"security.protocol", "SASL_SSL"},
           {"sasl.mechanisms", "PLAIN"},
           {"sasl.username", "pgoutbox"},
           {"sasl.password", kSaslPassword},
           {"ssl.ca.location", ca_file},
           {"ssl.key.password", kKeyPassword},
           {"ssl.endpoint.identification.algorithm", "https"}}};
}

void ExpectNoSecret(const Status& st) {
  EXPECT_EQ(st.message().find(kSaslPassword), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find(kKeyPassword), std::string::npos) << st.message();
}

TEST(KafkaSecurityConfigTest, LibrdkafkaHasTlsAndSasl) {
  std::unique_ptr<rd_kafka_conf_t, void (*)(rd_kafka_conf_t*)> conf(rd_kafka_conf_new(),
                                                                    rd_kafka_conf_destroy);
  char features[512];
  size_t size = sizeof features;
  ASSERT_EQ(rd_kafka_conf_get(conf.get(), "builtin.features", features, &size), RD_KAFKA_CONF_OK);
  const std::string list = std::string(",") + features + ",";
  for (const char* feature : {"ssl", "sasl", "sasl_plain", "sasl_scram"}) {
    EXPECT_NE(list.find(std::string(",") + feature + ","), std::string::npos)
        << feature << " missing from builtin.features " << features;
  }
}

TEST(KafkaSecurityConfigTest, SaslSslMakesAProducer) {
  TempCa ca;
  ASSERT_FALSE(ca.path().empty());
  EXPECT_TRUE(ValidateConfig(SaslSsl(ca.path())).ok());
  NullHandler handler;
  auto p = Publisher::Create(SaslSsl(ca.path()), &handler);
  EXPECT_TRUE(p.ok()) << p.status().ToString();

  PublisherOptions scram = SaslSsl(ca.path());
  scram.config[1].second = "SCRAM-SHA-512";
  auto q = Publisher::Create(scram, &handler);
  EXPECT_TRUE(q.ok()) << q.status().ToString();
}

TEST(KafkaSecurityConfigTest, BadSecurityProtocolIsInvalidArgument) {
  PublisherOptions options = SaslSsl("/nonexistent/ca.pem");
  options.config[0].second = "bogus";
  Status st = ValidateConfig(options);
  ASSERT_EQ(st.code(), Status::Code::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("security.protocol"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("bogus"), std::string::npos) << st.message();
  ExpectNoSecret(st);
}

TEST(KafkaSecurityConfigTest, MissingCaFileIsInvalidArgument) {
  NullHandler handler;
  auto p = Publisher::Create(SaslSsl("/nonexistent/ca.pem"), &handler);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(p.status().message().find("ssl.ca.location"), std::string::npos)
      << p.status().message();
  ExpectNoSecret(p.status());
}

TEST(KafkaSecurityConfigTest, UnsupportedSaslMechanismIsInvalidArgument) {
  TempCa ca;
  ASSERT_FALSE(ca.path().empty());
  PublisherOptions options = SaslSsl(ca.path());
  options.config[1].second = "BOGUS";
  NullHandler handler;
  auto p = Publisher::Create(options, &handler);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(p.status().message().find("BOGUS"), std::string::npos) << p.status().message();
  ExpectNoSecret(p.status());
}

}  // namespace
}  // namespace pgoutbox::kafka
